"""Official reference figures: schema, citations, plan-to-catalogue mapping (data/reference)."""
from __future__ import annotations

import importlib.util
import re

import pandas as pd
import pytest

from fzanalysis import catalog, plan, reference
from fzanalysis.paths import data_path


def test_reference_files_pass_their_checks():
    """data/reference/check.py: sources complete, ids known, units known, no duplicate figure,
    conghua ids exist, the national catalogue has the Conghua catalogue's keys."""
    spec = importlib.util.spec_from_file_location("reference_check", data_path("reference", "check.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.check() == []


def test_every_figure_carries_a_complete_citation():
    ref = reference.load()
    src = reference.sources().set_index("source_id")
    assert len(ref) >= 100 and not ref["synthetic"].any()
    for col in ("publisher", "title", "date", "read_at"):
        assert (src.loc[ref["source_id"], col].str.strip() != "").all(), col
    assert ref["locator"].str.strip().ne("").all()
    # the citation is the official release; the copy read is provenance, in its own column
    assert ref["read_at"].str.startswith("http").all()
    assert not ref["source"].str.contains("http|read in", regex=True).any()
    assert not ref["source_en"].str.contains("http|read in", regex=True).any()
    # a Chinese citation is Chinese throughout (its locator too: no "digest", "dispatch")
    assert not ref["source"].str.contains(r"[A-Za-z]", regex=True).any(), \
        ref.loc[ref["source"].str.contains(r"[A-Za-z]", regex=True), "source"].tolist()[:3]
    assert pd.to_datetime(src["date"], format="%Y-%m-%d").notna().all()


def test_reference_panel_passes_the_panel_rules_and_maps_to_the_plans():
    ref = reference.load(plan_ids=True)
    cat = reference.catalog().set_index("id")
    conghua = set(catalog.load()["id"])
    mapped = cat[cat["conghua_id"] != ""]
    assert len(mapped) >= 10
    assert (mapped.index == mapped["conghua_id"]).all() and set(mapped.index) <= conghua
    china = plan.load("china").catalog()
    assert set(china["id"]) & set(ref["indicator"]), "the national plan's targets have figures"


@pytest.mark.parametrize("indicator,year,area,sex,value", [
    # each checked against the release's text (audit of 2026-12, data/reference/README.md)
    ("health.maternal_mortality", 2024, "100000", "T", 14.3),
    ("ref.maternal_mortality_rural", 2024, "100000", "T", 15.9),
    ("ref.maternal_mortality_urban", 2024, "100000", "T", 12.5),
    ("health.maternal_system_management", 2024, "100000", "T", 94.9),
    ("health.premarital_checkup", 2022, "100000", "T", 74.8),
    ("health.hospital_delivery", 2023, "100000", "T", 99.95),
    ("health.life_expectancy", 2020, "100000", "F", 80.88),
    ("health.life_expectancy", 2015, "100000", "T", 76.34),
    ("economy.employment_female_share", 2024, "100000", "T", 43.4),
    ("economy.urban_employment_female_share", 2021, "100000", "T", 40.3),
    ("ref.postgraduate_female_share", 2022, "100000", "T", 51.2),
    ("ref.illiteracy_rate", 2020, "100000", "F", 4.1),
    ("ref.national_npc_deputies_female_share", 2018, "100000", "T", 24.9),
])
def test_known_published_figures(indicator, year, area, sex, value):
    ref = reference.load()
    row = ref[(ref["indicator"] == indicator) & (ref["year"] == year) & (ref["area"] == area)
              & (ref["sex"] == sex)]
    assert row["value"].tolist() == [value]


def test_provenance_names_the_copy_each_figure_was_read_in():
    """A figure read in a digest other than the source's usual copy (the note's ``read in …: <url>``)
    has that copy as its ``read_at``: the HIV transmission rate of 2024 stands in the summary, not in
    the opening of the full-text reprint that ``sources.csv`` names.  The citation a report prints
    is the official release (the Word report's 资料来源 printed reprint and digest addresses, and
    English words, before)."""
    ref = reference.load()
    hiv = ref[(ref["indicator"] == "health.hiv_mother_to_child_transmission") & (ref["year"] == 2024)]
    assert hiv["read_at"].iloc[0] == "https://reportify.cn/news/1203319998576201728"
    mmr = ref[(ref["indicator"] == "health.maternal_mortality") & (ref["year"] == 2024)]
    assert mmr["read_at"].iloc[0] == "http://bestofkualalumpur.com/xw/tjsj/1618682.html"
    assert mmr["source"].iloc[0].startswith("国家统计局《2024年〈中国妇女发展纲要（2021—2030年）〉统计监测报告》（2025-12-30），")


_CJK = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"


def test_every_figure_has_an_english_locator_without_chinese():
    """The English Word report's sources list read '新华社 dispatch 第2段': the locator is data, and
    every figure has its English form (``locator_en``), from which ``source_en`` cites."""
    raw = pd.read_csv(data_path("reference", "panel.csv"), dtype=str, keep_default_na=False)
    assert raw["locator_en"].str.strip().ne("").all()
    assert not raw["locator_en"].str.contains(_CJK).any(), raw.loc[raw["locator_en"].str.contains(_CJK), "locator_en"]
    keys = ["indicator", "year", "area", "sex", "source_id"]
    ref = reference.load().astype({"year": str}).merge(raw[[*keys, "locator_en"]], on=keys, validate="1:1")
    assert len(ref) == len(raw)
    for zh, en, loc_zh, loc_en in zip(ref["source"], ref["source_en"], ref["locator"], ref["locator_en"], strict=True):
        assert zh.endswith(f"，{loc_zh}") and en.endswith(f", {loc_en}")
        # the English citation is English throughout: publisher, title and locator (sources.csv *_en)
        assert not re.search(_CJK, en), en


def test_every_source_has_an_english_publisher_and_title():
    """The English sources list cited 国家统计局《…》 beside English locators."""
    src = pd.read_csv(data_path("reference", "sources.csv"), dtype=str, keep_default_na=False)
    for col in ("publisher_en", "title_en"):
        assert src[col].str.strip().ne("").all(), col
        assert not src[col].str.contains(_CJK).any(), src.loc[src[col].str.contains(_CJK), col]
    first = src.set_index("source_id").loc["nbs_w2024"]
    assert reference.citation(first, "part I (1)", lang="en").startswith(
        "National Bureau of Statistics of China, Statistical Monitoring Report on the Outline for the Development of "
        "Chinese Women (2021–2030), 2024 (2025-12-30), part I (1)")
