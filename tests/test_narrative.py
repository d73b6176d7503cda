"""Narrative findings: hand-written expected sentences (units, direction words, caveats, NaN)."""
from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from fzanalysis import narrative
from fzanalysis.labels import format_change, format_target, format_value

INSURANCE = {
    "indicator": "social_security.medical_insurance_female", "area": "440117", "sex": "F",
    "subject_sex": "F", "judged": True, "year": 2024, "value": 95.1, "unit": "percent",
    "comparator": ">=", "target": 96.0, "tolerance": math.nan, "status": "not_met", "gap": 0.9,
    "status_note": "interval_clear", "name_zh": "妇女基本医疗保险参保率",
    "name_en": "Basic medical insurance coverage of women", "domain": "social_security",
    "too_wide": False, "pooled_years": "", "previous_year": 2023, "previous_value": 94.8,
    "change_1y": 0.3, "baseline_year": 2020, "baseline_value": 93.9, "change_base": 1.2,
    "projected": 96.4, "proj_lower": 95.2, "proj_upper": 97.3, "probability": 0.72,
    "probability_kind": "meet", "category": "on_track", "target_year": 2030,
}
MATERNAL = {
    "indicator": "health.maternal_mortality", "area": "440117", "sex": "T", "subject_sex": "T",
    "judged": True, "year": 2024, "value": 12.34, "unit": "per_100k_live_births", "comparator": "<",
    "target": 10.0, "status": "not_met", "gap": 2.34, "name_zh": "孕产妇死亡率",
    "name_en": "Maternal mortality ratio", "domain": "health", "too_wide": True,
    "pooled_years": "2022–2024", "previous_year": 2023, "previous_value": 9.0,
    "change_1y": math.nan, "change_base": math.nan, "baseline_year": 2020, "projected": math.nan,
    "category": "insufficient_data", "target_year": 2030,
}


def test_issue_example_sentence_exactly():
    assert narrative.finding(INSURANCE) == (
        "2024年妇女基本医疗保险参保率为95.1%，较上年提高0.3个百分点，较2020年提高1.2个百分点。"
        "规划目标为96%以上，尚差0.9个百分点。按近年趋势，预计2030年达到96.4%（80%区间95.2%–97.3%），"
        "有可能达标（概率72%）。"
    )


def test_english_uses_the_same_facts():
    assert narrative.finding(INSURANCE, lang="en") == (
        "Basic medical insurance coverage of women: 95.1% in 2024, up 0.3 percentage points on the "
        "previous year, up 1.2 percentage points on 2020. The plan's target is at least 96%: 0.9 "
        "percentage points short. On recent trends, it is projected to reach 96.4% in 2030 (80% interval "
        "95.2%–97.3%), possibly meeting the target (probability 72%)."
    )


def test_english_level_fits_a_plural_name():
    """A count's English name is often plural (Domestic-violence shelters, Induced abortions …):
    the level is written '<name>: <value> in <year>', never '<plural name> was <value>'."""
    shelters = {**INSURANCE, "sex": "T", "subject_sex": "T", "name_en": "Domestic-violence shelters", "unit": "count", "value": 0.0,
                "previous_value": 0.0, "change_1y": 0.0, "change_base": 0.0, "target": 1.0, "gap": 1.0}
    text = narrative.finding(shelters, lang="en")
    assert text.startswith("Domestic-violence shelters: 0 in 2024"), text
    assert " was " not in text.split(".")[0]


def test_pooled_small_counts_state_no_single_year_change():
    text = narrative.finding(MATERNAL)
    assert text == ("2024年孕产妇死亡率为12.3/10万（2022–2024年合并计算）。规划目标为10/10万以下，"
                    "尚差2.3/10万。该指标基数小（事件或单位少），当年数值的置信区间宽，不宜比较或排名。")
    assert "较上年" not in text


def test_flat_when_rounded_change_is_zero_and_counts_use_increase_words():
    flat = narrative.finding({**INSURANCE, "value": 95.1, "previous_value": 95.06, "change_1y": 0.04,
                              "projected": math.nan})
    assert "与上年持平" in flat and "提高0.0" not in flat
    count = narrative.finding({**INSURANCE, "unit": "count", "value": 12, "previous_value": 9, "change_1y": 3,
                               "baseline_value": 14, "change_base": -2, "comparator": ">=", "target": 15, "gap": 3,
                               "projected": math.nan})
    assert "较上年增加3个" in count and "较2020年减少2个" in count


def test_slipping_is_one_sentence_not_two_labels():
    row = {**INSURANCE, "status": "met", "value": 96.5, "gap": -0.5, "projected": 95.5,
           "proj_lower": 94.0, "proj_upper": 97.0, "probability": 0.3, "category": "slipping"}
    text = narrative.finding(row)
    # in the category's words (已达标，但按近年趋势预计难以保持), the number beside them
    assert "已达标。" in text and "目前虽已达标，但预计难以保持（达标概率30%）" in text


def test_above_band_floor_is_met_with_note():
    row = {**INSURANCE, "comparator": "~>=", "target": 50.0, "tolerance": 2.0, "value": 60.5,
           "status": "met", "status_note": "above_target_band", "gap": -12.5, "projected": math.nan}
    assert "规划目标为50%左右（不低于48%），已达标（高于目标水平）。" in narrative.finding(row)


def test_nan_safe_and_no_data():
    assert narrative.finding({**INSURANCE, "value": math.nan}) == "2024年妇女基本医疗保险参保率暂无数据。"
    # an indicator with no figure in any year (the national outline's cervical screening) has no year to name
    assert narrative.finding({**INSURANCE, "value": math.nan, "year": math.nan}) == "妇女基本医疗保险参保率暂无数据。"
    assert narrative.finding({**INSURANCE, "value": math.nan, "year": math.nan}, lang="en") == (
        "No data yet for Basic medical insurance coverage of women.")
    text = narrative.finding({**INSURANCE, "change_1y": math.nan, "change_base": math.nan,
                              "proj_lower": math.nan, "probability": math.nan})
    assert "较上年" not in text and "区间" not in text and "概率" not in text


def test_sex_named_only_when_not_the_judged_sex():
    assert "（男）" in narrative.finding({**INSURANCE, "sex": "M"})
    assert "（女）" not in narrative.finding(INSURANCE)


@pytest.mark.parametrize(("p", "kind", "words"), [
    (0.95, "meet", "很可能达标（概率95%）"), (0.8, "meet", "很可能达标（概率80%）"),
    (0.79, "meet", "有可能达标（概率79%）"), (0.5, "meet", "有可能达标（概率50%）"),
    (0.49, "meet", "难以达标（概率49%）"), (0.001, "meet", "难以达标（概率<1%）"),
    (0.9, "direction", "很可能保持所需方向（概率90%）"),
])
def test_probability_words_bands(p, kind, words):
    assert narrative.probability_words(p, kind) == words


def test_unknown_unit_is_written_as_a_plain_number():
    """The one policy for unknown codes (fzanalysis.labels): visible, never a crash."""
    text = narrative.finding({**INSURANCE, "unit": "furlongs", "projected": math.nan})
    assert "95.10" in text and "%" not in text.split("。")[0]


def test_draft_on_a_table_and_towns_prefixed():
    table = pd.DataFrame([INSURANCE, {**INSURANCE, "area": "440117001", "judged": False}])
    d = narrative.draft(table, area_names={"440117001": "街口街道"})
    assert d["text"].iloc[0].startswith("2024年妇女基本医疗保险参保率")
    assert d["text"].iloc[1].startswith("2024年街口街道妇女基本医疗保险参保率")
    with pytest.raises(ValueError, match="lacks column"):
        narrative.draft(table.drop(columns="unit"))


def test_format_helpers():
    assert format_value(95.06, "percent") == "95.1%"
    assert format_change(-0.3, "percent") == "0.3个百分点"
    assert format_target("<", 7.5, "per_100k_live_births") == "7.5/10万以下"
    assert format_target("increase", math.nan, "percent") == "逐步提高"


def test_about_target_outside_band_is_not_called_short():
    row = {**INSURANCE, "comparator": "~=", "target": 50.0, "tolerance": 2.0, "value": 55.0,
           "gap": 3.0, "projected": math.nan}
    assert "偏离目标区间3.0个百分点" in narrative.finding(row)


def test_observed_target_year_is_stated_not_projected():
    """A final evaluation: the target year is observed, so no trend sentence (methods 5 (10))."""
    final = {**INSURANCE, "year": 2030, "value": 96.2, "status": "met", "gap": -0.2,
             "projected": 96.2, "proj_lower": 96.2, "proj_upper": 96.2, "p_meet": 1.0,
             "probability": 1.0, "category": "achieved", "target_year": 2030}
    text = narrative.finding(final)
    assert text.startswith("2030年妇女基本医疗保险参保率为96.2%") and "已达标。" in text
    assert "按近年趋势" not in text and "区间" not in text and "概率" not in text
    # a target year already passed: its published figure, met or not, in words
    passed = {**final, "year": 2032, "value": 97.0, "projected": 95.8, "p_meet": 0.0, "probability": 0.0}
    text = narrative.finding(passed)
    assert "目标年2030年为95.8%，未达到规划目标。" in text and "按近年趋势" not in text
    assert "In the target year 2030 it was 95.8%, short of the plan's target." in narrative.finding(passed, lang="en")
    met = narrative.finding({**passed, "projected": 96.4, "p_meet": 1.0})
    assert "目标年2030年为96.4%，达到规划目标。" in met


def test_published_figures_keep_their_own_digits():
    """An official figure is written as published (99.95%, 80.88岁), never rounded to a value the
    release does not state (100.0%); a computed value keeps the unit's digits."""
    assert format_value(99.95, "percent", published=True) == "99.95%"
    assert format_value(80.88, "years", published=True) == "80.88岁"
    assert format_value(14.3, "per_100k_live_births", published=True) == "14.3/10万"
    assert format_value(24, "percent", published=True) == "24.0%"
    assert format_value(83.27109420362837, "years", published=True) == "83.3岁"
    assert format_value(99.95, "percent") == "100.0%"  # the unit's digits without the flag


def test_national_reference_line_quotes_the_published_figure():
    """全国2023年为99.95%: the national figure beside the plan's own is the release's, digit for digit."""
    row = {**INSURANCE, "reference_area": "100000", "reference_year": 2023, "reference_value": 99.95}
    assert "全国2023年为99.95%" in narrative.finding(row)


def test_a_real_figure_is_written_as_published_in_every_view():
    """The national outline runs on official figures (synthetic False): 妇女人均预期寿命 2020 is
    80.88岁 in the release and in the sentence, the index/Word value and the tables alike; the
    demo panel keeps the unit's digits."""
    from fzanalysis.report import tables

    life = {**INSURANCE, "indicator": "health.life_expectancy", "name_zh": "妇女人均预期寿命",
            "unit": "years", "year": 2020, "value": 80.88, "comparator": "increase",
            "target": math.nan, "change_1y": math.nan, "change_base": math.nan, "projected": math.nan,
            "category": "insufficient_data", "status": "cannot_judge", "verdict": "not_assessable",
            "warnings": "", "synthetic": False}
    assert narrative.finding(life).startswith("2020年妇女人均预期寿命为80.88岁")
    assert tables.target_words(life, report_year=2024)["value"] == "80.88岁（2020年）"
    frame = pd.DataFrame([life, {**life, "synthetic": True}])
    assert tables._values(frame, "value", "zh") == ["80.88岁", "80.9岁"]
    assert narrative.finding({**life, "synthetic": True}).startswith("2020年妇女人均预期寿命为80.9岁")


def test_status_workbook_shows_a_published_figure_with_its_digits():
    """status.xlsx keeps numbers numeric; its number format shows 80.88 as 80.88, not 80.9."""
    from fzanalysis.report import excel

    assert excel.number_format("years", 80.88, published=True) == "0.00"
    assert excel.number_format("years", 80.88) == "0.0"
    assert excel.number_format("percent", 43.4, published=True) == "0.0"
    frame = pd.DataFrame({"unit": ["years", "years"], "value": [80.88, 80.88], "synthetic": [False, True]})
    assert excel._figure_formats(frame, "value") == ["0.00", "0.0"]


def test_interval_whose_ends_print_alike_gets_the_digits_that_tell_them_apart():
    """A projection at 100 % whose 80 % interval starts at 99.989 has p_meet 0.70 for "100%": the
    sentence must not print 80%区间100.0%–100.0% beside 有可能达标（概率70%）; the workbook's cells
    use the same digits. A truly degenerate interval keeps the unit's digits."""
    from fzanalysis.labels import format_range
    from fzanalysis.report import excel

    assert format_range(99.9887, 100.0, "percent") == "99.99%–100.00%"
    assert format_range(99.9887, 100.0, "percent", bare=True) == "99.99–100.00"
    assert format_range(100.0, 100.0, "percent") == "100.0%–100.0%"
    # at most two more digits than the unit's
    assert format_range(99.99999, 100.0, "percent") == "100.000%–100.000%"
    assert format_range(82.66, 83.21, "years") == "82.7–83.2岁"
    at_bound = {**INSURANCE, "value": 100.0, "target": 100.0, "gap": 0.0, "status": "met",
                "projected": 100.0, "proj_lower": 99.9887, "proj_upper": 100.0, "probability": 0.70,
                "category": "achieved"}
    assert "（80%区间99.99%–100.00%）" in narrative.finding(at_bound)
    frame = pd.DataFrame({"unit": ["percent", "percent"], "proj_lower": [99.9887, 95.2],
                          "proj_upper": [100.0, 97.3]})
    assert excel._range_formats(frame) == ["0.00", "0.0"]


def test_unrankable_figure_gets_the_small_counts_caveat_as_on_the_maps():
    """19 deaths: the interval is not too wide to judge, but a rate from fewer than 20 events is
    unrankable (methods 1.5) and the maps draw it 不宜比较; the sentence says so too."""
    row = {**MATERNAL, "too_wide": False, "rankable": False, "status": "cannot_judge"}
    assert narrative.finding(row).endswith("该指标基数小（事件或单位少），当年数值的置信区间宽，不宜比较或排名。")
    assert "不宜比较" not in narrative.finding({**row, "rankable": True})


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_directional_target_is_written_in_the_sentences_words_in_tables(lang):
    """Tables said '提高 ↑' / 'increase ↑' where the sentence said 逐步提高 / 'a rising trend': a
    target without a number is written in one way in every view."""
    for comparator in ("increase", "decrease", "maintain"):
        prose = format_target(comparator, math.nan, "percent", lang=lang)
        assert format_target(comparator, math.nan, "percent", lang=lang, style="symbol") == prose
        assert not set(prose) & set("↑↓→")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_direction_is_told_from_the_trend_line_its_probability_is_about(lang):
    # 22.4 observed, the trend line at 25.6 today, 25.0 projected, P(above the line) 0.49: a fall
    # from the line, a rise from the last figure; the sentence gives both starting points, so no
    # verb of movement (降至 after 22.4% read as a contradiction, a reader's finding)
    row = {**INSURANCE, "comparator": "increase", "target": math.nan, "status": "met", "gap": math.nan,
           "status_note": "", "value": 22.42, "trend_level": 25.6, "projected": 25.05,
           "proj_lower": 20.9, "proj_upper": 29.7, "probability": 0.49, "probability_kind": "direction",
           "p_direction": 0.49, "category": "deterioration"}
    text = narrative.finding(row, lang=lang)
    if lang == "zh":
        assert "按近年趋势（趋势线2024年为25.6%），预计2030年为25.1%" in text
        assert "达到25.1%" not in text and "降至25.1%" not in text
    else:
        assert "the trend line stands at 25.6% in 2024" in text and "projected at 25.1%" in text
    # the figure and the line on the same side: the verb both agree on
    down = narrative.finding({**row, "value": 26.0}, lang=lang)
    assert ("预计2030年降至25.1%" in down) if lang == "zh" else ("fall to 25.1%" in down)
    # the line where the figure is: no second number, the verb as before
    same = narrative.finding({**row, "trend_level": 22.4, "projected": 25.05}, lang=lang)
    assert "趋势线" not in same and "trend line" not in same
    assert ("达到25.1%" in same) if lang == "zh" else ("reach 25.1%" in same)
    # the line elsewhere but the same move from both: the line is still named, or 29.3% observed,
    # a line at 33.3% and 33.9% projected read as a 4.6-point recovery (a reader's finding)
    both_up = narrative.finding({**row, "value": 24.0, "projected": 27.0}, lang=lang)
    assert ("趋势线2024年为25.6%" in both_up) if lang == "zh" else ("trend line stands at 25.6%" in both_up)
    # a line that starts at a turn says so
    turned = narrative.finding({**row, "turn_year": 2021}, lang=lang)
    assert ("2021年起趋势转向，按2021年以来的数据，趋势线2024年为25.6%" in turned) if lang == "zh" \
        else ("the trend turned in 2021" in turned)
    # a numeric target is told the same way: its category measures the move from the line too
    # (a flat trend with a last figure above it was 倒退 beside 预计降至)
    numeric = narrative.finding({**INSURANCE, "trend_level": 97.0}, lang=lang)
    assert ("趋势线2024年为97.0%" in numeric) if lang == "zh" else ("trend line stands at 97.0%" in numeric)
    level = narrative.finding({**INSURANCE, "trend_level": INSURANCE["value"]}, lang=lang)
    assert "趋势线" not in level and "trend line" not in level


def test_the_table_and_the_sentence_write_one_interval_with_one_formatter():
    """The headline table and the sentence both write the projection interval through
    labels.format_range: the same digits, the unit once in the table, on the ends in the text."""
    from fzanalysis.labels import format_range
    from fzanalysis.report import tables

    row = {**INSURANCE, "unit": "years", "value": 83.0, "comparator": "maintain", "target": math.nan,
           "projected": 83.04, "proj_lower": 82.66, "proj_upper": 83.21}
    assert tables.projection_text(row) == "83.0岁 (82.7–83.2)"
    assert "（80%区间82.7–83.2岁）" in narrative.finding(row)
    assert format_range(82.66, 83.21, "years", bare=True) == "82.7–83.2"
    assert format_range(37.84, 58.66, "percent", lang="en") == "37.8%–58.7%"


RETENTION = {**INSURANCE, "indicator": "education.compulsory_retention", "name_zh": "九年义务教育巩固率",
             "name_en": "Nine-year compulsory education retention rate", "sex": "T", "subject_sex": "T",
             "value": 97.19, "target": 98.35, "gap": 1.16, "change_1y": math.nan, "change_base": math.nan}


def test_a_target_is_written_with_the_digits_the_plan_gives_it():
    """不低于98.35% (plan 二（二）主要目标5) was printed 98.4% in every view: a target keeps its own
    digits (more than the unit's when it has more), and a round one stays round."""
    from fzanalysis.report import excel, tables

    assert format_target(">=", 98.35, "percent") == "98.35%以上"
    assert format_target(">=", 98.35, "percent", style="symbol") == "≥ 98.35%"
    assert format_target(">=", 98.35, "percent", lang="en") == "at least 98.35%"
    assert format_target(">=", 95, "percent") == "95%以上"  # round targets as the plan writes them
    assert format_target(">=", 0.5, "percent", style="symbol") == "≥ 0.5%"
    row = {**RETENTION, "tolerance": math.nan, "category": "on_track", "verdict": "largely_achieved",
           "warnings": "", "synthetic": True}
    assert tables.target_words(row)["target"] == "≥ 98.35%"  # index, Word appendix, crosscheck
    sheet = excel.status_sheet(pd.DataFrame([{**row, "clause": "二（二）主要目标5", "year": 2024, "baseline_year": 2020,
                                              "baseline_value": 97.28, "proj_lower": 96.0, "proj_upper": 99.0}]))
    assert sheet.loc[0, "目标"] == "≥ 98.35%"  # status.xlsx 状态!I


def test_the_gap_is_the_difference_of_the_printed_value_and_target():
    """97.19% against 98.35% prints 97.2% and 98.35%: 尚差1.15个百分点 (was 1.2, from 1.16); 75.75%
    against 80% prints 75.8% and 80%: 尚差4.2个百分点 (was 4.3, from 4.25)."""
    text = narrative.finding(RETENTION)
    assert "为97.2%" in text and "规划目标为98.35%以上，尚差1.15个百分点。" in text, text
    prenatal = {**INSURANCE, "value": 75.75, "target": 80.0, "gap": 4.25}
    assert "规划目标为80%以上，尚差4.2个百分点。" in narrative.finding(prenatal)
    # a band's gap runs to the edge the target names (45%左右（不低于43%）)
    band = {**INSURANCE, "comparator": "~>=", "target": 45.0, "tolerance": 2.0, "value": 41.04, "gap": 1.96}
    assert "尚差2.0个百分点" in narrative.finding(band)


@pytest.fixture(scope="module")
def counted():
    """The demo's 2024 judgement and assessment: rows of the count indicators, with their words."""
    from fzanalysis import assess, catalog, demo, evaluate

    cat = catalog.load()
    ev = evaluate(demo.load(), cat, year=2024)
    return ev.series, assess(demo.load(), cat, year=2024)


ADVERTS, LEADERS, ABORTIONS = ("health.reproductive_health_adverts", "decision.street_leadership_women",
                               "family.unmarried_abortions")


def test_a_count_is_written_in_the_indicators_counting_word(counted):
    """The plan counts adverts in 条 (不少于10条) and women leaders in 名 (至少配备1名): the
    sentence and the tables write 10条, 1名, never 10个; abortions are cases (例); a count with no word
    of its own keeps 个."""
    from fzanalysis import labels
    from fzanalysis.report import tables

    series, assessed = counted
    judged = series[series["judged"]].set_index("indicator")
    ads = judged.loc[ADVERTS].to_dict()
    assert labels.unit_word(ads) == "条"
    sentence = narrative.finding(ads)
    assert "条" in sentence and "个" not in sentence, sentence
    assert "10条以上" in sentence
    words = tables.target_words(ads)
    assert words["target"] == "≥ 10条" and words["value"].endswith("条"), words
    table = tables.evaluation_table(series[series["judged"]])
    row = table[table["name"] == ads["name_zh"]].iloc[0]
    assert row["target"] == "≥ 10条" and row["value"].endswith("条")
    assert "个" not in "".join(map(str, row.to_numpy()))
    # a person count: 名, in the sentence and in the town table (judged per subdistrict)
    leaders = judged.loc[LEADERS].to_dict()
    assert labels.unit_word(leaders) == "名"
    said = narrative.finding(leaders)
    # 个 counts only the streets (3个街道, 每个街道), never the leaders
    assert "1名以上" in said and not re.search(r"\d+个(?!街道)", said.replace("每个", "")), said
    towns = assessed[(assessed["indicator"] == LEADERS) & (assessed["area"] != "440117")
                     & assessed["value"].notna() & (assessed["status"] != "not_applicable")]
    shown = tables.town_table(towns)
    assert len(shown) and (shown["target"] == "≥ 1名").all() and shown["value"].str.endswith("名").all()
    # cases in 例, as health statistics count procedures (the catalogue's word, the plan gives none)
    abortions = judged.loc[ABORTIONS].to_dict()
    assert labels.unit_word(abortions) == "例"
    assert tables.target_words(abortions)["value"].endswith("例")
    assert "例" in narrative.finding(abortions) and "个" not in narrative.finding(abortions)
    # a count with no word of its own keeps the unit's 个 (shelters)
    shelters = judged.loc["law.domestic_violence_shelters"].to_dict()
    assert labels.unit_word(shelters) == "个" and tables.target_words(shelters)["value"].endswith("个")
    # English has no counting word: the bare number, as before
    en = narrative.finding(ads, lang="en")
    assert "at least 10" in en and "条" not in en and "个" not in en


def test_the_template_and_the_messages_quote_a_count_in_its_word(tmp_path):
    """The submission template's unit cell, target and prompt, and the message of a fractional
    count, name the indicator's own word (名, 条/年); a count without one keeps 个."""
    import openpyxl

    from fzanalysis import labels
    from fzanalysis.panel import template

    ws = openpyxl.load_workbook(template("组织部", 2025, tmp_path / "t.xlsx"))["数据填报"]
    head = [c.value for c in ws[1]]
    rows = [r for r in range(3, ws.max_row + 1) if ws.cell(r, 1).value == LEADERS]
    assert rows
    for r in rows:
        assert ws.cell(r, head.index("unit_label") + 1).value == "数量（名）"
        assert ws.cell(r, head.index("target_label") + 1).value == "≥ 1名"
    ws = openpyxl.load_workbook(template("宣传部", 2025, tmp_path / "a.xlsx"))["数据填报"]
    r = next(r for r in range(3, ws.max_row + 1) if ws.cell(r, 1).value == ADVERTS)
    assert ws.cell(r, head.index("unit_label") + 1).value == "每年数量（条/年）"
    assert labels.unit_label("count_per_year") == "个/年" and labels.unit_label("count") == "个"
    from fzanalysis.panel.problems import Problem

    values = (("found", "2.5"), ("unit", "count_per_year"), ("indicator", ADVERTS), ("thousands", None))
    msg = Problem(file="a.xlsx", sheet=None, row=3, column="value", severity="error", code="value_not_whole",
                  values=values).explain("zh").message
    assert "条/年" in msg and "个" not in msg, msg


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_gap_widens_or_narrows(lang):
    """两性家务劳动时间差距 '较上年提高4分钟/日': a gap (缩小 target) is said to widen or narrow,
    where both figures lie on one side of its parity point; a gap that crosses it is a change."""
    row = {"indicator": "x", "name_zh": "两性家务劳动时间差距", "name_en": "Housework gap",
           "unit": "minutes_per_day", "comparator": "narrow", "target": 0.0, "sex": "T",
           "year": 2024, "value": 98.0, "previous_year": 2023, "previous_value": 94.0, "change_1y": 4.0,
           "baseline_year": 2020, "baseline_value": 101.0, "change_base": -3.0,
           "status": "cannot_judge"}
    text = narrative.finding(row, lang=lang)
    if lang == "zh":
        assert "较上年扩大4分钟/日" in text and "较2020年缩小3分钟/日" in text and "提高" not in text
    else:
        assert "wider than the previous year" in text and "narrower than in 2020" in text
    crossed = narrative.finding({**row, "previous_value": -2.0, "change_1y": 100.0}, lang=lang)
    assert ("较上年提高" in crossed) if lang == "zh" else (", up " in crossed)


@pytest.mark.parametrize(("comparator", "status", "note", "words"), [
    ("maintain", "met", "no_significant_decline", "规划目标为保持稳定，最近5年无显著下降，已达标。"),
    ("maintain", "not_met", "significant_decline", "规划目标为保持稳定，最近5年显著下降，尚未达标。"),
    ("increase", "met", "trend_significant", "规划目标为逐步提高，最近5年趋势朝要求方向且显著，已达标。"),
    ("increase", "not_met", "trend_significant", "规划目标为逐步提高，最近5年趋势朝相反方向且显著，尚未达标。"),
    ("increase", "cannot_judge", "trend_not_significant", "规划目标为逐步提高，最近5年趋势不显著，目前尚不能判断是否达标。"),
])
def test_a_target_without_a_number_says_what_decided_it(comparator, status, note, words):
    """A fall of 2.1 points was 已达标 and one of 0.8 未达标 under 保持稳定, with no word of why: the
    trend test decides (methods 2.4), and the sentence says its outcome."""
    row = {**INSURANCE, "comparator": comparator, "target": math.nan, "status": status, "status_note": note,
           "gap": math.nan}
    assert words in narrative.finding(row), narrative.finding(row)
    # a numeric target has no such clause
    assert "最近" not in narrative.finding(INSURANCE).split("按近年趋势")[0]


def test_the_method_note_says_what_the_engine_does(monkeypatch):
    """The paragraph naming the model (HTML projections chapter, Word warnings section) reads its
    numbers from data/trend.yaml: a changed clamp or window changes the words, never a stale copy."""
    from fzanalysis import narrative
    from fzanalysis.trend import prep

    base = prep.settings()
    text = narrative.method_note()
    assert "最近8年" in text and "φ=0.8" in text and "6%–94%" in text and "概率6%" in text
    changed = {**base, "window": 10, "probability_temper": {**base["probability_temper"], "epsilon": 0.05}}
    monkeypatch.setattr(prep, "settings", lambda: changed)
    text = narrative.method_note()
    assert "最近10年" in text and "5%–95%" in text
    assert "t distribution" in narrative.method_note("en")
