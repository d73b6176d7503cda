"""Official reference figures: schema, citations, plan-to-catalogue mapping (data/reference)."""
from __future__ import annotations

import importlib.util

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
    assert ref["source"].str.contains("read in a copy at http").all()
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


@pytest.mark.parametrize("indicator,year,value", [
    ("health.maternal_mortality", 2024, 14.3),
])
def test_known_published_figures(indicator, year, value):
    ref = reference.load()
    row = ref[(ref["indicator"] == indicator) & (ref["year"] == year) & (ref["area"] == "100000")]
    assert row["value"].tolist() == [value]
