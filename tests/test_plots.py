"""Tests of fzanalysis.plots: each chart rendered to PNG (Agg) and its structure checked."""
from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.patches import Rectangle

from fzanalysis import codes, gazetteer, plots
from fzanalysis.exceptions import FzError, PlotError
from fzanalysis.geo import GID_DEMO, NA_STYLE
from fzanalysis.labels import label

TOWNS = ["440117001", "440117002", "440117003", "440117103", "440117104", "440117107",
         "440117111", "440117113"]
ASSESS_COLUMNS = [
    "indicator", "area", "sex", "year", "value", "lower", "upper", "numerator", "denominator",
    "pooled_years", "interval_method", "too_wide", "unit", "comparator", "target", "tolerance",
    "gap", "status", "baseline_year", "baseline_value", "cagr_observed", "cagr_required",
    "pace_ratio", "category", "verdict_zh", "verdict_en", "domain", "name_zh", "name_en",
    "synthetic"]
PATH_COLUMNS = ["indicator", "area", "sex", "year", "kind", "value", "lower", "upper"]
HEALTH = [
    ("health.cervical_screening", "宫颈癌筛查率", "Cervical cancer screening rate", "percent",
     ">=", 70.0, 72.0, "achieved"),
    ("health.maternal_mortality", "孕产妇死亡率", "Maternal mortality ratio",
     "per_100k_live_births", "<=", 12.0, 15.5, "acceleration_needed"),
    ("health.anaemia", "孕产妇中重度贫血患病率", "Moderate or severe anaemia in pregnancy",
     "percent", "decrease", np.nan, 8.1, "limited_progress"),
    ("health.life_expectancy", "女性人均预期寿命", "Female life expectancy", "years", "increase",
     np.nan, np.nan, "insufficient_data"),
]


def assessed(*, missing: tuple[tuple[str, str], ...] = ()) -> pd.DataFrame:
    """District and town rows for the health indicators, columns of docs/design.md."""
    cats = ["achieved", "on_track", "acceleration_needed", "limited_progress", "deterioration"]
    rows = []
    for k, (ind, zh, en, unit, comp, tgt, value, cat) in enumerate(HEALTH):
        for j, area in enumerate(["440117", *TOWNS]):
            if (ind, area) in missing:
                continue
            v = value if area == "440117" else (value + j if np.isfinite(value) else np.nan)
            gap = (tgt - v if comp == ">=" else v - tgt) if np.isfinite(tgt) else np.nan
            status = "no_data" if not np.isfinite(v) else (
                "cannot_judge" if not np.isfinite(tgt) else ("met" if gap <= 0 else "not_met"))
            rows.append({
                "indicator": ind, "area": area, "sex": "T", "year": 2024, "value": v,
                "lower": v - 1.5, "upper": v + 2.5, "numerator": np.nan, "denominator": np.nan,
                "pooled_years": 1, "interval_method": "wilson", "too_wide": False, "unit": unit,
                "comparator": comp, "target": tgt, "tolerance": np.nan, "gap": gap,
                "status": status, "baseline_year": 2020, "baseline_value": v - 2 if np.isfinite(v) else np.nan,
                "cagr_observed": np.nan, "cagr_required": np.nan, "pace_ratio": np.nan,
                "category": cat if area == "440117" else (
                    "insufficient_data" if not np.isfinite(v) else cats[(j + k) % 5]),
                "verdict_zh": "", "verdict_en": "", "domain": "health", "name_zh": zh,
                "name_en": en, "synthetic": True})
    return pd.DataFrame(rows, columns=ASSESS_COLUMNS)


def paths() -> pd.DataFrame:
    """A project_paths-style long frame for one series (linear trend, widening band)."""
    rows = []
    for y in range(2016, 2025):
        m = 60 + 1.5 * (y - 2016)
        rows.append(("health.cervical_screening", "440117", "T", y, "observed",
                     m + (0.8 if y % 2 else -0.8), np.nan, np.nan))
        rows.append(("health.cervical_screening", "440117", "T", y, "fitted", m, m - 1.0, m + 1.0))
    for y in range(2025, 2031):
        m, h = 60 + 1.5 * (y - 2016), y - 2024
        rows.append(("health.cervical_screening", "440117", "T", y, "projected", m,
                     m - 1 - 0.8 * h, m + 1 + 0.8 * h))
    return pd.DataFrame(rows, columns=PATH_COLUMNS)


def sexes() -> pd.DataFrame:
    rows = []
    for j, area in enumerate(TOWNS):
        for sex, v in (("F", 90 + j), ("M", 92 - j / 2)):
            rows.append({"indicator": "social_security.medical_insurance", "area": area,
                         "sex": sex, "value": float(v), "unit": "percent",
                         "name_zh": "城乡居民基本医疗保险参保率",
                         "name_en": "Basic medical insurance coverage", "synthetic": False})
    return pd.DataFrame(rows)


def render(fig: plt.Figure, path: Path) -> list[str]:
    """Save at report size (≈ 8 in wide, 150 dpi); return missing-glyph warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(path, dpi=150)
    plt.close(fig)
    assert path.stat().st_size > 10_000
    return [str(w.message) for w in caught if "glyph" in str(w.message).lower()
            or "missing from" in str(w.message).lower()]


def legend_texts(ax: plt.Axes) -> list[str]:
    leg = ax.get_legend()
    return [] if leg is None else [t.get_text() for t in leg.get_texts()]


def gid_texts(fig: plt.Figure, gid: str) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_gid() == gid]


# ---------------------------------------------------------------- fan chart
def test_fan_chart_structure(tmp_path):
    ax = plots.fan_chart(None, paths(), target=70.0, baseline=(2020, 64.0), unit="percent",
                         title="宫颈癌筛查率（全区）", demo_note=True)
    assert ax.get_title() == "宫颈癌筛查率（全区）"
    assert legend_texts(ax) == ["80% 预测区间", "拟合值", "预测值", "实测值", "目标值 2030: 70",
                                "基线 2020: 64.0%"]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1
    # the band spans fitted + projected years and widens to 2030
    verts = bands[0].get_paths()[0].vertices
    assert verts[:, 0].min() == 2016 and verts[:, 0].max() == 2030
    target = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert len(target) == 1 and set(target[0].get_ydata()) == {70.0}
    projected = [ln for ln in ax.get_lines() if ln.get_label() == "预测值"][0]
    assert projected.get_xdata()[0] == 2024  # starts at the last observation
    assert ax.get_ylabel() == "数值（%）"
    assert gid_texts(ax.figure, GID_DEMO) == [label("plot_text", "demo_data", "zh")]
    assert render(ax.figure, tmp_path / "fan.png") == []


def test_fan_chart_directional_target_and_english(tmp_path):
    obs = paths().query("kind == 'observed'")[["year", "value"]]
    ax = plots.fan_chart(obs, paths(), target=np.nan, baseline=None, lang="en", level=0.95)
    assert "95% Projection interval" in legend_texts(ax)
    assert ax.get_title().endswith("(District)")  # default title: indicator and area
    assert not [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
    assert "Directional target" in [t.get_text() for t in ax.texts]
    assert gid_texts(ax.figure, GID_DEMO) == []
    assert render(ax.figure, tmp_path / "fan_en.png") == []


def test_fan_chart_breaks_at_a_missing_year_and_names_a_researchers_indicator(tmp_path):
    """A year with no figure is not drawn as observed (the line joined 2021 to 2023); the default
    title takes the name from the researcher's own catalogue (it fell back to the id); before a
    detected step the fitted line is the level before it."""
    from fzanalysis.trend import project_paths

    cat = pd.DataFrame({"id": ["y.gap", "y.step"], "unit": "percent", "comparator": ">=",
                        "target": [75.0, 65.0], "name_zh": ["缺年序列", "阶跃序列"]})
    panel = pd.concat([
        pd.DataFrame({"indicator": "y.gap", "year": [2017, 2018, 2019, 2020, 2021, 2023, 2024],
                      "value": [58, 60, 62, 64, 66, 68, 70], "area": "450102", "sex": "T"}),
        pd.DataFrame({"indicator": "y.step", "year": range(2017, 2025), "value": [50] * 4 + [60] * 4,
                      "area": "450102", "sex": "T"})])
    pp = project_paths(panel, cat)
    ax = plots.fan_chart(None, pp[pp["indicator"] == "y.gap"], target=75.0, unit="percent", catalog=cat)
    assert ax.get_title() == "缺年序列（450102）"
    observed = [ln for ln in ax.get_lines() if ln.get_label() == "实测值"][0]
    xs, ys = np.asarray(observed.get_xdata(), float), np.asarray(observed.get_ydata(), float)
    assert 2022 in xs and np.isnan(ys[xs == 2022]).all()
    assert render(ax.figure, tmp_path / "fan_gap.png") == []
    ax = plots.fan_chart(None, pp[pp["indicator"] == "y.step"], target=65.0, unit="percent", catalog=cat)
    fitted = [ln for ln in ax.get_lines() if ln.get_label() == "拟合值"][0]
    fy = dict(zip(np.asarray(fitted.get_xdata(), int), np.asarray(fitted.get_ydata(), float), strict=True))
    assert fy[2017] == pytest.approx(50) and fy[2024] == pytest.approx(60)
    plt.close(ax.figure)


def test_fan_chart_refuses_mixed_series():
    two = pd.concat([paths(), paths().assign(area="440117001")])
    with pytest.raises(PlotError, match="several values of 'area'"):
        plots.fan_chart(None, two, target=70.0)
    with pytest.raises(PlotError, match="kind"):
        plots.fan_chart(None, paths().assign(kind="guess"), target=70.0)
    # one of the workbench's errors, still caught by code written against ValueError
    with pytest.raises(ValueError, match="kind") as caught:
        plots.fan_chart(None, paths().assign(kind="guess"), target=70.0)
    assert isinstance(caught.value, FzError)


# ---------------------------------------------------------------- heatmap
def test_status_heatmap_cells_and_legend(tmp_path):
    table = assessed(missing=(("health.maternal_mortality", "440117107"),))
    ax = plots.status_heatmap(table)
    cells = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(cells) == len(HEALTH) * 9  # 4 indicators × (district + 8 towns)
    assert ax.get_title() == "各镇街指标进展"
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["全区", "街口街道"]
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "宫颈癌筛查率"
    entries = legend_texts(ax)
    assert entries[-1] == "无数据"  # the missing cell and the indicator without values
    assert set(entries[:-1]) <= {label("category", c, "zh") for c in
                                 ("achieved", "on_track", "acceleration_needed",
                                  "limited_progress", "deterioration", "insufficient_data")}
    hatched = [p for p in cells if p.get_hatch()]
    assert len(hatched) == 1 + 9  # one missing cell + life expectancy (no values) everywhere
    assert gid_texts(ax.figure, GID_DEMO) != []
    assert render(ax.figure, tmp_path / "heat.png") == []


def test_tall_status_heatmap_names_its_columns_at_the_top_too(tmp_path):
    """87 rows run over several screens: the town names are repeated above the grid."""
    small = plots.status_heatmap(assessed())
    assert not small.child_axes  # a short grid: names below only
    parts = [assessed().assign(indicator=lambda d, k=k: d["indicator"] + f"_{k}") for k in range(8)]
    ax = plots.status_heatmap(pd.concat(parts, ignore_index=True))
    assert len(ax.get_yticklabels()) > plots.TALL_GRID_ROWS
    (top,) = ax.child_axes
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert [t.get_text() for t in top.get_xticklabels()] == names and names[:2] == ["全区", "街口街道"]
    assert render(ax.figure, tmp_path / "heat_tall.png") == []
    plt.close(small.figure)


def test_status_heatmap_by_status_in_english(tmp_path):
    ax = plots.status_heatmap(assessed(), column="status", lang="en")
    assert ax.get_legend().get_title().get_text() == "Status"
    assert "District" in [t.get_text() for t in ax.get_xticklabels()]
    assert "Lütian" in [t.get_text() for t in ax.get_xticklabels()]
    assert render(ax.figure, tmp_path / "heat_en.png") == []
    bad = assessed().assign(category="great")
    with pytest.raises(PlotError, match="'great' .* has no colour"):
        plots.status_heatmap(bad)


def test_status_heatmap_groups_domains_in_plan_order(tmp_path):
    other = assessed().assign(domain="law", indicator=lambda d: "law." + d["indicator"])
    both = pd.concat([other, assessed()], ignore_index=True)
    ax = plots.status_heatmap(both)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0] == "【妇女与健康】" and ticks[len(HEALTH) + 1] == "【妇女与法律】"
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == 2 * len(HEALTH) * 9
    ax2 = plots.status_heatmap(both, domain="law", lang="en")
    assert len(ax2.get_yticklabels()) == len(HEALTH)  # one domain: no header row
    assert render(ax.figure, tmp_path / "heat_domains.png") == []
    plt.close(ax2.figure)


def test_status_heatmap_follows_the_researchers_catalogue():
    """area_kinds come from the catalogue the table was assessed with, not always the plan's."""
    towns = gazetteer.towns()
    table = pd.DataFrame({"indicator": "decision.street_leadership_women", "sex": "T",
                          "area": [codes.district(), *towns["code"]], "category": "achieved",
                          "status": "met"})
    dotted = lambda ax: [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch() == NA_STYLE["hatch"]]  # noqa: E731
    plan = plots.status_heatmap(table)  # the plan sets this target for the 3 streets only
    assert len(dotted(plan)) == int((towns["kind"] == "town").sum()) == 5
    own = pd.DataFrame({"id": ["decision.street_leadership_women"], "unit": ["count"],
                        "comparator": [">="], "target": [1.0], "per_area": [True]})
    mine = plots.status_heatmap(table, catalog=own)  # every town targeted
    assert dotted(mine) == []
    plt.close(plan.figure)
    plt.close(mine.figure)


# ---------------------------------------------------------------- dumbbell
def test_gender_gap_dumbbell(tmp_path):
    frame = sexes()
    ax = plots.gender_gap_dumbbell(frame)
    assert ax.get_title() == "性别差距：城乡居民基本医疗保险参保率"
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "街口街道", "江埔街道", "城郊街道", "温泉镇", "良口镇", "吕田镇", "太平镇", "鳌头镇"]
    assert legend_texts(ax) == ["女", "男"]
    twin = [a for a in ax.figure.axes if a is not ax][0]
    wide = frame.pivot(index="area", columns="sex", values="value")
    assert [t.get_text() for t in twin.get_yticklabels()] == ["女−男（百分点）"] + [
        f"{f - m:+.1f}" for f, m in zip(wide["F"], wide["M"])]
    assert len([c for c in ax.collections if len(c.get_offsets()) == 8]) == 2  # F and M dots
    assert gid_texts(ax.figure, GID_DEMO) == []
    assert render(ax.figure, tmp_path / "dumbbell.png") == []


def test_dumbbell_missing_sex_and_errors(tmp_path):
    frame = sexes()
    frame = frame[~((frame["area"] == "440117003") & (frame["sex"] == "M"))]
    ax = plots.gender_gap_dumbbell(frame, lang="en", demo_note=True)
    twin = [a for a in ax.figure.axes if a is not ax][0]
    assert [t.get_text() for t in twin.get_yticklabels()][3] == "No data"
    assert gid_texts(ax.figure, GID_DEMO) == [label("plot_text", "demo_data", "en")]
    assert render(ax.figure, tmp_path / "dumbbell_en.png") == []
    district = sexes()[sexes()["area"] == "440117001"]
    by_ind = pd.concat([district, district.assign(indicator="x.other", name_en="Other")])
    ax3 = plots.gender_gap_dumbbell(by_ind, lang="en")
    assert ax3.get_title() == "Gender gap (Jiekou Subdistrict, in %)"  # one chart per unit: the unit says which
    assert [t.get_text() for t in ax3.get_yticklabels()] == ["Basic medical insurance coverage", "Other"]
    plt.close(ax3.figure)
    mixed = pd.concat([sexes(), sexes().assign(indicator="x.other")])
    with pytest.raises(PlotError, match="both indicators and areas vary"):
        plots.gender_gap_dumbbell(mixed)
    # several years of gender_gap rows: the message says so, and how to keep one (it printed a
    # pandas Series into the message)
    from fzanalysis import demo, gender_gap
    g = gender_gap(demo.load())
    one = g[(g["indicator"] == g["indicator"].iloc[0]) & (g["area"] == "440117")]
    assert one["year"].nunique() > 1
    with pytest.raises(PlotError, match=r"several rows of sex F for area 440117 \(years \d{4}…\d{4}\): "
                                        r"keep one year") as err:
        plots.gender_gap_dumbbell(one)
    assert "dtype" not in str(err.value) and "Name:" not in str(err.value)


# ---------------------------------------------------------------- dashboard
def test_domain_dashboard(tmp_path):
    fig = plots.domain_dashboard(assessed(), "health")
    rows = [a for a in fig.axes if a.get_yticklabels()]
    assert len(rows) == len(HEALTH)
    assert fig.get_suptitle() == "妇女与健康：领域指标仪表板（全区）"
    assert [a.get_yticklabels()[0].get_text() for a in rows][:2] == ["宫颈癌筛查率", "孕产妇死亡率"]
    # numeric targets get a red tick, directional ones say which way, as the tables write it
    first, second, third, fourth = rows
    assert any(set(ln.get_xdata()) == {70.0} for ln in first.get_lines())
    assert any(set(ln.get_xdata()) == {12.0} for ln in second.get_lines())
    assert "目标值 逐步降低" in third.texts[-1].get_text()
    assert "无数据" in [t.get_text() for t in fourth.texts]
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["达标区间", "目标值", "不确定区间", "基线"]
    assert gid_texts(fig, GID_DEMO) == [label("plot_text", "demo_data", "zh")]
    assert render(fig, tmp_path / "dashboard.png") == []


def test_domain_dashboard_english_for_a_town(tmp_path):
    fig = plots.domain_dashboard(assessed(), "health", area="440117104", lang="en",
                                 demo_note=False)
    assert fig.get_suptitle() == "Women and health: Domain dashboard (Liangkou Town)"
    assert gid_texts(fig, GID_DEMO) == []
    assert render(fig, tmp_path / "dashboard_en.png") == []
    with pytest.raises(PlotError, match="no rows for domain 'law'"):
        plots.domain_dashboard(assessed(), "law")


def test_status_heatmap_street_only_target_shows_towns_as_not_applicable(tmp_path):
    """A 街道-only target (area_kinds: street): the 5 镇 cells are 不适用, not 无数据."""
    from fzanalysis.assessment import assess as run_assess

    ind = "decision.street_leadership_women"
    panel = pd.DataFrame({"indicator": ind, "year": 2024,
                          "area": ["440117001", "440117002", "440117003", "440117103"],
                          "value": [1.0, 2.0, 1.0, 0.0]})
    table = run_assess(panel)
    table = table[table["indicator"] == ind]  # 温泉镇's row is not_applicable
    for column in ("status", "category"):
        ax = plots.status_heatmap(table, column=column)
        cells = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(cells) == 9
        assert sum(p.get_hatch() == "...." for p in cells) == 5
        assert legend_texts(ax)[-1] == "不适用（仅针对街道）" and "无数据" not in legend_texts(ax)
        assert render(ax.figure, tmp_path / f"heat_street_{column}.png") == []


def test_fan_chart_draws_the_official_reference_figure():
    """The national figure of the same statistic is a labelled reference line (issue 14)."""
    path = pd.DataFrame({"indicator": "health.x", "area": "440117", "sex": "T",
                         "year": [2022, 2023, 2024, 2030], "kind": ["observed"] * 3 + ["projected"],
                         "value": [60.0, 61.0, 62.0, 66.0], "lower": [np.nan] * 3 + [62.0],
                         "upper": [np.nan] * 3 + [70.0]})
    ax = plots.fan_chart(None, path, target=90.0, unit="percent", reference=("100000", 2024, 94.9))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "全国 2024: 94.9" in texts
    assert any(abs(line.get_ydata()[0] - 94.9) < 1e-9 for line in ax.get_lines() if len(line.get_ydata()))
    plt.close(ax.figure)


def test_report_figures_are_drawn_once_and_cut_to_their_ink():
    """`report.png_bytes`: one drawing per figure (layout included), white margins cut to the pad."""
    import io

    from matplotlib.figure import Figure
    from PIL import Image

    from fzanalysis.report.context import png_bytes

    for layout in ("constrained", None):
        fig = Figure(figsize=(6, 4), dpi=150, layout=layout)
        ax = fig.add_axes((0.3, 0.3, 0.2, 0.2)) if layout is None else fig.subplots()
        ax.plot([0, 1], [0, 1])
        draws: list = []
        fig.canvas.mpl_connect("draw_event", draws.append)
        img = Image.open(io.BytesIO(png_bytes(fig, dpi=80)))
        assert len(draws) == 1
        width, height = img.size
        if layout is None:  # a small axes in a large white figure: cut to the axes, ticks and pad
            assert width < 0.5 * 6 * 80 and height < 0.5 * 4 * 80
        else:  # constrained layout fills the figure: nothing much to cut
            assert width > 0.9 * 6 * 80 and height > 0.9 * 4 * 80
        pixels = img.convert("RGB").load()
        assert pixels[0, 0] == (255, 255, 255)  # the pad is white


def test_status_heatmap_shows_the_sex_each_target_is_about():
    """Default sex="judged": a women's target shows the female figure's category, a target
    about everyone the total (evaluation.of_judged_sex); men's rows are never coloured."""
    base = assessed().assign(subject_sex="T", category="on_track")
    first = base["indicator"].iloc[0]
    women = base[base["indicator"] == first]
    rows = [base[base["indicator"] != first],
            women.assign(sex="F", subject_sex="F", category="achieved"),
            women.assign(sex="M", subject_sex="F", category="deterioration"),
            women.assign(sex="T", subject_sex="F", category="deterioration")]
    table = pd.concat(rows, ignore_index=True)

    def colours(ax):
        return {matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches
                if isinstance(p, Rectangle) and not p.get_hatch()}

    pal = plots.palette("category", "zh")
    ax = plots.status_heatmap(table)
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == len(HEALTH) * 9
    assert matplotlib.colors.to_hex(pal["achieved"][1]) in colours(ax)
    assert matplotlib.colors.to_hex(pal["deterioration"][1]) not in colours(ax)
    men = plots.status_heatmap(table[table["sex"].isin(["M", "T"])], sex="M")  # a chosen sex
    assert matplotlib.colors.to_hex(pal["deterioration"][1]) in colours(men)
    plt.close("all")


def test_domain_dashboard_shows_the_judged_figure():
    """A women's target is drawn at the female figure (83.0), not the total (80.1): the issue's
    first complaint, on the chart as in the tables."""
    rows = pd.DataFrame({
        "indicator": "health.life", "area": "440117", "sex": ["F", "M", "T"], "subject_sex": "F",
        "domain": "health", "value": [83.0, 77.4, 80.1], "lower": [82.5, 77.0, 79.8],
        "upper": [83.5, 77.8, 80.4], "target": 82.92, "comparator": ">=",
        "category": ["achieved", "deterioration", "on_track"], "unit": "years"})
    fig = plots.domain_dashboard(rows, "health", lang="en")
    widths = {round(p.get_width(), 3) for ax in fig.axes for p in ax.patches if isinstance(p, Rectangle)}
    assert 83.0 in widths and not {77.4, 80.1} & widths
    total = plots.domain_dashboard(rows, "health", lang="en", sex="T")   # a chosen sex
    widths = {round(p.get_width(), 3) for ax in total.axes for p in ax.patches if isinstance(p, Rectangle)}
    assert 80.1 in widths and 83.0 not in widths
    plt.close("all")


def test_status_heatmap_never_colours_a_town_figure_too_small_to_compare(tmp_path):
    """Towns whose figure the methods call unrankable (1.4-1.5: a handful of events) are drawn
    不宜比较, as on the maps, never in a status or category colour; the district is judged."""
    table = assessed()
    table["rankable"] = pd.array([True] * len(table), dtype="boolean")
    few = (table["indicator"] == "health.maternal_mortality") & table["area"].isin(TOWNS[:3])
    table.loc[few, "rankable"] = False
    table.loc[(table["indicator"] == "health.maternal_mortality") & (table["area"] == "440117"),
              "rankable"] = False
    for column in ("status", "category"):
        ax = plots.status_heatmap(table, column=column)
        cells = [p for p in ax.patches if isinstance(p, Rectangle)]
        hatched = [p for p in cells if p.get_hatch() == "xx"]
        assert len(hatched) == 3  # the three towns, not the district
        assert "不宜比较（基数小）" in legend_texts(ax)
        assert render(ax.figure, tmp_path / f"heat_unrankable_{column}.png") == []


def test_dumbbell_of_gender_gap_rows_draws_the_judged_figures_names_the_window_and_the_unit(tmp_path):
    """The chart drew each sex's own figure (women pooled 2020–2024, men 2022–2024) and two charts of a
    chapter were both titled 性别差距（从化区）: now it draws fzanalysis.gender_gap rows (both sexes over
    the judged figure's years), names a pooled row's window as every page does, writes 不宜比较 for a gap
    from few events and names the unit in the title."""
    from fzanalysis import catalog, demo, gender_gap
    from fzanalysis.report.context import figure_title

    panel = demo.load()
    gaps = gender_gap(panel[panel["year"] <= 2024])
    gaps = gaps[(gaps["year"] == 2024) & (gaps["area"] == codes.district())]
    cat = catalog.load()[["id", "name_zh", "name_en"]]
    gaps = cat.merge(gaps, left_on="id", right_on="indicator")
    rare = gaps[gaps["indicator"] == "economy.occupational_disease_female"].iloc[0]
    titles = {}
    for lang in ("zh", "en"):
        for unit, rows in gaps.groupby("unit"):
            ax = plots.gender_gap_dumbbell(rows, lang=lang, by="indicator")
            titles[lang, unit] = ax.get_title()
            assert figure_title(ax.figure) == ax.get_title()  # the alt text is the title
            if unit == "per_100k":
                names = [t.get_text().replace("\n", "") for t in ax.get_yticklabels()]
                assert any(n.endswith(label("narrative_text", "pooled", lang).format(years="2020–2024").strip())
                           for n in names), names
                twin = [a for a in ax.figure.axes if a is not ax][0]
                k = list(rows["indicator"]).index("economy.occupational_disease_female")
                assert twin.get_yticklabels()[k + 1].get_text() == label("plot_text", "not_comparable_short", lang)
                dots = [c.get_offsets()[:, 0] for c in ax.collections if len(c.get_offsets()) == len(rows)]
                assert rare["value_f"] in list(dots[0])  # the judged, pooled figure
                assert render(ax.figure, tmp_path / f"dumbbell_gaps_{lang}.png") == []
            plt.close(ax.figure)
    assert titles["zh", "percent"] == "性别差距（全区，单位：%）"
    assert titles["en", "per_100k"].endswith(", in /100k)")
    for lang in ("zh", "en"):
        mine = [t for (lg, _), t in titles.items() if lg == lang]
        assert len(set(mine)) == len(mine)


def test_status_heatmap_of_a_national_plan_has_no_town_columns():
    """The national report's overview drew Conghua's eight towns as empty 无数据 columns beside
    全国, under the title 各镇街指标进展: the towns are those inside the plan's own area."""
    from fzanalysis import plan

    with plan.use("china"):
        whole = codes.district()
        table = pd.DataFrame({"indicator": ["health.a", "health.b"], "area": whole, "sex": "T",
                              "domain": "health", "name_zh": ["甲", "乙"], "name_en": ["A", "B"],
                              "category": ["achieved", "on_track"], "status": ["met", "not_met"]})
        ax = plots.status_heatmap(table)
        assert [t.get_text() for t in ax.get_xticklabels()] == [plots._area_names("zh")[whole]]
        assert ax.get_title() == "各指标进展" and "镇街" not in ax.get_title()
    ax = plots.status_heatmap(assessed())
    assert len(ax.get_xticklabels()) == 9 and ax.get_title() == "各镇街指标进展"


def test_the_dashboard_shades_a_floor_target_from_its_floor() -> None:
    """A 左右 floor (~>= 70, tolerance 2: met from 68) was drawn with no met region, so a bar at
    68.2 ended left of the target tick beside 目标已实现.  The shading is the success region of
    comparators.region, for every comparator."""
    from matplotlib.patches import Rectangle

    from fzanalysis import comparators

    for comparator, tol in (("~>=", 2.0), (">=", np.nan), ("<", np.nan), ("~=", 2.0)):
        rows = pd.DataFrame({"indicator": ["x"], "area": "450100", "sex": "T", "domain": "health",
                             "name_zh": ["宫颈癌筛查率"], "value": [68.2], "lower": [np.nan], "upper": [np.nan],
                             "target": [70.0], "tolerance": [tol], "comparator": [comparator],
                             "category": ["achieved"], "unit": ["percent"]})
        fig = plots.domain_dashboard(rows, "health", area="450100")
        green = [p for ax in fig.axes for p in ax.patches
                 if isinstance(p, Rectangle) and p.get_facecolor()[:3] == pytest.approx((0xd9 / 255, 0xf0 / 255, 0xd3 / 255))]
        lo, hi, _, _ = (float(v) for v in comparators.region(comparator, 70.0, tol))
        assert len(green) == 1, comparator
        left, right = green[0].get_x(), green[0].get_x() + green[0].get_width()
        xmin, xmax = fig.axes[0].get_xlim()
        assert left == pytest.approx(max(lo, xmin)) and right == pytest.approx(min(hi, xmax)), comparator
        plt.close(fig)


def test_a_per_area_targets_chart_is_one_fan_per_town_it_applies_to(tmp_path):
    """每个街道至少1名: judged and projected street by street, so the chart shows each street's
    own fan (titled with its name), not the district total's line."""
    from fzanalysis import catalog, demo, evaluate, trend
    from fzanalysis.labels import area_label
    from fzanalysis.report import figures

    frame = demo.load()
    frame = frame[frame["year"] <= 2024]
    ev = evaluate(frame, year=2024)
    paths = trend.project_paths(frame, catalog.load())
    ind = "decision.street_leadership_women"
    ax = figures.fan_chart_for(paths, catalog.load(), indicator=ind, area=codes.district(), sex="T",
                               judgement=ev.series)
    fig = ax.figure
    streets = gazetteer.targeted_areas(gazetteer.kinds("street"), parent=codes.district())
    assert [a.get_title() for a in fig.axes] == [area_label(s, "zh") for s in streets]
    assert "各街道分别预测" in fig._suptitle.get_text()
    assert sum(a.get_legend() is not None for a in fig.axes) == 1
    fig.savefig(tmp_path / "per_area.png")
    # without the judgement (or for a target judged on the district figure): one fan
    one = figures.fan_chart_for(paths, catalog.load(), indicator=ind, area=codes.district(), sex="T")
    assert len(one.figure.axes) == 1


def test_the_projection_continues_the_trend_line_not_the_last_figure():
    """A last figure far off the line (任正职女干部 21.7% against a line at 14.6%) was joined to the
    projection, drawing a one-year plunge the projection does not say.  The projected line starts
    at the fitted value of the last observed year (the sentences' 趋势线2024年为…)."""
    p = paths()
    p.loc[(p["kind"] == "observed") & (p["year"] == 2024), "value"] = 90.0  # far above the line
    ax = plots.fan_chart(None, p, target=70.0, unit="percent", lang="zh")
    proj = next(ln for ln in ax.lines if ln.get_label() == "预测值")
    fitted_2024 = float(p.loc[(p["kind"] == "fitted") & (p["year"] == 2024), "value"].iloc[0])
    assert proj.get_xdata()[0] == 2024 and proj.get_ydata()[0] == pytest.approx(fitted_2024)
    # without a fitted row for that year, the last figure is the start, as before
    q = p[~((p["kind"] == "fitted") & (p["year"] == 2024))]
    ax = plots.fan_chart(None, q, target=70.0, unit="percent", lang="zh")
    proj = next(ln for ln in ax.lines if ln.get_label() == "预测值")
    assert proj.get_ydata()[0] == pytest.approx(90.0)
    plt.close("all")


def test_a_charts_baseline_is_the_one_the_tables_use_and_a_maintain_target_draws_its_level():
    """社区居委会成员中女性比例: the tables compared with the series' own 2020 figure (68.1%) while
    its chart marked the catalogue's 71.53 beside an observed 2020 point of 68.1 — two 2020 values
    in one picture.  With the judgement the chart's baseline is the judgement's; a 保持 target is
    drawn at the level it is judged against, not labelled 方向性目标 with no level."""
    from fzanalysis import catalog, demo, evaluate, labels, trend
    from fzanalysis.report import figures

    frame = demo.load()
    frame = frame[frame["year"] <= 2024]
    cat = catalog.load()
    ev = evaluate(frame, cat, year=2024)
    paths_ = trend.project_paths(frame, cat)
    j = ev.series[ev.series["area"] == codes.district()]
    plan_base = j["indicator"].map(catalog.normalize(cat).set_index("id")["baseline_value"])
    differs = j["baseline_value"].notna() & plan_base.notna() & ((j["baseline_value"] - plan_base).abs() > 0.5)
    for comparator in ("~>=", "maintain"):
        pick = j[(j["comparator"] == comparator) & j["baseline_value"].notna()]
        rec = (pick[differs.loc[pick.index]] if comparator == "~>=" else pick).iloc[0]  # plan figure unlike the data's
        ax = figures.fan_chart_for(paths_, cat, indicator=rec["indicator"], sex=rec["sex"], judgement=ev.series)
        texts = legend_texts(ax)
        base = labels.format_value(rec["baseline_value"], rec["unit"])
        assert f"基线 {int(rec['baseline_year'])}: {base}" in texts, texts
        if comparator == "maintain":
            assert f"保持{int(rec['baseline_year'])}年水平：{base}" in texts
            assert not [t for t in ax.texts if t.get_text() == "方向性目标"]
        plt.close(ax.figure)
