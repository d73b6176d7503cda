"""The embedded synthetic demo panel: determinism, coverage, bounds, consistency, realism markers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fzanalysis import catalog, demo
from fzanalysis.codes import PANEL_KEYS, district
from fzanalysis.panel import check_district_consistency, validate, write_csv

DISTRICT = district()

MOUNTAIN = {"440117107", "440117104"}


@pytest.fixture(scope="module")
def generated() -> pd.DataFrame:
    return demo.generate()


@pytest.fixture(scope="module")
def cat() -> pd.DataFrame:
    return catalog.load().set_index("id")


def test_regeneration_is_byte_identical(generated: pd.DataFrame, tmp_path) -> None:
    out = write_csv(generated, tmp_path / "demo.csv", sort_by=list(PANEL_KEYS))
    assert out.read_bytes() == demo.demo_path().read_bytes(), \
        "data/demo/demo_panel.csv is stale: run `fzanalysis demo --write` and commit it"


def test_seed_changes_data_and_streams_are_per_indicator(generated: pd.DataFrame, cat: pd.DataFrame) -> None:
    some = cat.reset_index().iloc[:4]
    same = demo.generate(catalog=some)
    # each indicator draws from its own stream: a smaller catalogue gives the same rows for its ids
    pd.testing.assert_frame_equal(same, generated[generated["indicator"].isin(some["id"])].reset_index(drop=True))
    other = demo.generate(seed=1, catalog=some)
    assert not other["value"].equals(same["value"])


def test_load_reads_committed_file(generated: pd.DataFrame) -> None:
    loaded = demo.load()
    pd.testing.assert_frame_equal(loaded, generated)


def test_every_row_flagged_synthetic(generated: pd.DataFrame) -> None:
    assert generated["synthetic"].all()
    assert (generated["source"] == demo.SOURCE).all() and demo.SOURCE.startswith("demo:")
    assert generated["note"].str.startswith("demo scenario: ").all()
    scenarios = set(generated["note"].str.removeprefix("demo scenario: "))
    assert scenarios == {"on_track", "at_risk", "reversing", "volatile", "achieved"}


def test_coverage(generated: pd.DataFrame, cat: pd.DataFrame) -> None:
    assert set(generated["indicator"]) == set(cat.index)
    assert generated["year"].min() == 2015 and generated["year"].max() == 2024
    kind_of = _kinds()
    for ind, g in generated.groupby("indicator"):
        dis = cat.at[ind, "disaggregation"]
        kinds = set(filter(None, cat.at[ind, "area_kinds"].split(";"))) or {"street", "town"}
        n_towns = sum(k in kinds for c, k in kind_of.items() if c != DISTRICT)
        assert (g["area"] == DISTRICT).any()
        assert g["area"].nunique() == (1 + n_towns if "area" in dis else 1), ind
        assert set(g["sex"]) == ({"F", "M", "T"} if "sex" in dis else {"T"}), ind


def _kinds() -> dict[str, str]:
    from fzanalysis import gazetteer

    g = gazetteer.load()
    return dict(zip(g["code"], g["kind"], strict=True))


def test_street_only_targets_have_no_town_rows(generated: pd.DataFrame) -> None:
    """街道-only targets (area_kinds: street): the 3 streets and the district, no 镇."""
    streets = {c for c, k in _kinds().items() if k == "street"}
    assert streets == {"440117001", "440117002", "440117003"}
    for ind in ("decision.street_leadership_women", "family.street_family_education_centres"):
        g = generated[generated["indicator"] == ind]
        assert set(g["area"]) == streets | {DISTRICT}, ind
        # the district is the sum over the streets
        towns = g[g["area"] != DISTRICT].groupby("year")["value"].sum()
        dist = g[g["area"] == DISTRICT].set_index("year")["value"]
        full = g[g["area"] != DISTRICT].groupby("year")["area"].nunique() == 3
        pd.testing.assert_series_equal(towns[full], dist[full.index[full]], check_names=False)


def test_values_within_bounds(generated: pd.DataFrame, cat: pd.DataFrame) -> None:
    lo = generated["indicator"].map(cat["lower_bound"])
    hi = generated["indicator"].map(cat["upper_bound"])
    assert (generated["value"] >= lo.fillna(-np.inf)).all()
    assert (generated["value"] <= hi.fillna(np.inf)).all()
    units = catalog.units()
    scale = generated["indicator"].map(cat["unit"]).map(units["scale"])
    proportion = (scale >= 100) & (hi <= scale)
    sub = generated[proportion & generated["numerator"].notna()]
    assert (sub["numerator"] <= sub["denominator"]).all()
    assert (generated["denominator"].dropna() > 0).all()


def test_rates_match_their_counts(generated: pd.DataFrame, cat: pd.DataFrame) -> None:
    units = catalog.units()
    scale = generated["indicator"].map(cat["unit"]).map(units["scale"])
    has = generated["numerator"].notna()
    implied = scale[has] * generated.loc[has, "numerator"] / generated.loc[has, "denominator"]
    assert np.allclose(generated.loc[has, "value"], implied, atol=0.005 + 1e-9)


def test_district_consistent_with_towns(generated: pd.DataFrame) -> None:
    res = check_district_consistency(generated)
    assert len(res) > 300
    assert res["consistent"].all()
    # T rows are F + M counts
    fm = generated[generated["sex"].isin(["F", "M"]) & generated["numerator"].notna()]
    sums = fm.groupby(["indicator", "year", "area"])[["numerator", "denominator"]].sum()
    t = generated[generated["sex"].eq("T")].set_index(["indicator", "year", "area"])
    joined = sums.join(t[["numerator", "denominator"]].add_suffix("_t"), how="inner")
    assert len(joined) > 100
    assert (joined["numerator"] == joined["numerator_t"]).all()


def test_rare_events_are_counts(generated: pd.DataFrame) -> None:
    mm = generated[(generated["indicator"] == "health.maternal_mortality") & (generated["area"] == DISTRICT)]
    assert (mm["numerator"] == mm["numerator"].round()).all()
    assert mm["denominator"].between(4000, 12000).all()  # live births of a ~0.7 million district
    assert (mm["numerator"] == 0).any()  # rare: most years have no death


def test_mountain_towns_lag(generated: pd.DataFrame, cat: pd.DataFrame) -> None:
    ge = cat.index[(cat["unit"] == "percent") & cat["comparator"].isin([">=", "increase"])
                   & cat["disaggregation"].str.contains("area")]
    towns = generated[generated["indicator"].isin(ge) & (generated["area"] != DISTRICT)
                      & (generated["sex"] != "M") & (generated["year"] == 2024)]
    rank = towns.groupby(["indicator", "sex"])["value"].rank(pct=True)
    mountain = rank[towns["area"].isin(MOUNTAIN)].mean()
    others = rank[~towns["area"].isin(MOUNTAIN)].mean()
    assert mountain < 0.35 < others


def test_series_have_realistic_holes(generated: pd.DataFrame) -> None:
    n_years = generated[generated["area"] == DISTRICT].groupby(["indicator", "sex"])["year"].nunique()
    assert (n_years < 10).sum() >= 5
    assert (n_years == 10).sum() >= 40


def test_demo_file_passes_validation() -> None:
    problems = validate([demo.demo_path()])
    errors = [str(p) for p in problems if p.severity == "error"]
    assert errors == []


@pytest.mark.slow
def test_cli_writes_identical_file(tmp_path) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    demo.register_cli(sub)
    out = tmp_path / "d.csv"
    ns = parser.parse_args(["demo", "--write", "-o", str(out)])
    assert ns.func(ns) == 0
    assert out.read_bytes() == demo.demo_path().read_bytes()
