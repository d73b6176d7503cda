"""A researcher's own catalogue and panel, with their own area codes and target year: nothing
may silently fall back to the Conghua plan (its area, its 2030)."""
from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import fzanalysis
from fzanalysis import plots
from fzanalysis.exceptions import PanelError
from fzanalysis.trend import project_paths

matplotlib.use("Agg")

WHOLE, TOWNS = "450102", ["450102001", "450102002"]


def _catalog(target_year: int | list[int] = 2035) -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["decision.cadres_women", "soc.pension"],
        "name_zh": ["村委会女性成员比例", "养老保险参保率"],
        "unit": ["percent", "percent"], "comparator": ["~>=", ">="], "target": [30.0, 95.0],
        "tolerance": [2.0, np.nan], "subject_sex": ["F", "T"], "disaggregation": ["area;sex", "area;sex"],
        "target_year": target_year if isinstance(target_year, list) else [target_year] * 2,
    })


def _panel() -> pd.DataFrame:
    rows = []
    for k, area in enumerate([WHOLE, *TOWNS]):
        for year in (2012, 2014, 2015, 2017, 2018, 2019, 2021, 2022, 2023, 2024):
            t = year - 2012
            for sex, shift in (("F", -1.0), ("M", 1.0), ("T", 0.0)):
                rows.append(("decision.cadres_women", year, area, sex, 20 + 0.8 * t + shift + k))
                rows.append(("soc.pension", year, area, sex, 80 + 1.0 * t + shift - k))
    return pd.DataFrame(rows, columns=["indicator", "year", "area", "sex", "value"])


def test_evaluate_judges_the_researchers_own_area() -> None:
    ev = fzanalysis.evaluate(_panel(), _catalog(), year=2024, area=WHOLE)
    t = ev.targets.set_index("indicator")
    assert set(t["area"]) == {WHOLE}
    assert t.loc["decision.cadres_women", "sex"] == "F"
    assert t["value"].notna().all() and (t["status"] != "no_data").all()
    assert set(ev.towns()["area"]) == set(TOWNS)
    assert set(ev.sexes()["area"]) == {WHOLE}
    assert ev.attainment().set_index("domain").loc["all", "n_judged"] == 2


def test_evaluate_without_the_plans_area_says_which_areas_it_has() -> None:
    with pytest.raises(PanelError, match=r"440117.*450102.*area="):
        fzanalysis.evaluate(_panel(), _catalog(), year=2024)


def test_assess_and_attainment_take_the_area() -> None:
    cat = pd.concat([_catalog(), pd.DataFrame({"id": ["x.absent"], "unit": ["percent"],
                                                "comparator": [">="], "target": [50.0]})])
    a = fzanalysis.assess(_panel(), cat, area=WHOLE)
    assert a.loc[a["indicator"] == "x.absent", "area"].tolist() == [WHOLE]
    att = fzanalysis.attainment(a, area=WHOLE).set_index("domain")
    assert att.loc["all", "n_indicators"] == 3


def test_the_catalogues_target_year_is_the_default() -> None:
    proj = fzanalysis.project(_panel(), _catalog(2035))
    assert (proj["target_year"] == 2035).all()
    paths = project_paths(_panel(), _catalog(2035))
    assert paths["year"].max() == 2035
    ev = fzanalysis.evaluate(_panel(), _catalog(2035), area=WHOLE)
    assert (ev.targets["target_year"] == 2035).all() and ev.target_year == 2035
    # an explicit year still wins
    assert (fzanalysis.project(_panel(), _catalog(2035), target_year=2030)["target_year"] == 2030).all()


def test_mixed_target_years_are_projected_each_to_its_own() -> None:
    cat = _catalog([2030, 2035])
    proj = fzanalysis.project(_panel(), cat)
    by = proj.groupby("indicator")["target_year"].unique()
    assert list(by["decision.cadres_women"]) == [2030] and list(by["soc.pension"]) == [2035]
    alone = fzanalysis.project(_panel()[lambda d: d["indicator"] == "soc.pension"], cat.iloc[[1]])
    mine = proj[proj["indicator"] == "soc.pension"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True), check_like=False)
    assert list(proj[["indicator", "area", "sex"]].itertuples(index=False)) == sorted(
        proj[["indicator", "area", "sex"]].itertuples(index=False))
    ev = fzanalysis.evaluate(_panel(), cat, area=WHOLE)
    assert ev.targets.set_index("indicator")["target_year"].to_dict() == {
        "decision.cadres_women": 2030, "soc.pension": 2035}
    assert ev.target_year is None


def test_charts_draw_areas_outside_the_gazetteer() -> None:
    a = fzanalysis.assess(_panel(), _catalog(), area=WHOLE)
    rows = a[a["indicator"] == "soc.pension"]
    ax = plots.gender_gap_dumbbell(rows)
    assert [t.get_text() for t in ax.get_yticklabels()] == [WHOLE, *TOWNS]
    ax = plots.status_heatmap(a, catalog=_catalog(), area=WHOLE)
    assert [t.get_text() for t in ax.get_xticklabels()] == [WHOLE, *TOWNS]
    fig = plots.domain_dashboard(a, "decision", area=WHOLE)
    assert fig.axes


def test_a_percent_given_as_a_fraction_is_named() -> None:
    from fzanalysis.exceptions import FzWarning

    p = _panel()
    every = p.assign(value=np.where(p["indicator"] == "soc.pension", p["value"] / 100, p["value"]))
    with pytest.warns(FzWarning, match=r"(?s)'soc.pension'.*looks like a fraction.*expected 8\d") as rec:
        fzanalysis.assess(every, _catalog(), area=WHOLE)
    # attributed to the caller's line, whichever entry point (it pointed into the library)
    assert {w.filename for w in rec if w.category is FzWarning} == {__file__}
    with pytest.warns(FzWarning) as rec:
        fzanalysis.evaluate(every, _catalog(), area=WHOLE)
    assert {w.filename for w in rec if w.category is FzWarning} == {__file__}
    one = p.copy()
    one.loc[(one["indicator"] == "soc.pension") & (one["year"] == 2024) & (one["area"] == WHOLE)
            & (one["sex"] == "T"), "value"] = 0.92
    with pytest.warns(FzWarning, match=r"(?s)1 percent value.*year 2024, area 450102, sex T: value 0.92 looks like"
                      r".*the other figures of the same year are about \d") as rec:
        fzanalysis.project(one, _catalog())
    # it says what it compared with: the year's other figures, not "or the target"
    assert "or the target" not in str(rec[0].message)
    # small percentages of a small target (< 2 %) are not fractions
    low = pd.DataFrame({"indicator": "health.transmission", "year": [2022, 2023, 2024], "value": [0.9, 0.7, 0.5]})
    cat = pd.DataFrame({"id": ["health.transmission"], "unit": ["percent"], "comparator": ["<"], "target": [2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (fzanalysis.assess(low, cat)["status"] == "met").all()


def test_a_fraction_in_a_lone_series_is_judged_by_its_own_earlier_years() -> None:
    """Probe finding 1: one area, one sex (a women-only series), 50 ... 66.8 then 0.682 in 2023,
    target 70: no peer and not every figure small, so only the series' history can tell, and
    as_panel did not pass it to the rule (the judged figure became 0.682, 差距较大)."""
    from fzanalysis.exceptions import FzWarning

    cat = pd.DataFrame({"id": ["mch.screening"], "unit": ["percent"], "comparator": [">="], "target": [70.0],
                        "subject_sex": ["F"], "disaggregation": ["sex"], "target_year": [2035]})
    vals = [50.0, 51.4, 52.8, 54.2, 55.6, 57.0, 58.4, 59.8, 61.2, 62.6, 64.0, 65.4, 66.8, 0.682]
    df = pd.DataFrame({"indicator": "mch.screening", "year": range(2010, 2024), "area": "450100", "sex": "F",
                       "value": vals})
    with pytest.warns(FzWarning, match=r"1 percent value.*\n.*year 2023, area 450100, sex F: value 0.682 looks "
                      r"like a fraction.*its other years are about 58.4; expected 68.2"):
        fzanalysis.as_panel(df, cat)
    # each series by its own earlier years (not another area's, not later ones), with no peer in
    # the year: area A's 0.6 in 2016 against 50-55, area B's 0.9 in 2017 against 80-86
    a = pd.DataFrame({"area": "A", "year": range(2010, 2017), "value": [50, 51, 52, 53, 54, 55, 0.6]})
    b = pd.DataFrame({"area": "B", "year": [2010, 2011, 2012, 2013, 2014, 2015, 2017],
                      "value": [80, 82, 84, 86, 85, 83, 0.9]})
    two = pd.concat([a, b]).assign(indicator="mch.screening", sex="F")
    with pytest.warns(FzWarning) as rec:
        fzanalysis.as_panel(two, cat)
    text = str(next(w.message for w in rec if w.category is FzWarning))
    assert "2 percent value(s)" in text
    assert "year 2016, area A, sex F: value 0.6 looks like a fraction" in text and "about 52.5;" in text
    assert "year 2017, area B, sex F: value 0.9 looks like a fraction" in text and "about 83.5;" in text
    # a series whose earlier figures are all small is a small share, not a fraction: no word
    low = df.assign(value=[0.5 + 0.02 * k for k in range(14)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fzanalysis.as_panel(low.assign(indicator="x"), pd.DataFrame(
            {"id": ["x"], "unit": ["percent"], "comparator": ["<"], "target": [2.0]}))


def test_assess_checks_the_area_it_is_given() -> None:
    """Probe findings 6 and 7: assess accepted a misspelt area= (and, without area=, a panel of
    its own codes) and wrote the catalogue's missing indicator under a code the panel lacks;
    a panel with no area column had its rows put under 440117 even with area= given."""
    cat = pd.DataFrame({"id": ["x", "law.shelters"], "unit": ["percent", "count"], "comparator": [">=", ">="],
                        "target": [70.0, 1.0]})
    df = pd.DataFrame({"indicator": "x", "year": [2021, 2022, 2023], "area": "450100", "value": [60.0, 62.0, 64.0]})
    with pytest.raises(PanelError, match=r"no figures for '45010' \(the area= given.*the panel's areas are "
                                         r"'450100': pass area="):
        fzanalysis.assess(df, cat, area="45010")
    with pytest.raises(PanelError, match=r"no figures for '440117' \(the plan's area.*'450100'"):
        fzanalysis.assess(df, cat)
    # the same words as evaluate's refusal (one rule)
    with pytest.raises(PanelError) as ev_err:
        fzanalysis.evaluate(df, cat, area="45010")
    with pytest.raises(PanelError) as as_err:
        fzanalysis.assess(df, cat, area="45010")
    assert str(as_err.value) == str(ev_err.value)
    a = fzanalysis.assess(df, cat, area="450100")
    assert set(a["area"]) == {"450100"} and a.set_index("indicator").at["law.shelters", "status"] == "no_data"
    # no area column: the rows are the area named
    bare = df.drop(columns="area")
    a = fzanalysis.assess(bare, cat, area="450100")
    assert set(a["area"]) == {"450100"}
    assert a.set_index("indicator").at["x", "value"] == 64.0
    assert set(fzanalysis.assess(bare, cat)["area"]) == {fzanalysis.codes.district()}


def test_wrong_arguments_and_counts_are_named_plainly() -> None:
    with pytest.raises(fzanalysis.FzError, match="expected a pandas DataFrame.*got str.*load_catalog"):
        fzanalysis.assess(_panel(), "my_catalog.csv")
    with pytest.raises(fzanalysis.FzError, match="expected a Panel, a DataFrame or a file path.*got list"):
        fzanalysis.assess(_panel().to_dict("records"), _catalog())
    p = _panel().assign(numerator=80.0, denominator=100.0)
    p.loc[0, "value"] = 50.0
    # refused by the panel's own rule (schema.value_disagrees), naming the row and what the counts give
    with pytest.raises(PanelError, match=r"indicator 'decision.cadres_women', year 2012, area 450102, sex F: "
                                         r"value 50 disagrees with numerator/denominator 80/100 = 80"):
        fzanalysis.assess(p, _catalog(), area=WHOLE)


def test_the_fan_chart_marks_the_year_the_path_runs_to() -> None:
    paths = project_paths(_panel(), _catalog(2035))
    one = paths[(paths["indicator"] == "soc.pension") & (paths["area"] == WHOLE) & (paths["sex"] == "T")]
    ax = plots.fan_chart(None, one, target=95.0)
    star = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert [float(x) for x in star[0].get_xdata()] == [2035.0]
    assert any("2035" in t.get_text() for t in ax.get_legend().get_texts())


def test_attainment_lists_domains_in_the_plans_order_then_unassigned() -> None:
    cat = pd.concat([_catalog(), pd.DataFrame({"id": ["health.x", "mine.y"], "unit": ["percent"] * 2,
                                                "comparator": [">="] * 2, "target": [50.0] * 2})])
    a = fzanalysis.assess(_panel(), cat, area=WHOLE)
    doms = fzanalysis.attainment(a, area=WHOLE)["domain"].tolist()
    assert doms == ["health", "decision", "unassigned", "all"]


def test_a_map_of_codes_outside_the_gazetteer_says_why() -> None:
    from fzanalysis import geo
    from fzanalysis.exceptions import GazetteerError

    a = fzanalysis.assess(_panel(), _catalog(), area=WHOLE)
    rows = a[(a["indicator"] == "soc.pension") & (a["sex"] == "T")]
    with pytest.raises(GazetteerError, match="'450102' is not a town of the gazetteer.*no shape to map"):
        geo.join(rows)


def test_as_panel_takes_the_catalogue_positionally_and_refuses_what_assess_refuses():
    """as_panel(panel, catalog) raised TypeError (catalog was keyword-only, unlike every other entry
    point), and as_panel(panel, catalog=raw) accepted a catalogue that assess then refused."""
    import fzanalysis
    from fzanalysis.exceptions import CatalogError

    panel = pd.DataFrame({"indicator": "w.x", "year": [2023, 2024], "area": "450102", "sex": "F",
                          "value": [40.0, 41.0]})
    good = pd.DataFrame([{"id": "w.x", "unit": "percent", "comparator": ">=", "target": 45.0,
                          "subject_sex": "F", "disaggregation": "sex"}])
    assert len(fzanalysis.as_panel(panel, good).frame) == 2
    bad = good.assign(disaggregation="")
    with pytest.raises(CatalogError) as from_assess:
        fzanalysis.assess(panel, bad, area="450102")
    with pytest.raises(CatalogError) as from_as_panel:
        fzanalysis.as_panel(panel, bad)
    assert str(from_as_panel.value) == str(from_assess.value)


def test_a_refused_key_cell_raises_one_error_not_a_follow_on_duplicate():
    """Years written 2020年 are refused once each; they were also read as year 0 and reported as a
    duplicated key. A true duplicate names rows and lines as every other message does."""
    cat = pd.DataFrame({"id": ["x"], "unit": ["percent"], "comparator": [">="], "target": [5.0]})
    bad = pd.DataFrame({"indicator": "x", "year": [f"{y}年" for y in range(2020, 2025)], "value": range(5)})
    with pytest.raises(PanelError) as err:
        fzanalysis.assess(bad, cat)
    assert len(err.value.problems) == 5 and "occurs" not in str(err.value)
    twice = pd.DataFrame({"indicator": "x", "year": [2020, 2020], "value": [1.0, 2.0], "sex": ["T", "T"]})
    with pytest.raises(PanelError, match=r"rows 0, 1 \(lines 2, 3\): the key .* occurs 2 times"):
        fzanalysis.assess(twice, cat)


def test_a_refused_comparator_raises_one_error_not_a_follow_on_target_error():
    """Comparator '≥' is refused; the target rule (numeric target for >=) used to add a second,
    misleading error about the target 98."""
    from fzanalysis.exceptions import CatalogError

    cat = pd.DataFrame({"id": ["x"], "unit": ["percent"], "comparator": ["≥"], "target": [98.0]})
    with pytest.raises(CatalogError) as err:
        fzanalysis.assess(
            pd.DataFrame({"indicator": "x", "year": [2023, 2024], "value": [1.0, 2.0]}), cat)
    text = str(err.value)
    assert "1 problem(s)" in text and "column comparator" in text and "column target" not in text


def test_evaluate_follows_the_one_area_rule_of_assess() -> None:
    """evaluate kept its own copy of the area check and called as_panel without area=, so a panel
    without an area column judged with area="450102" was refused with a code the researcher never
    wrote (440117).  evaluate and assess follow schema.whole_area: the panel is that area's, and a
    misspelt area is refused in the same words by both."""
    from fzanalysis.exceptions import PanelError

    cat = pd.DataFrame({"id": ["soc.cover"], "unit": ["percent"], "comparator": [">="], "target": [95.0]})
    frame = pd.DataFrame({"indicator": "soc.cover", "year": range(2018, 2025), "value": np.linspace(88, 93, 7)})
    ev = fzanalysis.evaluate(frame, cat, area="450102")
    assert ev.targets["area"].tolist() == ["450102"]
    with_area = frame.assign(area="450102")
    messages = []
    for fn in (fzanalysis.evaluate, fzanalysis.assess):
        with pytest.raises(PanelError) as exc:
            fn(with_area, cat, area="45012")
        messages.append(str(exc.value).split(": ", 1)[1])
    assert messages[0] == messages[1] and "no figures for '45012'" in messages[0]


def test_a_change_on_the_previous_year_is_only_of_the_previous_year() -> None:
    """A series published by term (women among NPC deputies: 21.3, 23.4, 24.9, 26.5 in 2008, 2013,
    2018, 2023) had its 2018→2023 change in change_1y (比上年变化 in status.xlsx).  That column is
    empty unless the previous figure is of the year before; previous_year/previous_value keep the
    latest earlier figure."""
    cat = pd.DataFrame({"id": ["dec.npc"], "unit": ["percent"], "comparator": ["increase"], "target": [np.nan]})
    frame = pd.DataFrame({"indicator": "dec.npc", "year": [2008, 2013, 2018, 2023], "area": "100000",
                          "value": [21.3, 23.4, 24.9, 26.5]})
    row = fzanalysis.evaluate(frame, cat, area="100000").targets.iloc[0]
    assert int(row["previous_year"]) == 2018 and row["previous_value"] == 24.9
    assert np.isnan(row["change_1y"])
    yearly = pd.DataFrame({"indicator": "dec.npc", "year": [2020, 2021, 2022, 2023], "area": "100000",
                           "value": [21.3, 23.4, 24.9, 26.5]})
    assert fzanalysis.evaluate(yearly, cat, area="100000").targets.iloc[0]["change_1y"] == pytest.approx(1.6)


def test_a_value_its_counts_contradict_is_refused_by_the_panel_itself() -> None:
    """as_panel accepted a maternal mortality of 1,000,000/10万 whose counts said 25 deaths in
    30,840 births (81/10万); only rate_table refused it later, with its own tolerance, and the
    submission checks had a third.  value_disagrees is the one rule: as_panel with a catalogue
    refuses such a row, naming it and the figure the counts give."""
    from fzanalysis.exceptions import PanelError
    from fzanalysis.panel.schema import value_disagrees

    cat = pd.DataFrame({"id": ["health.mmr"], "unit": ["per_100k_live_births"], "comparator": ["<"], "target": [7.5]})
    frame = pd.DataFrame({"indicator": "health.mmr", "year": [2023], "area": "450100", "value": [1e6],
                          "numerator": [25.0], "denominator": [30840.0]})
    with pytest.raises(PanelError, match=r"value 1e\+06 disagrees with numerator/denominator 25/30840 = 81.06"):
        fzanalysis.as_panel(frame, cat)
    fzanalysis.as_panel(frame.assign(value=81.1), cat)  # rounded to one decimal: agrees
    assert value_disagrees([81.1, 82.0], [25, 25], [30840, 30840], [1e5, 1e5]).tolist() == [False, True]
