"""Narrative drafts: hand-written expected sentences (units, direction words, caveats, NaN)."""
from __future__ import annotations

import math

import pandas as pd

from fzanalysis import narrative

INSURANCE = {
    "indicator": "social_security.medical_insurance", "area": "440117", "sex": "T", "year": 2024,
    "value": 95.1, "unit": "percent", "comparator": ">=", "target": 95.0, "status": "met", "gap": -0.1,
    "name_zh": "妇女基本医疗保险参保率", "name_en": "Women's basic medical insurance coverage",
    "domain": "social_security", "too_wide": False, "pooled_years": "",
}
PROJ = {"projected": 96.4, "lower": 95.2, "upper": 97.3, "p_meet": 0.72}
MATERNAL = {
    "indicator": "health.maternal_mortality", "area": "440117", "sex": "T", "year": 2024,
    "value": 12.34, "unit": "per_100k_live_births", "comparator": "<", "target": 10.0,
    "status": "not_met", "gap": 2.34, "name_zh": "孕产妇死亡率", "name_en": "Maternal mortality ratio",
    "domain": "health", "too_wide": True, "pooled_years": "2022–2024",
}


def test_issue_example_sentence_exactly():
    text = narrative.indicator_sentence(INSURANCE, previous=94.8, projection=PROJ, include_target=False)
    assert text == (
        "2024年妇女基本医疗保险参保率为95.1%，较上年提高0.3个百分点；按当前趋势，"
        "预计2030年达到96.4%（80%区间95.2%–97.3%），达标概率72%。"
    )


def test_target_clause_met_and_english():
    zh = narrative.indicator_sentence(INSURANCE, previous=94.8, projection=PROJ)
    assert zh.endswith("达标概率72%。规划目标为95%以上，已达标。")
    en = narrative.indicator_sentence(INSURANCE, previous=94.8, projection=PROJ, lang="en")
    assert en == (
        "Women's basic medical insurance coverage was 95.1% in 2024, up 0.3 percentage points on the "
        "previous year; on current trends it is projected to reach 96.4% in 2030 (80% interval "
        "95.2%–97.3%), with a 72% probability of meeting the target. The plan's target is at least 95%: met."
    )


def test_rate_per_100k_decrease_small_counts_and_pooling():
    text = narrative.indicator_sentence(
        MATERNAL, previous=14.0, projection={"projected": 9.1, "lower": 3.2, "upper": 20.5, "p_meet": 0.55}
    )
    assert text == (
        "2024年孕产妇死亡率为12.3/10万（2022–2024年合并计算），较上年下降1.7/10万；按当前趋势，"
        "预计2030年降至9.1/10万（80%区间3.2–20.5/10万），达标概率55%。"
        "规划目标为10/10万以下，尚差2.3/10万。该指标基于小数，数值波动大，不宜排名。"
    )


def test_flat_when_rounded_change_is_zero_and_counts_use_increase_words():
    flat = narrative.indicator_sentence(INSURANCE, previous=95.08, include_target=False)
    assert flat == "2024年妇女基本医疗保险参保率为95.1%，与上年持平。"
    count_row = {**INSURANCE, "unit": "count", "value": 12.0, "name_zh": "妇女儿童服务中心数",
                 "comparator": "increase", "target": math.nan, "status": "cannot_judge"}
    text = narrative.indicator_sentence(count_row, previous=10.0)
    assert text == "2024年妇女儿童服务中心数为12个，较上年增加2个。规划目标为逐步提高，目前尚不能判断是否达标。"


def test_nan_safe():
    assert narrative.indicator_sentence({**INSURANCE, "value": math.nan}) == "2024年妇女基本医疗保险参保率暂无数据。"
    assert narrative.indicator_sentence({**INSURANCE, "value": None}, lang="en") == (
        "No data for Women's basic medical insurance coverage in 2024."
    )
    # NaN previous value, NaN interval and NaN probability are left out, not printed as "nan"
    text = narrative.indicator_sentence(
        INSURANCE, previous=math.nan,
        projection={"projected": 96.4, "lower": math.nan, "upper": math.nan, "p_meet": math.nan},
        include_target=False,
    )
    assert text == "2024年妇女基本医疗保险参保率为95.1%；按当前趋势，预计2030年达到96.4%。"
    assert "nan" not in text.lower()


def test_sex_and_probability_extremes():
    row = {**INSURANCE, "sex": "M"}
    text = narrative.indicator_sentence(row, projection={**PROJ, "p_meet": 0.999}, include_target=False)
    assert text.startswith("2024年妇女基本医疗保险参保率（男）为95.1%")
    assert text.endswith("达标概率>99%。")


def test_unknown_unit_is_written_as_a_plain_number():
    """The one policy for unknown codes (fzanalysis.labels): visible, never a crash."""
    text = narrative.indicator_sentence({**INSURANCE, "unit": "furlongs"})
    assert "95.10" in text and "%" not in text.split("，")[0]


def test_draft_joins_previous_year_and_projection():
    assessed = pd.DataFrame([INSURANCE, MATERNAL])
    projected = pd.DataFrame([
        {"indicator": INSURANCE["indicator"], "area": "440117", "sex": "T", **PROJ},
    ])
    panel = pd.DataFrame({
        "indicator": [INSURANCE["indicator"]] * 2 + [MATERNAL["indicator"]],
        "year": [2023, 2024, 2023], "area": ["440117"] * 3, "sex": ["T"] * 3,
        "value": [94.8, 95.1, 14.0],
    })
    out = narrative.draft(assessed, projected, panel=panel, include_target=False)
    assert list(out.columns) == ["indicator", "area", "sex", "domain", "text"]
    assert out["text"].iloc[0].startswith("2024年妇女基本医疗保险参保率为95.1%，较上年提高0.3个百分点；")
    assert out["text"].iloc[1] == (
        "2024年孕产妇死亡率为12.3/10万（2022–2024年合并计算），较上年下降1.7/10万。该指标基于小数，数值波动大，不宜排名。"
    )
    md = narrative.as_markdown(out)
    assert md.count("\n- ") == 1 and md.startswith("- 2024年")


def test_format_helpers():
    assert narrative.format_value(80.24, "years") == "80.2岁"
    assert narrative.format_value(80.25, "years", lang="en") == "80.3 years"  # half away from zero
    assert narrative.format_change(-0.34, "percent") == "0.3个百分点"
    assert narrative.format_target("~=", 50, "percent") == "50%左右"
    assert narrative.format_value(math.nan, "percent") == "—"


def test_about_target_outside_band_is_not_called_short():
    row = {**INSURANCE, "value": 60.5, "comparator": "~=", "target": 50.0, "status": "not_met", "gap": 8.5,
           "name_zh": "社区居委会成员中女性比例"}
    text = narrative.indicator_sentence(row)
    assert text == "2024年社区居委会成员中女性比例为60.5%。规划目标为50%左右，偏离目标区间8.5个百分点。"
