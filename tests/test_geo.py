"""Tests of fzanalysis.geo: coordinates, outline, town polygons, join and maps."""
from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from fzanalysis import geo
from fzanalysis.exceptions import GazetteerError, PlotError
from fzanalysis.labels import label
from fzanalysis.paths import data_path

TOWNS = ["440117001", "440117002", "440117003", "440117103", "440117104", "440117107",
         "440117111", "440117113"]
ASSESS_COLUMNS = [
    "indicator", "area", "sex", "year", "value", "lower", "upper", "numerator", "denominator",
    "pooled_years", "interval_method", "too_wide", "unit", "comparator", "target", "tolerance",
    "gap", "status", "baseline_year", "baseline_value", "cagr_observed", "cagr_required",
    "pace_ratio", "category", "verdict_zh", "verdict_en", "domain", "name_zh", "name_en",
    "synthetic"]
PROJECT_COLUMNS = [
    "indicator", "area", "sex", "method", "n_points", "last_year", "last_value", "projected",
    "lower", "upper", "p_meet", "pace_observed", "pace_required", "year_reached", "warnings"]
INDICATORS = [
    ("health.cervical_screening", "health", "宫颈癌筛查率", "Cervical cancer screening rate",
     "percent", ">=", 70.0),
    ("health.maternal_mortality", "health", "孕产妇死亡率", "Maternal mortality ratio",
     "per_100k_live_births", "<=", 12.0),
    ("health.hospital_delivery", "health", "住院分娩率", "Hospital delivery rate",
     "percent", ">=", 99.0),
    ("social_security.medical_insurance", "social_security", "城乡居民基本医疗保险参保率",
     "Basic medical insurance coverage", "percent", ">=", 95.0),
]


def assessed(*, missing: tuple[str, ...] = (), synthetic: bool = True, seed: int = 1) -> pd.DataFrame:
    """Synthetic assessment rows with exactly the columns of docs/design.md."""
    rng = np.random.default_rng(seed)
    cats = ["achieved", "on_track", "acceleration_needed", "limited_progress", "deterioration"]
    rows = []
    for ind, dom, zh, en, unit, comp, tgt in INDICATORS:
        for area in ["440117", *TOWNS]:
            if area in missing:
                continue
            v = round(float(rng.uniform(40, 100) if unit == "percent" else rng.uniform(5, 25)), 1)
            gap = tgt - v if comp == ">=" else v - tgt
            rows.append({
                "indicator": ind, "area": area, "sex": "T", "year": 2024, "value": v,
                "lower": v - 2, "upper": v + 2, "numerator": np.nan, "denominator": np.nan,
                "pooled_years": 1, "interval_method": "wilson", "too_wide": False, "unit": unit,
                "comparator": comp, "target": tgt, "tolerance": np.nan, "gap": gap,
                "status": "met" if gap <= 0 else "not_met", "baseline_year": 2020,
                "baseline_value": v - 3, "cagr_observed": 0.01, "cagr_required": 0.02,
                "pace_ratio": 0.5, "category": cats[int(rng.integers(0, 5))], "verdict_zh": "",
                "verdict_en": "", "domain": dom, "name_zh": zh, "name_en": en,
                "synthetic": synthetic})
    return pd.DataFrame(rows, columns=ASSESS_COLUMNS)


def projected(seed: int = 2) -> pd.DataFrame:
    """Synthetic projection rows with exactly the columns of docs/design.md."""
    rng = np.random.default_rng(seed)
    rows = [{"indicator": "social_security.medical_insurance", "area": a, "sex": "T",
             "method": "ols", "n_points": 6, "last_year": 2024, "last_value": 90.0,
             "projected": 93.0, "lower": 90.0, "upper": 96.0, "p_meet": float(p),
             "pace_observed": 0.5, "pace_required": 0.6, "year_reached": np.nan, "warnings": ""}
            for a, p in zip(TOWNS, rng.uniform(0, 1, len(TOWNS)))]
    return pd.DataFrame(rows, columns=PROJECT_COLUMNS)


def render(fig: plt.Figure, path: Path) -> list[str]:
    """Save at report size; return any missing-glyph warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(path, dpi=100)
    plt.close(fig)
    assert path.stat().st_size > 10_000
    return [str(w.message) for w in caught if "glyph" in str(w.message).lower()
            or "missing from" in str(w.message).lower()]


def texts(ax: plt.Axes, gid: str) -> list[str]:
    return [t.get_text() for t in ax.figure.findobj(matplotlib.text.Text) if t.get_gid() == gid]


def legend_texts(ax: plt.Axes) -> list[str]:
    leg = ax.get_legend()
    return [] if leg is None else [t.get_text() for t in leg.get_texts()]


@pytest.fixture
def data_copy(tmp_path, monkeypatch) -> Path:
    """A private data/ folder (FZANALYSIS_DATA) so a user's towns.geojson never interferes."""
    root = tmp_path / "data"
    (root / "geo").mkdir(parents=True)
    for name in ("towns.csv", "units.csv", "domains.csv", "colours.yaml"):
        shutil.copy(data_path(name), root / name)
    shutil.copytree(data_path("labels"), root / "labels")
    shutil.copytree(data_path("plans"), root / "plans")
    for name in ("conghua_outline.geojson", "towns_schematic.geojson", "tiles.yaml"):
        shutil.copy(data_path("geo", name), root / "geo" / name)
    monkeypatch.setenv("FZANALYSIS_DATA", str(root))
    monkeypatch.delenv("FZANALYSIS_TIANDITU_KEY", raising=False)
    return root


# ---------------------------------------------------------------- coordinates
@settings(max_examples=200, deadline=None)
@given(st.floats(73.5, 135.0), st.floats(18.0, 53.5))
def test_gcj02_round_trip(lon, lat):
    g_lon, g_lat = geo.wgs84_to_gcj02(lon, lat)
    w_lon, w_lat = geo.gcj02_to_wgs84(g_lon, g_lat)
    assert abs(w_lon - lon) < 1e-8 and abs(w_lat - lat) < 1e-8


def test_gcj02_offset_size_and_outside_china():
    # Around Guangzhou GCJ-02 shifts positions by a few hundred metres (east and south).
    g_lon, g_lat = geo.wgs84_to_gcj02(113.59, 23.55)
    dx = (g_lon - 113.59) * 111_320 * np.cos(np.radians(23.55))
    dy = (g_lat - 23.55) * 110_574
    assert 300 < np.hypot(dx, dy) < 800
    assert dx > 0 and dy < 0
    lon, lat = geo.wgs84_to_gcj02([2.35, -0.1], [48.85, 51.5])  # Paris, London: unchanged
    assert np.allclose(lon, [2.35, -0.1]) and np.allclose(lat, [48.85, 51.5])


# ---------------------------------------------------------------- outline
def test_outline_area_and_known_points():
    outline = geo.load_outline()
    assert outline.crs.to_epsg() == 4326
    shape = outline.geometry.iloc[0]
    assert shape.is_valid
    area = geo.area_km2(outline).iloc[0]
    assert 1960 < area < 2000  # published figures: 1974.5 – 1985 km²
    seats = pd.read_csv(data_path("towns.csv"), dtype={"code": str})
    for _, s in seats.iterrows():
        assert shape.contains(shapely.Point(s["seat_lon"], s["seat_lat"])), s["code"]
    assert shape.contains(shapely.Point(113.59, 23.55))  # 街口, the district seat


def test_shipped_outline_is_the_converted_source():
    rebuilt = geo.outline_from_source()
    shipped = geo.load_outline()
    a = rebuilt.to_crs(geo.EQUAL_AREA_CRS).geometry.iloc[0]
    b = shipped.to_crs(geo.EQUAL_AREA_CRS).geometry.iloc[0]
    assert a.hausdorff_distance(b) < 1.0  # metres (file rounded to 1e-6 degrees)
    raw = gpd.read_file(data_path(*geo.OUTLINE_SOURCE)).set_crs(4326, allow_override=True)
    shift = raw.to_crs(geo.EQUAL_AREA_CRS).geometry.iloc[0].centroid.distance(b.centroid)
    assert 400 < shift < 800  # the GCJ-02 offset was removed


# ---------------------------------------------------------------- town polygons
def test_schematic_towns_tile_the_district(data_copy):
    towns = geo.load_towns()
    assert towns.attrs["schematic"] is True
    assert list(towns["code"]) == TOWNS
    assert towns["name_zh"].iloc[0] == "街口街道"
    outline = geo.load_outline()
    total = geo.area_km2(towns).sum()
    assert total == pytest.approx(geo.area_km2(outline).iloc[0], rel=1e-3)
    union = towns.to_crs(geo.EQUAL_AREA_CRS).geometry.union_all().area / 1e6
    assert union == pytest.approx(total, rel=1e-6)  # no overlaps
    seats = pd.read_csv(data_path("towns.csv"), dtype={"code": str}).set_index("code")
    for _, t in towns.iterrows():
        assert t.geometry.contains(shapely.Point(seats.loc[t["code"], "seat_lon"],
                                                 seats.loc[t["code"], "seat_lat"]))


def test_schematic_rebuild_matches_shipped_file():
    built = geo.schematic_towns()
    shipped = gpd.read_file(data_path(*geo.SCHEMATIC_FILE))
    assert list(built["code"]) == list(shipped["code"])
    for a, b in zip(built.to_crs(geo.EQUAL_AREA_CRS).geometry,
                    shipped.to_crs(geo.EQUAL_AREA_CRS).geometry):
        assert a.symmetric_difference(b).area < 1e4  # < 0.01 km²


def _official_file(root: Path, *, by: str, fmt: str = "geojson") -> Path:
    """Write 'official' boundaries: the schematic cells moved to EPSG:3857, shuffled,
    identified by name or by integer code, as a user might deliver them."""
    cells = gpd.read_file(root / "geo" / "towns_schematic.geojson").sample(frac=1, random_state=3)
    if by == "name":
        short = {"440117001": "街口", "440117002": "江浦街", "440117003": "城郊街道",
                 "440117103": "温泉镇", "440117104": "Liangkou Town", "440117107": "吕田",
                 "440117111": "太平镇", "440117113": "鳌头镇"}
        data = {"NAME": [short[c] for c in cells["code"]], "pop": range(8)}
    else:
        data = {"xzqdm": cells["code"].astype(np.int64).to_numpy(), "pop": range(8)}
    gdf = gpd.GeoDataFrame(data, geometry=cells.geometry.to_numpy(), crs=4326).to_crs(3857)
    path = root / "geo" / ("towns.geojson" if fmt == "geojson" else "official.gpkg")
    gdf.to_file(path, driver="GeoJSON" if fmt == "geojson" else "GPKG")
    return path


def test_official_boundaries_by_name_are_picked_up(data_copy):
    _official_file(data_copy, by="name")
    towns = geo.load_towns()
    assert towns.attrs["schematic"] is False
    assert list(towns["code"]) == TOWNS
    assert towns.crs.to_epsg() == 4326
    seat = shapely.Point(113.588, 23.552)
    assert towns.set_index("code").geometry["440117001"].contains(seat)


def test_official_boundaries_by_code_in_a_geopackage(data_copy):
    path = _official_file(data_copy, by="code", fmt="gpkg")
    towns = geo.load_towns(path)
    assert towns.attrs["schematic"] is False
    assert sorted(towns["code"]) == TOWNS


def test_official_file_errors_name_file_row_and_column(data_copy):
    cells = gpd.read_file(data_copy / "geo" / "towns_schematic.geojson")
    bad = cells.assign(name=["街口街道", "江埔街道", "城郊街道", "温泉镇", "良口镇", "吕田镇",
                              "太平镇", "天河区"])[["name", "geometry"]]
    path = data_copy / "geo" / "bad.geojson"
    bad.to_file(path, driver="GeoJSON")
    with pytest.raises(GazetteerError, match=r"bad\.geojson.*'name'.*row 7.*天河区"):
        geo.load_towns(path)
    cells.iloc[:7].to_file(data_copy / "geo" / "seven.geojson", driver="GeoJSON")
    with pytest.raises(GazetteerError, match="no polygon for town.*440117113"):
        geo.load_towns(data_copy / "geo" / "seven.geojson")
    with pytest.raises(FileNotFoundError):
        geo.load_towns(data_copy / "geo" / "nothing.geojson")


# ---------------------------------------------------------------- join
def test_join_keeps_towns_without_data_and_flags_them(data_copy):
    table = assessed(missing=("440117107",))
    joined = geo.join(table)
    assert len(joined) == 8 * len(INDICATORS)  # every indicator × every town
    nodata = joined[~joined["has_data"]]
    assert set(nodata["area"]) == {"440117107"}
    assert nodata["value"].isna().all()
    assert "440117" not in set(joined["area"])  # the district has no town polygon


def test_join_rejects_unknown_areas_and_duplicates(data_copy):
    table = assessed()
    bad = table.copy()
    bad.loc[5, "area"] = "440106"
    with pytest.raises(GazetteerError, match=r"row 5, column 'area': '440106'"):
        geo.join(bad)
    dup = pd.concat([table, table.iloc[[3]]], ignore_index=True)
    with pytest.raises(PlotError, match="several rows for area"):
        geo.join(dup)


# ---------------------------------------------------------------- choropleths
def test_gap_choropleth_centred_on_target(data_copy, tmp_path):
    table = assessed(missing=("440117107",))
    ax = geo.choropleth(table, "gap", indicator="health.cervical_screening")
    assert ax.get_title() == "宫颈癌筛查率：与目标差距"
    assert texts(ax, geo.GID_SCHEMATIC) == [label("plot_text", "schematic_note", "zh")]
    assert texts(ax, geo.GID_DEMO) == [label("plot_text", "demo_data", "zh")]
    assert legend_texts(ax) == ["无数据"]
    # 7 towns with data in one collection, the no-data town hatched in another
    coll = {c.get_gid(): c for c in ax.collections}
    assert len(coll[geo.GID_TOWNS].get_paths()) == 7
    assert len(coll[geo.GID_NO_DATA].get_paths()) == 1
    assert coll[geo.GID_NO_DATA].get_hatch() == "///"
    # colour bar label carries the unit of a percentage gap
    cbar_ax = [a for a in ax.figure.axes if a is not ax][0]
    assert cbar_ax.get_ylabel() == "与目标差距（百分点）"
    # diverging around the target: short of target = red, beyond = blue
    sel = table[(table["indicator"] == "health.cervical_screening") & (table["area"] != "440117")]
    for gap, rgba in zip(sel["gap"], coll[geo.GID_TOWNS].get_facecolors()):
        if abs(gap) > 5:
            assert (rgba[0] > rgba[2]) == (gap > 0)
    names = {t.get_text() for t in ax.texts}
    assert {"街口街道", "鳌头镇", "吕田镇"} <= names
    assert render(ax.figure, tmp_path / "gap.png") == []


def test_no_data_entry_only_when_a_town_lacks_data(data_copy, tmp_path):
    ax = geo.choropleth(assessed(), "gap", indicator="health.cervical_screening", lang="en")
    assert "No data" not in legend_texts(ax)
    assert geo.GID_NO_DATA not in {c.get_gid() for c in ax.collections}
    assert ax.get_title() == "Cervical cancer screening rate: Gap to target"
    assert {"Jiekou", "Lütian", "Aotou"} <= {t.get_text() for t in ax.texts}
    assert render(ax.figure, tmp_path / "gap_en.png") == []


def test_status_choropleth_legend_lists_categories(data_copy, tmp_path):
    table = assessed(missing=("440117104",))
    ax = geo.choropleth(table, "status", indicator="health.hospital_delivery")
    sel = table[(table["indicator"] == "health.hospital_delivery") & (table["area"] != "440117")]
    expected = [label("status", s, "zh") for s in ("met", "not_met") if (sel["status"] == s).any()]
    assert legend_texts(ax) == expected + ["无数据"]
    assert ax.get_legend().get_title().get_text() == "达标情况"
    assert render(ax.figure, tmp_path / "status.png") == []


def test_p_meet_quantile_classes(data_copy, tmp_path):
    ax = geo.choropleth(projected(), "p_meet", scheme="quantiles", k=4)
    entries = legend_texts(ax)
    assert len(entries) == 4 and all(e.endswith("(2)") for e in entries)  # 8 towns in 4 classes
    assert "分位数分级" in ax.get_legend().get_title().get_text()
    assert texts(ax, geo.GID_DEMO) == []  # projections without a synthetic column
    assert render(ax.figure, tmp_path / "pmeet.png") == []
    with pytest.raises(PlotError, match="scheme must be one of"):
        geo.choropleth(projected(), "p_meet", scheme="jenks-ish")


def test_official_boundaries_drop_the_schematic_label(data_copy, tmp_path):
    _official_file(data_copy, by="name")
    ax = geo.choropleth(assessed(), "category", indicator="health.maternal_mortality")
    assert texts(ax, geo.GID_SCHEMATIC) == []
    assert texts(ax, geo.GID_DEMO) != []
    assert render(ax.figure, tmp_path / "official.png") == []


def test_directional_target_is_not_applicable_not_no_data(data_copy, tmp_path):
    table = assessed(missing=("440117113",))
    ind = table["indicator"] == "health.hospital_delivery"
    table.loc[ind, "comparator"] = "increase"
    table.loc[ind, ["target", "gap"]] = np.nan
    ax = geo.choropleth(table, "gap", indicator="health.hospital_delivery")
    assert legend_texts(ax) == ["不适用（方向性目标）", "无数据"]
    coll = {c.get_gid(): c for c in ax.collections}
    assert len(coll[geo.GID_NOT_APPLICABLE].get_paths()) == 7
    assert len(coll[geo.GID_NO_DATA].get_paths()) == 1
    assert geo.GID_TOWNS not in coll and len(ax.figure.axes) == 1  # no colour bar without values
    assert render(ax.figure, tmp_path / "directional.png") == []


def test_choropleth_needs_one_indicator_and_one_sex(data_copy):
    with pytest.raises(PlotError, match="pass indicator"):
        geo.choropleth(assessed(), "gap")
    both = pd.concat([assessed(), assessed().assign(sex="F")], ignore_index=True)
    with pytest.raises(PlotError, match="several sexes"):
        geo.choropleth(both, "gap", indicator="health.cervical_screening", sex=None)
    with pytest.raises(PlotError, match="no rows with sex == 'M'"):
        geo.choropleth(both, "gap", indicator="health.cervical_screening", sex="M")


def test_small_multiples_one_panel_per_indicator(data_copy, tmp_path):
    fig = geo.small_multiples(assessed(missing=("440117003",)), "health")
    maps = [a for a in fig.axes if a.get_title()]
    assert [a.get_title() for a in maps] == ["宫颈癌筛查率", "孕产妇死亡率", "住院分娩率"]
    assert fig.get_suptitle() == "妇女与健康：与目标差距"
    notes = [t.get_text() for t in fig.texts if t.get_gid() == geo.GID_SCHEMATIC]
    assert notes == [label("plot_text", "schematic_note", "zh")]  # once per figure
    assert all("无数据" in legend_texts(a) for a in maps)
    assert render(fig, tmp_path / "multiples.png") == []
    women = assessed()
    women.loc[women["indicator"] == "health.hospital_delivery", "sex"] = "F"
    fig = geo.small_multiples(women, "health", lang="en")
    titles = [a.get_title() for a in fig.axes if a.get_title()]
    assert titles[-1] == "Hospital delivery rate (female)"
    plt.close(fig)


def test_explore_writes_bilingual_html(data_copy, tmp_path):
    path = tmp_path / "map.html"
    m = geo.explore(assessed(missing=("440117111",)), "gap",
                    indicator="social_security.medical_insurance", path=path)
    html = path.read_text("utf-8")
    assert m is not None and "<html" in html.lower()
    for text in ("街口街道 / Jiekou Subdistrict", "与目标差距 / Gap to target",
                 "无数据 / No data", label("plot_text", "schematic_note", "en"),
                 "演示数据（合成，非真实统计） / Demo data"):
        assert text in html or json.dumps(text)[1:-1] in html, text  # JSON-escaped in scripts
    path2 = tmp_path / "status.html"
    geo.explore(assessed(), "status", indicator="health.cervical_screening", path=path2)
    html2 = path2.read_text("utf-8")
    assert any(t in html2 or json.dumps(t)[1:-1] in html2 for t in ("已达标 / Met", "未达标 / Not met"))
    nd = "无数据 / No data"
    assert nd not in html2 and json.dumps(nd)[1:-1] not in html2  # every town has data here


REMOTE_TAG = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//",
                        re.IGNORECASE)


def test_explore_is_self_contained_without_tiles(data_copy, tmp_path, monkeypatch):
    """No CDN script or stylesheet and no tile server unless tiles were asked for."""
    for column, ind in (("gap", "social_security.medical_insurance"), ("status", "health.cervical_screening"),
                        ("category", "health.hospital_delivery")):
        path = tmp_path / f"{column}.html"
        geo.explore(assessed(missing=("440117111",)), column, indicator=ind, path=path)
        html = path.read_text("utf-8")
        assert not REMOTE_TAG.search(html), REMOTE_TAG.search(html)
        assert "<script src" not in html and "stylesheet" not in html
        assert "L.tileLayer" not in html and "tianditu" not in html.lower()
        assert html.count('t.version="1.9.3"') == 1  # Leaflet inlined once
        assert geo.PLAIN_BACKGROUND in html and "imperial: false" in html
        assert "fz-legend" in html and "无数据 / No data" in html  # our legend, with the missing town
    # a status map where a town lacks data: 无数据 once in the legend (it is also a status code)
    html = geo.explore(assessed(missing=("440117111",)), "status", indicator="health.cervical_screening",
                       tiles=None).get_root().render()
    legend = html[html.index("id='fz-legend'"):]
    assert legend[:legend.index("</div></div>") + 12].count("无数据 / No data") == 1
    # an explicit online background is honoured; its assets are still inlined
    html = geo.explore(assessed(), "gap", indicator="social_security.medical_insurance",
                       tiles="OpenStreetMap").get_root().render()
    assert "tile.openstreetmap.org" in html and not REMOTE_TAG.search(html)


def test_explore_tianditu_tiles_with_a_key(data_copy, monkeypatch):
    table, ind = assessed(), "social_security.medical_insurance"
    with pytest.raises(PlotError, match="FZANALYSIS_TIANDITU_KEY"):
        geo.explore(table, "gap", indicator=ind, tiles="tianditu")
    html = geo.explore(table, "gap", indicator=ind, tianditu_key="k 1&2").get_root().render()
    assert html.count("tianditu.gov.cn/vec_w/wmts") == 1 and html.count("tianditu.gov.cn/cva_w/wmts") == 1
    assert "tk=k%201%262" in html and geo.PLAIN_BACKGROUND not in html
    assert not REMOTE_TAG.search(html)
    monkeypatch.setenv("FZANALYSIS_TIANDITU_KEY", "envkey")
    assert "tk=envkey" in geo.explore(table, "gap", indicator=ind).get_root().render()
    assert "tianditu" not in geo.explore(table, "gap", indicator=ind, tiles=None).get_root().render()
    with pytest.raises(PlotError, match="tiles"):
        geo.explore(table, "gap", indicator=ind, legend=True)


def test_explore_refuses_a_browser_file_it_does_not_ship(data_copy, monkeypatch):
    """A folium element asking for an unknown CDN file fails loudly instead of linking it."""
    import folium

    monkeypatch.setattr(folium.Map, "default_js",
                        [*folium.Map.default_js, ("newlib", "https://cdn.example.org/newlib.js")])
    with pytest.raises(PlotError, match="newlib"):
        geo.explore(assessed(), "gap", indicator="social_security.medical_insurance")


def test_vendored_leaflet_matches_its_readme():
    """The shipped browser files are the copies the vendor README records (checksums, licence)."""
    import hashlib

    readme = (geo.VENDOR_DIR / "README.md").read_text("utf-8")
    for name in ("leaflet.js", "leaflet.css"):
        digest = hashlib.sha256((geo.VENDOR_DIR / "leaflet" / name).read_bytes()).hexdigest()
        assert f"`{name}` `{digest}`" in readme, name
    assert "BSD 2-Clause" in (geo.VENDOR_DIR / "leaflet" / "LICENSE").read_text("utf-8")
    for folder, file in geo.OFFLINE_ASSETS.values():
        assert (geo.VENDOR_DIR / folder / file).is_file()


def test_street_only_target_shows_towns_as_not_applicable(data_copy, tmp_path):
    """A 街道-only target (catalogue area_kinds: street): the 5 镇 are 不适用, not 无数据."""
    from fzanalysis.assessment import assess as run_assess

    for name in ("indicators.yaml", "assess.yaml"):
        shutil.copy(Path(__file__).resolve().parents[1] / "data" / name, data_copy / name)
    ind = "decision.street_leadership_women"
    streets = ["440117001", "440117002", "440117003"]
    panel = pd.DataFrame({"indicator": ind, "year": 2024, "area": streets + ["440117103"],
                          "value": [1.0, 2.0, 1.0, 0.0]})
    table = run_assess(panel)
    table = table[table["indicator"] == ind]
    assert set(table.loc[table["area"] == "440117103", "status"]) == {"not_applicable"}
    for column in ("gap", "status"):
        ax = geo.choropleth(table, column, indicator=ind)
        assert legend_texts(ax)[-1] == "不适用（仅针对街道）"
        assert "无数据" not in legend_texts(ax)
        coll = {c.get_gid(): c for c in ax.collections}
        assert len(coll[geo.GID_NOT_APPLICABLE].get_paths()) == 5
        assert geo.GID_NO_DATA not in coll
        assert render(ax.figure, tmp_path / f"street_{column}.png") == []
    # a street without data is still 无数据
    ax = geo.choropleth(table[table["area"] != "440117002"], "gap", indicator=ind, lang="en")
    assert legend_texts(ax)[-2:] == ["Not applicable (streets only)", "No data"]
    html = geo.explore(table, "status", indicator=ind, tiles=None).get_root().render()
    assert "不适用（仅针对街道）" in html


def test_unrankable_towns_are_not_coloured_but_shown_as_not_comparable():
    """Rates from a handful of events (rankable False) are never coloured against each other."""
    codes = geo.load_towns()["code"].tolist()
    table = pd.DataFrame({"indicator": "health.maternal_mortality", "area": codes, "sex": "T",
                          "value": [0.0, 0, 0, 0, 0, 0, 20.6, 17.0], "unit": "per_100k_live_births",
                          "rankable": [False] * 7 + [True], "synthetic": False})
    ax = geo.choropleth(table, "value", indicator="health.maternal_mortality")
    coll = {c.get_gid(): c for c in ax.collections if c.get_gid()}
    assert len(coll[geo.GID_NOT_COMPARABLE].get_paths()) == 7
    assert len(coll[geo.GID_TOWNS].get_paths()) == 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert label("plot_text", "not_comparable") in legend
    plt.close(ax.figure)


def test_interactive_map_does_not_colour_unrankable_towns_either():
    """explore, like choropleth: a town figure from a handful of events is 不宜比较, not a colour;
    its tooltip says so and the legend lists it."""
    codes = geo.load_towns()["code"].tolist()
    table = pd.DataFrame({"indicator": "health.maternal_mortality", "area": codes, "sex": "T",
                          "value": [0.0, 0, 0, 0, 0, 0, 20.6, 17.0], "gap": [-40.0] * 6 + [13.1, 9.5],
                          "status": ["cannot_judge"] * 6 + ["not_met"] * 2, "unit": "per_100k_live_births",
                          "rankable": [False] * 6 + [True] * 2, "synthetic": False})
    nc = f"{label('plot_text', 'not_comparable', 'zh')} / {label('plot_text', 'not_comparable', 'en')}"
    for column in ("gap", "status"):
        html = geo.explore(table, column, indicator="health.maternal_mortality", tiles=None).get_root().render()
        legend = html[html.index("id='fz-legend'"):]
        legend = legend[:legend.index("</div></div>") + 12]
        assert nc in legend
        assert html.count(json.dumps(nc)[1:-1]) + html.count(nc) >= 6 + 1  # six tooltips and the legend
        if column == "gap":  # the scale is set by the two comparable towns only (not by -40)
            assert "<span>-13.1</span>" in legend and "40" not in legend


def test_maps_default_to_the_sex_each_target_is_about():
    """sex="judged" (the default of choropleth, small_multiples, ...): the female rows of a
    women's target; without a subject_sex column, the total, as before."""
    rows = pd.DataFrame({"indicator": "health.x", "area": ["440117001", "440117001", "440117001"],
                         "sex": ["F", "M", "T"], "subject_sex": "F", "value": [1.0, 2.0, 3.0]})
    assert geo._select(rows, None, "judged")["sex"].tolist() == ["F"]
    assert geo._select(rows.drop(columns="subject_sex"), None, "judged")["sex"].tolist() == ["T"]
    assert geo._select(rows, None, "M")["value"].tolist() == [2.0]
    with pytest.raises(PlotError, match="sex the target is about"):
        geo._select(rows[rows["sex"] == "M"], None, "judged")


def test_a_plan_without_towns_has_no_default_geometry():
    """Inside plan.use("china") the outline and towns read were 从化区's, and a choropleth of the
    national figures drew an empty Conghua outline titled with the national indicator.  The default
    geometry is refused under a plan whose area has no towns, naming the plan and what to pass."""
    from fzanalysis import plan
    from fzanalysis.exceptions import GazetteerError

    with plan.use("china"):
        for load in (geo.load_outline, geo.load_towns):
            with pytest.raises(GazetteerError, match="active plan 'china'.*pass path="):
                load()
    assert len(geo.load_towns()) == 8 and len(geo.load_outline()) == 1
