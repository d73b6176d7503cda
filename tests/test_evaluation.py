"""Tests of fzanalysis.evaluation: one judgement per target, coherent with its projection."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fzanalysis import catalog, codes, comparators, demo, evaluation
from fzanalysis.evaluation import category_from_projection, evaluate


@pytest.fixture(scope="module")
def demo_eval() -> evaluation.Evaluation:
    return evaluate(demo.load(), year=2024)


def test_one_row_per_indicator_in_plan_order(demo_eval):
    cat = catalog.load()
    t = demo_eval.targets
    assert t["indicator"].tolist() == cat["id"].tolist()
    assert (t["area"] == codes.district()).all()


def test_womens_indicators_are_judged_on_the_female_figure(demo_eval):
    cat = catalog.load().set_index("id")
    t = demo_eval.targets.set_index("indicator")
    women = cat.index[cat["subject_sex"] == "F"]
    assert len(women) >= 10
    assert (t.loc[women, "sex"] == "F").all()
    panel = demo.load()
    le = panel[(panel.indicator == "health.life_expectancy") & (panel.year == 2024)
               & (panel.area == codes.district())].set_index("sex")["value"]
    assert t.at["health.life_expectancy", "value"] == pytest.approx(le["F"])
    assert le["F"] != pytest.approx(le["T"])
    # everyone's figure where the plan speaks of everyone (premarital check-ups: couples)
    assert t.at["health.premarital_checkup", "sex"] == "T"


def test_attainment_counts_judged_figures_only(demo_eval):
    att = demo_eval.attainment().set_index("domain")
    t = demo_eval.targets
    assert att.at["all", "n_indicators"] == len(t)
    assert att.at["all", "n_met"] == int(((t["status"] == "met") & ~t["comparator"].isin(["increase", "decrease", "maintain"])).sum()) \
        + int(((t["status"] == "met") & t["comparator"].isin(["increase", "decrease", "maintain"])).sum())


def test_category_agrees_with_the_central_projection(demo_eval):
    """on track iff the central projection meets a numeric target; never 'on track' next to a miss."""
    s = demo_eval.series
    num = s[s["comparator"].isin(["<", "<=", ">", ">=", "~=", "~>="]) & s["projected"].notna()
            & s["status"].isin(["not_met", "cannot_judge"])]
    # "meets" as the published figure would (trend.project's projected_meets, methods 5 (5));
    # away from the half-step edge that is the literal comparison
    from fzanalysis.comparators import satisfies
    meets = num["projected_meets"].astype(bool)
    assert ((num["category"] == "on_track") == meets).all()
    literal = satisfies(num["projected"], num["comparator"], num["target"], num["tolerance"])
    assert (meets == literal).mean() > 0.9
    met = s[(s["status"] == "met") & s["projected"].notna() & s["comparator"].isin([">=", "<", "~>="])]
    slips = ~met["projected_meets"].astype(bool)
    assert ((met["category"] == "slipping") == slips).all()


def test_numeric_categories_and_probabilities_do_not_contradict(demo_eval):
    t = demo_eval.targets
    num = t[t["probability_kind"] == "meet"].dropna(subset=["probability"])
    num = num[num["comparator"].isin(["<", "<=", ">", ">=", "~>="])]  # one-sided regions
    assert not ((num["category"] == "on_track") & (num["probability"] < 0.5)).any()
    assert not (num["category"].isin(["acceleration_needed", "limited_progress", "deterioration"])
                & (num["probability"] >= 0.5)).any()


def test_largely_achieved_is_never_beside_a_probability_of_missing(demo_eval):
    """基本实现 beside 难以达标（概率20%）: 妇女体质测定标准合格以上比例 (91.7% against ≥ 96%, within 5 %)
    and five others read as basically achieved while the same row said they would probably be
    missed.  基本实现 now means close and on course: no target is 基本实现 with a probability in the
    难以 band."""
    t = demo_eval.targets
    close = t[t["verdict"] == "largely_achieved"]
    assert len(close) >= 5
    p = close["probability"].dropna()
    assert (p >= 0.5).all(), close.loc[p.index[p < 0.5], ["name_zh", "probability"]]
    # the rule sends such a figure to 仍有差距, not further
    from fzanalysis.assessment import verdict
    assert verdict(status="not_met", comparator=">=", gap=4.3, target=96.0, category="limited_progress") \
        == "gap_remains"
    assert verdict(status="not_met", comparator=">=", gap=4.3, target=96.0, category="on_track") \
        == "largely_achieved"


def test_pooled_rates_state_no_single_year_change(demo_eval):
    t = demo_eval.targets.set_index("indicator")
    mm = t.loc["health.maternal_mortality"]
    assert str(mm["pooled_years"]).strip()
    assert np.isnan(mm["change_1y"]) and np.isnan(mm["change_base"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("not_met", ">=", 94.0, 97.4, 96.0), "on_track"),
        (("not_met", ">=", 94.0, 95.4, 96.0), "acceleration_needed"),  # closes 70 % of the gap
        (("not_met", ">=", 94.0, 94.5, 96.0), "limited_progress"),
        (("not_met", ">=", 94.0, 93.0, 96.0), "deterioration"),
        (("met", ">=", 96.5, 97.0, 96.0), "achieved"),
        (("met", ">=", 96.5, 95.0, 96.0), "slipping"),
        (("not_met", "<", 9.0, 7.0, 7.5), "on_track"),
        (("not_met", "<", 9.0, 10.0, 7.5), "deterioration"),
        (("met", "~>=", 60.5, 58.0, 50.0, 2.0), "achieved"),   # a floor: above the band is met
        (("not_met", "~=", 55.0, 51.0, 50.0, 2.0), "on_track"),  # two-sided: back into the band
        (("cannot_judge", "increase", 40.0, 41.0, np.nan), "on_track"),
        (("cannot_judge", "increase", 40.0, 39.0, np.nan), "deterioration"),
        (("met", "increase", 40.0, 41.0, np.nan), "achieved"),
        # met by the recent trend, but the projection turns back: said in words, not 已实现 alone
        (("met", "increase", 40.0, 39.0, np.nan), "slipping"),
        # 缩小 a gap: towards its parity point from either side; past it and on is a wider gap
        (("not_met", "narrow", 6.0, 4.0, 0.0), "on_track"),
        (("not_met", "narrow", -6.0, -4.0, 0.0), "on_track"),
        (("not_met", "narrow", -3.0, -7.5, 0.0), "deterioration"),
        (("met", "narrow", -1.0, -2.0, 0.0), "slipping"),
        # a flat projection neither moves the required way nor away from it (p_direction 0.5)
        (("not_met", "increase", 40.0, 40.0, np.nan), "limited_progress"),
        (("not_met", "decrease", 0.0, 0.0, np.nan), "limited_progress"),
        (("not_met", ">=", 94.0, np.nan, 96.0), "insufficient_data"),
    ],
)
def test_category_rules_by_hand(args, expected):
    assert category_from_projection(*args) == expected


def test_a_move_too_small_to_show_is_no_move():
    """The demo's 部门领导班子女性比例 read 预计2030年保持在21.3% beside 倒退, and the income gap
    保持在19.0% beside 进度正常: a projected move that does not show in the figures as written
    (labels.shows_change) is limited progress, as the sentence's verb says."""
    assert category_from_projection("cannot_judge", "increase", 21.31, 21.29, np.nan) == "deterioration"
    assert category_from_projection("cannot_judge", "increase", 21.31, 21.29, np.nan,
                                    unit="percent") == "limited_progress"
    assert category_from_projection("cannot_judge", "narrow", 19.03, 18.97, 0.0,
                                    unit="gap_percent") == "limited_progress"
    assert category_from_projection("cannot_judge", "increase", 21.31, 21.41, np.nan,
                                    unit="percent") == "on_track"
    assert category_from_projection("met", "increase", 21.31, 21.29, np.nan, unit="percent") == "achieved"


def test_maintain_slips_when_projected_below_its_level():
    assert category_from_projection("met", "maintain", 80.0, 79.0, np.nan, reference=80.0) == "slipping"
    assert category_from_projection("met", "maintain", 80.0, 81.0, np.nan, reference=80.0) == "achieved"
    assert category_from_projection("not_met", "maintain", 80.0, 81.0, np.nan) == "deterioration"


def test_missing_judged_figure_is_no_data_not_another_sex():
    """A women's target whose panel has only the total is shown as no data for women."""
    cat = pd.DataFrame({"id": ["health.x"], "unit": ["percent"], "comparator": [">="], "target": [90.0],
                        "subject_sex": ["F"], "disaggregation": ["sex"]})
    panel = pd.DataFrame({"indicator": "health.x", "year": range(2015, 2025), "sex": "T",
                          "value": np.linspace(80, 89, 10)})
    ev = evaluate(panel, cat, year=2024)
    row = ev.targets.iloc[0]
    assert row["sex"] == "F" and row["status"] == "no_data"
    by_sex = ev.sexes().set_index("sex")
    assert by_sex.at["F", "status"] == "no_data" and by_sex.at["T", "status"] != "no_data"


def test_official_reference_figure_is_quoted_beside_the_plans_own(demo_eval):
    """Same statistic, same sex, latest national figure up to the year, with its citation."""
    t = demo_eval.targets.set_index("indicator")
    mm = t.loc["health.maternal_mortality"]
    assert mm["reference_area"] == "100000" and mm["reference_year"] == 2024
    assert mm["reference_value"] == pytest.approx(14.3)
    assert "国家统计局" in mm["reference_source"] or "卫生健康" in mm["reference_source"]
    from fzanalysis import narrative
    assert narrative.finding(mm.to_dict() | {"indicator": "health.maternal_mortality"}).endswith("全国2024年为14.3/10万。")
    # no national figure for the statistic: nothing quoted
    assert t["reference_value"].isna().sum() > 0


def test_no_reference_quoted_for_the_reference_area_itself():
    from fzanalysis import plan
    with plan.use("china") as p:
        ev = evaluate(p.panel(), p.catalog(), year=2024)
    assert ev.targets["reference_value"].isna().all()
    assert (ev.targets["area"] == "100000").all()


def test_report_year_uses_only_what_was_known_and_latest_figure_up_to_it():
    cat = pd.DataFrame({"id": ["health.x"], "unit": ["percent"], "comparator": [">="], "target": [90.0]})
    panel = pd.DataFrame({"indicator": "health.x", "year": [2016, 2018, 2020, 2022, 2026],
                          "value": [80.0, 82.0, 84.0, 86.0, 99.0]})
    row = evaluate(panel, cat, year=2024).targets.iloc[0]
    assert row["year"] == 2022 and row["value"] == 86.0   # latest up to 2024; 2026 not used
    assert row["status"] == "not_met" and row["n_points"] == 4


def test_towns_are_scored_on_the_sex_each_target_is_about(demo_eval):
    """Town scorecards, their 达标率 and maps read Evaluation.towns(): the female figure of a
    women's target, never the male or total row (issue 11: one judgement per target)."""
    from fzanalysis import codes
    from fzanalysis.report import tables

    s = demo_eval.series
    towns = demo_eval.towns()
    assert len(towns) and (towns["area"] != codes.district()).all()
    assert (towns["sex"] == towns["subject_sex"]).all()
    assert evaluation.of_judged_sex(towns).all()
    # the demo has F, M and T rows in the towns for some women's targets: they are left out
    other = s[(s["area"] != codes.district()) & ~evaluation.of_judged_sex(s)]
    assert len(other) and (other["subject_sex"] == "F").any()
    card = tables.town_scorecard(towns)
    assert not card["lags"].str.contains("（男）").any()
    # scored on the targets every town has (the street-only ones are judged street by street)
    street_only = set(catalog.load().query("area_kinds != ''")["id"])
    assert street_only
    scored = towns[towns["value"].notna() & towns["status"].isin(["met", "not_met", "cannot_judge"])
                   & ~towns["indicator"].isin(street_only)]
    assert card.set_index("area")["n_targets"].to_dict() == scored.groupby("area").size().to_dict()
    assert card["n_targets"].nunique() == 1  # every town on the same targets (all report them)
    # the district's judged rows are the same rule
    assert (s["judged"] == ((s["area"] == codes.district()) & evaluation.of_judged_sex(s))).all()


def test_target_year_column_is_the_year_the_projection_is_for():
    """The sentences say "到{target_year}年" beside the projection: the column must be the year
    projected to (a midterm evaluation to 2025), also for a row without data."""
    cat = pd.DataFrame({"id": ["health.x", "health.y"], "unit": ["percent"] * 2,
                        "comparator": [">="] * 2, "target": [90.0] * 2})
    panel = pd.DataFrame({"indicator": "health.x", "year": range(2015, 2025),
                          "value": np.linspace(80, 89, 10)})
    ev = evaluate(panel, cat, year=2024, target_year=2026)
    assert ev.series["target_year"].tolist() == [2026, 2026]
    proj = ev.projections.set_index("indicator")
    assert ev.targets.set_index("indicator").at["health.x", "projected"] == proj.at["health.x", "projected"]
    assert proj.attrs["target_year"] == 2026


def test_directional_category_agrees_with_p_direction():
    """on_track iff p_direction > 0.5, deterioration iff < 0.5, a constant series (p 0.5) is
    limited progress, not 倒退."""
    years = range(2015, 2025)
    cat = pd.DataFrame({"id": ["e.up", "e.flat", "e.down"], "unit": ["percent"] * 3,
                        "comparator": ["increase"] * 3, "target": [np.nan] * 3})
    panel = pd.concat([pd.DataFrame({"indicator": i, "year": years, "value": v}) for i, v in (
        ("e.up", [40, 41, 40, 42, 41, 43, 42, 42, 44, 43]), ("e.flat", [40.0] * 10),
        ("e.down", [44, 43, 44, 42, 43, 41, 42, 42, 40, 41]))])
    t = evaluate(panel, cat, year=2024).targets.set_index("indicator")
    assert t.at["e.flat", "p_direction"] == 0.5 and t.at["e.flat", "category"] == "limited_progress"
    assert t.at["e.up", "p_direction"] > 0.5 and t.at["e.up", "category"] in ("on_track", "achieved")
    assert t.at["e.down", "p_direction"] < 0.5 and t.at["e.down", "category"] == "deterioration"


def test_no_figure_up_to_the_year_is_no_data_not_a_traceback():
    """A report year before any figure (or an empty panel): every target is no data, every
    table empty but well formed (was a pandas TypeError / numpy ValueError)."""
    from fzanalysis import assess, gender_gap, project
    from fzanalysis.trend import project_paths

    cat = pd.DataFrame({"id": ["health.x"], "unit": ["percent"], "comparator": [">="], "target": [90.0]})
    panel = pd.DataFrame({"indicator": "health.x", "year": [2022, 2023, 2024], "value": [80.0, 82.0, 84.0]})
    t = evaluate(panel, cat, year=2010).targets.iloc[0]
    assert t["status"] == "no_data" and t["verdict"] == "not_assessable"
    empty = panel.iloc[:0]
    assert assess(empty, cat)["status"].tolist() == ["no_data"]
    assert project(empty, cat).empty and project_paths(empty, cat).empty
    assert gender_gap(empty, cat).empty


@pytest.mark.parametrize("comparator", ["increase", "decrease", "maintain"])
def test_too_few_points_for_a_trend_is_insufficient_data_in_every_column(comparator):
    """Women's life expectancy in the national report (three figures, 2010/2015/2020, target 逐步提高)
    read 进度正常 beside 暂无法评估 and the warning 数据不足: the points too few to judge a trend
    are too few to call it on track."""
    cat = pd.DataFrame({"id": ["h.le"], "unit": ["years"], "comparator": [comparator], "target": [np.nan]})
    panel = pd.DataFrame({"indicator": "h.le", "year": [2010, 2015, 2020], "value": [77.37, 79.43, 80.88]})
    row = evaluate(panel, cat, year=2024).targets.iloc[0]
    assert row["status"] == "cannot_judge" and row["status_note"] == "too_few_points"
    assert row["verdict"] == "not_assessable"
    assert row["category"] == "insufficient_data"
    assert "insufficient_data" in row["warnings"]
    # one more figure is enough for the trend test (data/assess.yaml status.trend.min_points): judged again
    more = pd.concat([panel, pd.DataFrame({"indicator": ["h.le"], "year": [2023], "value": [81.5]})])
    row = evaluate(more, cat, year=2024).targets.iloc[0]
    assert row["status_note"] != "too_few_points" and row["category"] != "insufficient_data"


def test_change_since_baseline_is_not_an_annual_figure_against_a_pooled_baseline():
    """Like with like (methods 3.6): 2020 has 4 deaths, so its figure is pooled (2016-2020); 2024
    has 25 and stands alone. Annual minus pooled is no change: change_base stays empty."""
    cat = catalog.normalize(pd.DataFrame({"id": ["health.mmr"], "unit": ["per_100k_live_births"],
                                          "comparator": ["<"], "target": [7.5]}))
    k = [5, 6, 4, 5, 30, 28, 25]
    p = pd.DataFrame({"indicator": "health.mmr", "year": range(2018, 2025), "numerator": k,
                      "denominator": 100_000})
    p["value"] = p["numerator"] / p["denominator"] * 1e5
    r = evaluate(p, cat).targets.iloc[0]
    assert r["pooled_years"] == "" and r["value"] == 25.0
    assert r["baseline_year"] == 2020 and r["baseline_value"] == pytest.approx(15 / 3e5 * 1e5)
    assert np.isnan(r["change_base"])
    assert r["change_1y"] == pytest.approx(-3.0)  # 2023 (28) and 2024 (25) are both annual


@pytest.mark.parametrize("level", [80.0, 33.3, 0.3, 71.53, 29.843333333333334, 76.53])
@pytest.mark.parametrize(("comparator", "target"), [(">=", 90.0), ("<=", 0.1), ("<", 0.2), (">", 95.0)])
def test_a_constant_series_that_misses_its_target_has_made_limited_progress_not_deteriorated(
        level, comparator, target):
    """A series flat at its level neither closes nor widens the gap: limited progress, whatever
    the last bits of the projection's floating point say (33.3 was projected as 33.29999999999999
    and called 倒退, which also turned 仍有差距 into 差距较大)."""
    cat = catalog.normalize(pd.DataFrame({"id": ["health.flat"], "unit": ["percent"],
                                          "comparator": [comparator], "target": [target]}))
    p = pd.DataFrame({"indicator": "health.flat", "year": range(2018, 2025), "value": level})
    r = evaluate(p, cat).targets.iloc[0]
    assert r["status"] == "not_met" and r["category"] == "limited_progress"
    assert category_from_projection("not_met", comparator, level, level * (1 - 2e-16), target) \
        == category_from_projection("not_met", comparator, level, level * (1 + 2e-16), target) \
        == "limited_progress"


# ---------------------------------------------------------------------------------------------
# Coherence on random catalogues and shapes: the invariants of issue 11 hold for any series, not
# only for the demo's (the demo tests above); seeded, so a failure names a reproducible case.

_SHAPES = ("line", "flat", "step", "outlier", "bend", "noisy", "const", "gaps")


def _random_case(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    comps = [">=", ">", "<=", "<", "~>=", "~=", "increase", "decrease", "narrow", "maintain"]
    rows, series = [], []
    for k in range(14):
        comp = comps[rng.integers(len(comps))]
        unit = "gap_percent" if comp == "narrow" else ("percent", "percent", "years", "per_100k")[rng.integers(4)]
        shape = _SHAPES[rng.integers(len(_SHAPES))]
        n = int(rng.integers(3, 11))
        years = np.arange(2024 - n + 1, 2025)
        if shape == "gaps" and n > 4:
            years = np.sort(rng.choice(years, size=n - 2, replace=False))
        t = years - years[0]
        base = {"percent": rng.uniform(5, 97), "years": rng.uniform(70, 85), "per_100k": rng.uniform(5, 60),
                "gap_percent": rng.uniform(-8, 12)}[unit]  # a gap near its parity point 0: it may cross
        scale = {"percent": 1.5, "years": 0.3, "per_100k": 2.0, "gap_percent": 2.0}[unit] * rng.uniform(-1, 1)
        y = base + scale * t
        if shape == "flat":
            y = base + rng.normal(0, abs(scale) / 3 + 1e-3, len(t))
        elif shape == "step":
            y = np.where(t >= t.max() / 2, base + 5 * np.sign(scale or 1), base) + rng.normal(0, 0.1, len(t))
        elif shape == "outlier":
            y = y.copy()
            y[len(y) // 2] -= 15
        elif shape == "bend":
            y = base + scale * np.minimum(t, t.max() / 2) * 2
        elif shape == "noisy":
            y = y + rng.normal(0, 3, len(t))
        elif shape == "const":
            y = np.full(len(t), round(base))
        hi = 100.0 if unit == "percent" else np.inf
        if unit != "gap_percent":
            y = np.clip(y, 0.5, min(hi, 99.9) if unit == "percent" else np.inf)
        ind = f"health.r{k}"
        if comp in comparators.WITH_PARITY:
            target, tol = 0.0, np.nan
        elif comp in comparators.DIRECTIONAL:
            target, tol = np.nan, np.nan
        else:
            target = float(y[-1] + rng.uniform(-8, 8) * (1 if unit != "years" else 0.3))
            target = float(np.clip(target, 1.0, 99.0)) if unit == "percent" else max(target, 1.0)
            tol = 2.0 if comp in ("~=", "~>=") else np.nan
        rows.append({"id": ind, "unit": unit, "comparator": comp, "target": target, "tolerance": tol})
        series.append(pd.DataFrame({"indicator": ind, "year": years, "value": np.round(y, 2)}))
    return pd.DataFrame(rows), pd.concat(series, ignore_index=True)


@pytest.mark.parametrize("seed", range(12))
def test_judgement_is_coherent_on_random_series(seed):
    """For any catalogue and any shape (steps, outliers, bends, constants, gaps, 3–10 points,
    gaps that cross their parity point):
    the category says what the probability and the central projection say, a met target never
    gets a not-met category, the projection lies in its interval, probabilities stay inside
    (0, 1), and the at-risk warning follows the probability that speaks for the target."""
    cat, panel = _random_case(seed)
    t = evaluate(panel, cat, year=2024).targets
    assert len(t) == len(cat)
    proj = t.dropna(subset=["projected"])
    assert ((proj["proj_lower"] <= proj["projected"] + 1e-9)
            & (proj["projected"] <= proj["proj_upper"] + 1e-9)).all()
    p = t["probability"].dropna()
    assert ((p > 0) & (p < 1)).all(), t.loc[p.index[(p <= 0) | (p >= 1)], ["indicator", "probability"]]
    met = t[t["status"] == "met"]
    assert met["category"].isin(["achieved", "slipping"]).all()
    one_sided = t[t["comparator"].isin([">=", ">", "<=", "<", "~>="]) & t["probability"].notna()]
    good = one_sided["category"].isin(["achieved", "on_track"])
    assert (good == (one_sided["probability"] >= 0.5)).all(), \
        one_sided.loc[good != (one_sided["probability"] >= 0.5), ["indicator", "category", "probability"]]
    moves = t[comparators.asks_for_move(t["comparator"].to_numpy()) & t["probability"].notna()
              & (t["status"] != "met") & (t["status_note"] != "too_few_points")]
    assert not ((moves["category"] == "on_track") & (moves["probability"] < 0.5)).any()
    assert not ((moves["category"] == "deterioration") & (moves["probability"] > 0.5)).any()
    # a move is on track or 倒退 only where the figures as written move (the verb is not 保持在)
    from fzanalysis.labels import shows_change
    judged_moves = moves[moves["category"].isin(["on_track", "deterioration"])]
    assert all(shows_change(r.trend_level, r.projected, r.unit) for r in judged_moves.itertuples())
    # a move met by its recent trend whose projection turns back is said to slip (预计难以保持)
    met_moves = t[comparators.asks_for_move(t["comparator"].to_numpy()) & t["probability"].notna()
                  & (t["status"] == "met")]
    assert ((met_moves["category"] == "slipping") == (met_moves["probability"] < 0.5)).all(), \
        met_moves[["indicator", "comparator", "category", "probability"]]
    # one cut-off for every kind of target, maintain included: the warning fires exactly where the
    # words beside the number say 难以 (trend.yaml probability_band)
    risky = t.dropna(subset=["probability"])
    flagged = risky["warnings"].str.contains("at_risk")
    assert (flagged == (risky["probability"] < 0.5)).all(), \
        risky.loc[flagged != (risky["probability"] < 0.5), ["indicator", "warnings", "probability"]]


LEADERS = "decision.street_leadership_women"


def _per_area_panel(street_values: dict[str, list[float]]) -> pd.DataFrame:
    """The demo panel with the per-street series of LEADERS replaced (district total = their sum)."""
    frame = demo.load()
    frame = frame[frame["indicator"] != LEADERS]
    years = list(range(2016, 2025))
    rows = [{"indicator": LEADERS, "area": area, "sex": "T", "year": y, "value": float(v)}
            for area, values in street_values.items() for y, v in zip(years, values, strict=True)]
    total = pd.DataFrame(rows).groupby(["indicator", "sex", "year"], as_index=False)["value"].sum()
    rows += total.assign(area=codes.district()).to_dict("records")
    return pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)


def test_a_per_area_target_gets_the_probability_that_every_town_meets_it(demo_eval):
    """每个街道至少1名: the district row's probability is that every street meets the target, the
    streets' own p_meet multiplied (as if independent), never P(district total >= 1)."""
    s = demo_eval.series
    rows = s[s["indicator"] == LEADERS]
    district = rows[rows["area"] == codes.district()].iloc[0]
    towns = rows[(rows["area"] != codes.district()) & (rows["status"] != "not_applicable")]
    assert len(towns) == district["n_areas"] == 3
    assert district["probability"] == pytest.approx(float(np.prod(towns["p_meet"])), rel=1e-12)
    assert district["p_meet"] == district["probability"]
    assert district["probability_kind"] == "all_areas" and district["method"] == evaluation.PER_AREA
    # the total's own projection is not shown: it says nothing about a per-street target
    assert pd.isna(district["projected"]) and pd.isna(district["proj_lower"]) and pd.isna(district["year_reached"])
    # one rule for every target: on track / achieved iff the probability is at least even
    good = district["probability"] >= 0.5
    assert bool(district["projected_meets"]) == good
    assert district["category"] == ("achieved" if good else "slipping")  # met in every street now
    assert ("at_risk" in district["warnings"]) == (not good)
    from fzanalysis import narrative
    said = narrative.finding(district.to_dict())
    assert "每个街道1名以上，3个街道均已达标" in said and "全部达标" in said and "概率相乘" in said, said
    from fzanalysis.report import tables
    assert tables.target_words(district.to_dict())["target"] == "每个街道 ≥ 1名"
    assert "预计2030年" not in said  # no projection of the district total
    # each street's own probability is named (which one is at risk), and they multiply to p
    each = dict(x.split(":") for x in district["p_by_area"].split(";"))
    assert set(each) == set(towns["area"])
    assert float(np.prod([float(q) for q in each.values()])) == pytest.approx(district["probability"], abs=1e-3)
    from fzanalysis.labels import area_label
    from fzanalysis.trend import probability_percent
    for a, q in each.items():
        assert f"{area_label(a)}{probability_percent(float(q))}%" in said, said
    from fzanalysis.trend import warning_text
    if "at_risk" in district["warnings"]:
        reason = warning_text(district["warnings"], method=district["method"], comparator=district["comparator"])
        assert "全部达标的概率" in reason and "低于50%" in reason, reason
        said = warning_text(district["warnings"], method=district["method"], comparator=district["comparator"],
                            category=district["category"], area_kinds=district["area_kinds"])
        assert "各街道" in said and "镇街" not in said, said


def test_a_per_area_target_met_firmly_in_every_town_is_likely_met_everywhere():
    """Every street steady at 3 women leaders (target >= 1): each is very likely to keep one, and
    so is the district; one street that never had one makes the district not met and unlikely."""
    ev = evaluate(_per_area_panel({"440117001": [3] * 9, "440117002": [3] * 9, "440117003": [3] * 9}),
                  year=2024)
    d = ev.targets.set_index("indicator").loc[LEADERS]
    assert d["status"] == "met" and d["probability"] > 0.8 and d["category"] == "achieved"
    assert "at_risk" not in d["warnings"]
    ev = evaluate(_per_area_panel({"440117001": [3] * 9, "440117002": [3] * 9, "440117003": [0] * 9}),
                  year=2024)
    d = ev.targets.set_index("indicator").loc[LEADERS]
    assert d["status"] == "not_met" and d["n_areas_met"] == 2
    assert d["probability"] < 0.5 and d["category"] != "on_track" and "at_risk" in d["warnings"]
    from fzanalysis import narrative
    assert "3个街道中2个已达标" in narrative.finding(d.to_dict())


def test_a_per_area_target_with_a_town_lacking_a_projection_has_no_probability():
    """A street with too few points to project: the probability that every street meets it is
    unknown, not the product of the others."""
    panel = _per_area_panel({"440117001": [1] * 9, "440117002": [1] * 9, "440117003": [1] * 9})
    panel = panel[~((panel["indicator"] == LEADERS) & (panel["area"] == "440117003") & (panel["year"] < 2023))]
    d = evaluate(panel, year=2024).targets.set_index("indicator").loc[LEADERS]
    assert pd.isna(d["probability"]) and d["category"] == "insufficient_data"
    assert "insufficient_data" in d["warnings"]


def test_a_directional_target_below_its_baseline_is_never_largely_achieved(demo_eval):
    """逐步提高 with a trend pointing up but a figure below 2020 (妇女健康素养水平 33.3% -> 29.3%)
    was 基本实现; the one rule of a move since the baseline (assessment.baseline_move) is also the
    mid-term's 向目标方向改善 count."""
    from fzanalysis.assessment import baseline_move, verdict

    assert verdict(status="cannot_judge", comparator="increase", category="on_track") == "largely_achieved"
    assert verdict(status="cannot_judge", comparator="increase", category="on_track",
                   moved_back=True) == "gap_remains"
    t = demo_eval.targets
    move = baseline_move(t)
    directional = comparators.asks_for_move(t["comparator"].to_numpy())
    assert ((move < 0) & directional).any() and ((move > 0) & directional).any()
    assert not ((t["verdict"] == "largely_achieved") & directional & (move < 0)).any()
    # by hand: a rise, a fall, a narrowing gap, a move too small to show, no comparable baseline
    frame = pd.DataFrame({"comparator": ["increase", "increase", "narrow", "decrease", "increase"],
                          "value": [30.0, 29.3, -5.0, 10.02, 30.0],
                          "baseline_value": [28.0, 33.3, 8.0, 10.04, 28.0],
                          "change_base": [2.0, -4.0, -13.0, -0.02, np.nan],
                          "target": [np.nan, np.nan, 0.0, np.nan, np.nan], "unit": "percent"})
    assert baseline_move(frame).tolist() == [1, -1, 1, 0, 0]


def test_a_target_met_now_but_projected_to_slip_is_said_to_slip_in_every_column(demo_eval):
    """感染梅毒…比例 (已达标, p 0.20) read 预计难以保持 in the sentence and the warning of a
    保持 target but 难以达标 in the probability column, and a met ≥ target slipping read
    预计达标困难: one set of words, 难以保持, wherever a met target is projected to slip."""
    from fzanalysis import narrative
    from fzanalysis.report import tables

    t = demo_eval.targets
    slipping = t[(t["category"] == "slipping") & t["probability"].notna()
                 & ~comparators.asks_for_move(t["comparator"].to_numpy())]
    assert len(slipping) >= 2 and (slipping["comparator"] == "maintain").any()
    assert (slipping["comparator"] != "maintain").any()
    for rec in slipping.to_dict("records"):
        words = tables.probability_text(rec)
        assert "保持" in words and "难以达标" not in words, (rec["indicator"], words)
        assert "难以保持" in narrative.finding(rec)
        if "at_risk" in rec["warnings"]:
            label = tables.warnings_label(rec["warnings"], comparator=rec["comparator"], method=rec["method"],
                                          category=rec["category"])
            assert label.split("；")[0] == "预计难以保持", (rec["indicator"], label)
    # a target not met now keeps 预计达标困难 / 难以达标
    missing = t[(t["status"] == "not_met") & t["warnings"].str.contains("at_risk")
                & t["comparator"].isin([">=", "<=", ">", "<", "~>="])]
    rec = missing.iloc[0].to_dict()
    assert tables.warnings_label(rec["warnings"], comparator=rec["comparator"], method=rec["method"],
                                 category=rec["category"]).startswith("预计达标困难")
    assert "难以达标" in tables.probability_text(rec)
