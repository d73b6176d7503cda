"""One owner per concept: every entry point accepts and refuses the same panels and catalogues,
with the same message (library calls here; the command line in tests/test_cli_data.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fzanalysis
from fzanalysis import catalog, codes, comparators, config, labels
from fzanalysis.exceptions import CatalogError, PanelError

CAT = pd.DataFrame({"id": ["health.cover", "health.rate"], "unit": ["percent", "per_100k"],
                    "comparator": [">=", "<"], "target": [96.0, 7.5]})


def _good() -> pd.DataFrame:
    years = list(range(2015, 2025))
    return pd.DataFrame({"indicator": ["health.cover"] * 10 + ["health.rate"] * 10, "year": years * 2,
                         "value": list(np.linspace(90, 95, 10)) + list(np.linspace(12, 8, 10))})


ENTRY_POINTS = {
    "assess": lambda p, c: fzanalysis.assess(p, c),
    "project": lambda p, c: fzanalysis.project(p, c),
    "evaluate": lambda p, c: fzanalysis.evaluate(p, c),
    "backtest": lambda p, c: fzanalysis.backtest(p, c),
}

BAD_PANELS = {
    "missing value": (lambda p: p.assign(value=p["value"].where(p.index != 3)),
                      r"row 3 \(line 5\), column value: expected a number, got an empty cell"),
    "text value": (lambda p: p.astype({"value": object}).assign(value=lambda d: d["value"].where(d.index != 2, "n/a")),
                   r"row 2 \(line 4\), column value: expected a number, got 'n/a'"),
    "half year": (lambda p: p.astype({"year": float}).assign(year=lambda d: d["year"].where(d.index != 4, 2019.5)),
                  r"row 4 \(line 6\), column year: expected a whole year"),
    "duplicate": (lambda p: pd.concat([p, p.iloc[[0]]], ignore_index=True),
                  r"occurs 2 times; expected one row per indicator, year, area and sex"),
    "unknown indicator": (lambda p: p.assign(indicator=p["indicator"].where(p.index != 0, "health.nope")),
                          r"indicator 'health.nope'.*expected an id of the catalogue"),
    "out of bounds": (lambda p: p.assign(value=p["value"].where(p.index != 1, 120.0)),
                      r"value 120 is outside the unit's bounds \[0, 100\]"),
    "no value column": (lambda p: p.drop(columns="value"), r"column value: required column missing"),
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_entry_point_accepts_the_same_good_panel(entry):
    ENTRY_POINTS[entry](_good(), CAT)


@pytest.mark.parametrize("case", sorted(BAD_PANELS))
def test_every_entry_point_refuses_a_bad_panel_with_the_same_message(case):
    make, pattern = BAD_PANELS[case]
    messages = {}
    for entry, call in ENTRY_POINTS.items():
        with pytest.raises(PanelError, match=pattern) as err:
            call(make(_good()), CAT)
        messages[entry] = str(err.value)
    assert len(set(messages.values())) == 1, messages


BAD_CATALOGUES = {
    "unknown unit": (lambda c: c.assign(unit=["Percent", "per_100k"]),
                     r"column unit: expected a key of units.csv .* got 'Percent'"),
    "unknown comparator": (lambda c: c.assign(comparator=[">=", "below"]),
                           r"column comparator: expected one of .* got 'below'"),
    "band without tolerance": (lambda c: c.assign(comparator=["~=", "<"]),
                               r"column tolerance: expected a tolerance for '~=' and '~>='"),
    "missing target column": (lambda c: c.drop(columns="target"), r"missing required column\(s\) \['target'\]"),
}


@pytest.mark.parametrize("case", sorted(BAD_CATALOGUES))
def test_every_entry_point_refuses_a_bad_catalogue_with_the_same_message(case):
    make, pattern = BAD_CATALOGUES[case]
    messages = {}
    for entry, call in ENTRY_POINTS.items():
        with pytest.raises(CatalogError, match=pattern) as err:
            call(_good(), make(CAT.copy()))
        messages[entry] = str(err.value)
    assert len(set(messages.values())) == 1, messages


def test_researcher_catalogue_gets_the_same_defaults_everywhere():
    c = catalog.normalize(CAT)
    assert c.set_index("id").at["health.cover", "upper_bound"] == 100.0
    assert np.isnan(c.set_index("id").at["health.rate", "upper_bound"])
    assert (c["target_year"] == 2030).all() and (c["subject_sex"] == "T").all()


def test_every_library_code_has_a_label_in_both_languages():
    table = config.label_table()
    kinds = {"status": codes.STATUSES, "category": codes.CATEGORIES, "verdict": codes.VERDICTS,
             "warning": codes.WARNINGS, "sex": codes.SEXES, "comparator": comparators.ALL,
             "narrative_comparator": comparators.ALL}
    for kind, vocabulary in kinds.items():
        for code in vocabulary:
            assert code in table.get(kind, {}), f"no label {kind}.{code}"
    for unit in config.units().index:
        assert unit in table["narrative_unit"], f"no narrative format for unit {unit}"
    for domain in config.domains().index:
        assert labels.domain_label(domain, "en") != domain


def test_no_label_is_cut_at_a_comma():
    """A label written in a YAML flow mapping with an unquoted comma (``{en: Culture, Radio …}``)
    is cut at the comma and its rest becomes keys without values: no label has a key without value."""
    def empty_keys(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if value is None:
                    yield f"{where}.{key}"
                yield from empty_keys(value, f"{where}.{key}")
        elif isinstance(node, list):
            for item in node:
                yield from empty_keys(item, where)

    cut = list(empty_keys(config.label_table(), "labels"))
    assert not cut, f"data/labels: cut at a comma (quote the text): {cut}"


def test_package_api_is_literal_and_functions_not_modules():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(fzanalysis))
    alls = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)
            and any(getattr(t, "id", "") == "__all__" for t in n.targets)]
    assert len(alls) == 1 and isinstance(alls[0].value, ast.List)
    assert all(isinstance(e, ast.Constant) for e in alls[0].value.elts)
    for name in ("assess", "project", "backtest", "evaluate"):
        assert callable(getattr(fzanalysis, name)) and inspect.isfunction(getattr(fzanalysis, name))


def test_a_plan_clause_reads_in_english_in_an_english_report():
    """二（一）主要目标3 is where a target sits in the Chinese plan; an English reader gets
    II(1) main target 3 (labels.clause_label, words in data/labels/catalog.yaml); Chinese keeps it;
    a clause outside the plan's pattern (a researcher's own) is shown as written."""
    assert labels.clause_label("二（一）主要目标3；二（一）策略措施5", "en") == "II(1) main target 3; II(1) measure 5"
    assert labels.clause_label("二（八）主要目标11", "en") == "II(8) main target 11"
    assert labels.clause_label("二（五）策略措施10；五（三）", "en") == "II(5) measure 10; V(3)"
    assert labels.clause_label("二（一）主要目标3", "zh") == "二（一）主要目标3"
    assert labels.clause_label("my own clause 4", "en") == "my own clause 4"


def test_english_lists_are_not_cut_where_a_name_has_a_comma():
    """Word lists names and departments with docx.list_sep; English names hold commas ('low-income,
    unemployed and hardship women', 'Culture, Radio, Tourism and Sports Bureau'), so the English
    separator is one no English name or department contains."""
    sep = labels.label("docx", "list_sep", "en").strip()
    names = list(catalog.load()["name_en"]) + [e["en"] for e in config.label_table()["department"].values()]
    assert not [n for n in names if sep in str(n)], sep


def test_which_probability_speaks_for_a_target_is_one_rule_everywhere():
    """A move (逐步提高, 降低) is spoken for by p_direction, every other target by p_meet
    (comparators.probability_kind): the projection table, the judgement table, its `probability`
    column and the at-risk warning read the same one, for every comparator."""
    comps = list(comparators.ALL)
    cat = pd.DataFrame({"id": [f"health.c{k}" for k in range(len(comps))], "unit": "percent",
                        "comparator": comps,
                        "target": [0.0 if c in comparators.WITH_PARITY else np.nan if c in comparators.DIRECTIONAL
                                   else 60.0 for c in comps],
                        "tolerance": [2.0 if c in ("~=", "~>=") else np.nan for c in comps]})
    years = list(range(2015, 2025))
    panel = pd.DataFrame([{"indicator": i, "year": y, "value": 50.0 - 0.8 * (y - 2015) + (0.3 if y % 2 else 0.0)}
                          for i in cat["id"] for y in years])
    proj = fzanalysis.project(panel, cat).set_index("indicator")
    ev = fzanalysis.evaluate(panel, cat).targets.set_index("indicator")
    for ind, comp in zip(cat["id"], comps):
        kind = comparators.probability_kind(comp)
        p = proj.loc[ind, "p_direction" if kind == "direction" else "p_meet"]
        assert ev.loc[ind, "probability_kind"] == kind, comp
        assert proj.loc[ind, "probability"] == pytest.approx(p, nan_ok=True), comp
        assert ev.loc[ind, "probability"] == pytest.approx(p, nan_ok=True), comp
        other = proj.loc[ind, "p_meet" if kind == "direction" else "p_direction"]
        assert np.isnan(other) or comp == "maintain", comp  # the other probability is not computed
    # falling series: a rise is at risk by its own probability, a fall is not
    assert "at_risk" in proj.loc["health.c" + str(comps.index("increase")), "warnings"]
    assert "at_risk" not in proj.loc["health.c" + str(comps.index("decrease")), "warnings"]


def test_which_towns_a_target_is_about_is_one_rule_everywhere(tmp_path) -> None:
    """The towns a target applies to (catalogue ``area_kinds`` against the gazetteer's kinds) were
    decided in six places (assess, its per-area summary, the heatmap, the map, the template, the
    ingest check, the demo) with two answers for a code the gazetteer does not hold.  One rule,
    ``gazetteer.applies_to``: for every catalogue target with ``area_kinds``, the template asks,
    assess judges and the heatmap leaves uncrossed the same towns; a researcher's own town code is
    judged (nothing says it is of another kind)."""
    import openpyxl

    from fzanalysis import gazetteer, plots
    from fzanalysis.panel import template

    cat = catalog.load()
    restricted = cat[cat["area_kinds"].astype(str) != ""]
    assert len(restricted) >= 1
    towns = gazetteer.codes(include_district=False)
    district = codes.district()
    for _, row in restricted.iterrows():
        ind, kinds = str(row["id"]), str(row["area_kinds"])
        expected = gazetteer.targeted_areas(kinds)
        assert expected and set(expected) < set(towns)
        # the template
        t = template(str(row["department"]), 2025, tmp_path / f"{ind}.xlsx")
        ws = openpyxl.load_workbook(t)["数据填报"]
        asked = sorted({str(r[2]) for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == ind} - {district})
        assert asked == expected, ind
        # assess
        panel = pd.DataFrame({"indicator": ind, "year": 2024, "area": [district, *towns],
                              "sex": "T", "value": float(row["target"])})
        judged = fzanalysis.assess(panel, cat, year=2024)
        judged_towns = sorted(judged.loc[(judged["area"] != district) & (judged["status"] != "not_applicable"),
                                         "area"].astype(str))
        assert judged_towns == expected, ind
        # the heatmap's crossed cells
        crossed = plots._not_targeted_cells(panel.iloc[:0], [ind], towns, cat)
        assert sorted(a for a in towns if (ind, a) not in crossed) == expected, ind
    # a researcher's own code: judged, not 'not applicable'
    assert gazetteer.applies_to("X01", "street")
