"""The gazetteer: 从化区 and its 8 town-level divisions.

Reference data in ``data/towns.csv``, one row per area:

=================== ===============================================================================
column              meaning
=================== ===============================================================================
code                administrative division code: 6 digits for the district (the one row of kind
                    ``district``, ``440117``), the district's code plus 3 digits for a town/street
stat_code           12-digit statistical division code (``code`` padded with ``000``)
name_zh, short_zh   official name (街口街道) and short form (街口)
name_en             English name (Jiekou Subdistrict)
kind                ``district``, ``street`` (街道) or ``town`` (镇)
parent              code of the enclosing unit (440100 广州市 for the district)
population          resident population of ``population_year`` from ``population_source``: the
                    district from the 2020 census, the towns from the 2010 census (the 2020 census
                    figures by town are not in this file; none are invented)
population_female   female resident population where the source gives it (district, 2020)
area_km2            land area with ``area_source``; published town areas disagree with each other
                    and do not add up to the district's (see the ``note`` column)
seat_lon, seat_lat  approximate seat of the government (WGS84, decimal degrees);
                    ``seat_approximate`` is True: good to about 3 km, for labels and schematic maps
aliases             ``;``-separated names people type (街口街, 街口, Jiekou, the slip 江浦 …)
note                remarks
=================== ===============================================================================

:func:`lookup` turns whatever a submission writes in its area column into a ``code``.  The district's
code is not written in the code: it is the file's row of kind ``district`` (also
:func:`fzanalysis.codes.district`).
"""
from __future__ import annotations

import argparse
import difflib
import io
import re
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from fzanalysis.exceptions import GazetteerError
from fzanalysis.paths import data_path

__all__ = [
    "COLUMNS",
    "applies_to",
    "codes",
    "kind_of",
    "kinds",
    "targeted_areas",
    "load",
    "lookup",
    "name",
    "normalize",
    "register_cli",
    "towns",
]

COLUMNS: tuple[str, ...] = (
    "code", "stat_code", "name_zh", "short_zh", "name_en", "kind", "parent", "population",
    "population_female", "population_year", "population_source", "area_km2", "area_source",
    "seat_lon", "seat_lat", "seat_approximate", "aliases", "note",
)
_KINDS = ("district", "street", "town")
# rough bounding box of 从化区 (WGS84) used to check seat points
_BBOX = (113.25, 23.35, 114.10, 24.00)


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------


def _default_path() -> Path:
    return data_path("towns.csv")


def _district(df: pd.DataFrame) -> str:
    """Code of the gazetteer's one row of kind ``district`` (checked by the loader)."""
    return str(df.loc[df["kind"] == "district", "code"].iloc[0])


def _fail(path: Path, line: int | None, column: str, expected: str, got: Any) -> None:
    where = f"{path}:{line}" if line else f"{path}"
    raise GazetteerError(f"{where}: column {column}: expected {expected}, got {got!r}")


@lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float) -> pd.DataFrame:
    p = Path(path)
    df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise GazetteerError(f"{p}: missing column(s) {missing}; expected {list(COLUMNS)}")
    extra = [c for c in df.columns if c not in COLUMNS]
    if extra:
        raise GazetteerError(f"{p}: unknown column(s) {extra}; expected {list(COLUMNS)}")
    df = df[list(COLUMNS)].copy()
    # the district is the file's one row of kind 'district'; every other row belongs to it
    districts = df.index[df["kind"] == "district"]
    if len(districts) != 1:
        raise GazetteerError(f"{p}: column kind: expected exactly one row of kind 'district' "
                             f"(the district), got {len(districts)}")
    district = str(df.at[districts[0], "code"])
    if not re.fullmatch(r"\d{6}", district):
        _fail(p, int(districts[0]) + 2, "code", "6 digits for the district", district)
    for i, r in df.iterrows():
        line = int(i) + 2
        if not re.fullmatch(rf"{district}(\d{{3}})?", r["code"]):
            _fail(p, line, "code", f"{district} or {district} followed by 3 digits", r["code"])
        if r["stat_code"] != r["code"].ljust(12, "0"):
            _fail(p, line, "stat_code", f"{r['code'].ljust(12, '0')} (code padded to 12 digits)",
                  r["stat_code"])
        if r["kind"] not in _KINDS:
            _fail(p, line, "kind", f"one of {_KINDS}", r["kind"])
        if r["kind"] != "district" and r["code"] == district:
            _fail(p, line, "kind", f"'district' exactly for code {district}", r["kind"])
        if r["kind"] != "district" and r["parent"] != district:
            _fail(p, line, "parent", district, r["parent"])
        for col in ("name_zh", "short_zh", "name_en", "population_source", "area_source"):
            if not r[col].strip():
                _fail(p, line, col, "non-empty text", r[col])
        if r["seat_approximate"].lower() not in ("true", "false"):
            _fail(p, line, "seat_approximate", "true or false", r["seat_approximate"])
    if df["code"].duplicated().any():
        raise GazetteerError(f"{p}: duplicate code(s) {df['code'][df['code'].duplicated()].tolist()}")

    def num(col: str, kind: type) -> pd.Series:
        out = []
        for i, v in enumerate(df[col]):
            if v.strip() == "":
                out.append(pd.NA if kind is int else float("nan"))
                continue
            try:
                out.append(kind(v))
            except ValueError:
                _fail(p, i + 2, col, "a number" if kind is float else "a whole number", v)
        return pd.Series(out, index=df.index, dtype="Int64" if kind is int else "float64")

    for col in ("population", "population_female", "population_year"):
        df[col] = num(col, int)
    for col in ("area_km2", "seat_lon", "seat_lat"):
        df[col] = num(col, float)
    df["seat_approximate"] = df["seat_approximate"].str.lower() == "true"
    for i, r in df.iterrows():
        line = int(i) + 2
        if pd.isna(r["population"]) or r["population"] <= 0:
            _fail(p, line, "population", "a positive count", r["population"])
        if not pd.isna(r["population_female"]) and not 0 < r["population_female"] < r["population"]:
            _fail(p, line, "population_female", "between 0 and population", r["population_female"])
        if not pd.isna(r["area_km2"]) and r["area_km2"] <= 0:
            _fail(p, line, "area_km2", "a positive area", r["area_km2"])
        lo_x, lo_y, hi_x, hi_y = _BBOX
        if not (lo_x <= r["seat_lon"] <= hi_x):
            _fail(p, line, "seat_lon", f"a longitude inside 从化区 ({lo_x}-{hi_x})", r["seat_lon"])
        if not (lo_y <= r["seat_lat"] <= hi_y):
            _fail(p, line, "seat_lat", f"a latitude inside 从化区 ({lo_y}-{hi_y})", r["seat_lat"])
    # every alias must point to one area only
    owner: dict[str, str] = {}
    for i, r in df.iterrows():
        for key in _keys_of_row(r):
            if owner.setdefault(key, r["code"]) != r["code"]:
                raise GazetteerError(
                    f"{p}:{int(i) + 2}: column aliases: {key!r} also names {owner[key]}; "
                    "expected every name to identify one area"
                )
    return df.reset_index(drop=True)


def load(path: str | Path | None = None) -> pd.DataFrame:
    """Return the gazetteer: the district first, then the 8 towns/streets by code.

    Parameters
    ----------
    path : str or Path, optional
        Another gazetteer CSV with the same columns (default ``data/towns.csv``, which honours
        ``FZANALYSIS_DATA``).

    Returns
    -------
    DataFrame
        One row per area, columns :data:`COLUMNS` (described in the module docstring): ``code``
        and ``stat_code`` strings; ``population``, ``population_female`` and ``population_year``
        ``Int64``; ``area_km2``, ``seat_lon``, ``seat_lat`` float; ``seat_approximate`` bool.
        A fresh copy on every call (edit it freely).

    Raises
    ------
    GazetteerError
        If the file is missing or breaks a rule: exactly one row of kind ``district``; every other
        row's ``parent`` is that district and its ``code`` the district's plus 3 digits;
        ``stat_code`` = ``code`` padded to 12 digits; numbers, seats inside the district; an alias
        naming two areas.  The message gives file, line, column, what was found and what was
        expected.

    See Also
    --------
    towns : the town-level rows only.
    lookup : the code of a name as people write it.
    fzanalysis.codes.district : the district's code, read from this file.

    Examples
    --------
    >>> from fzanalysis import gazetteer
    >>> g = gazetteer.load()
    >>> g[["code", "name_zh", "kind"]].head(3)
            code name_zh      kind
    0     440117     从化区  district
    1  440117001    街口街道    street
    2  440117002    江埔街道    street
    >>> int(g.loc[g["kind"] == "district", "population"].iloc[0])
    717684
    """
    p = Path(path) if path is not None else _default_path()
    if not p.exists():
        raise GazetteerError(f"{p}: file not found")
    return _load_cached(str(p), p.stat().st_mtime).copy()


def towns(path: str | Path | None = None) -> pd.DataFrame:
    """The town-level divisions only (3 streets, 5 towns), in code order.

    Parameters
    ----------
    path : str or Path, optional
        Another gazetteer CSV (default ``data/towns.csv``).

    Returns
    -------
    DataFrame
        The rows of :func:`load` whose ``kind`` is not ``district``, index 0..n-1.

    Raises
    ------
    GazetteerError
        As :func:`load`.

    See Also
    --------
    load : every row, the district included.

    Examples
    --------
    >>> from fzanalysis import gazetteer
    >>> t = gazetteer.towns()
    >>> len(t), t["kind"].value_counts().to_dict()
    (8, {'town': 5, 'street': 3})
    """
    df = load(path)
    return df[df["kind"] != "district"].sort_values("code").reset_index(drop=True)


def codes(*, include_district: bool = True, path: str | Path | None = None) -> list[str]:
    """Valid area codes: the district first, then the towns in code order.

    Parameters
    ----------
    include_district : bool, keyword-only
        Put the district's code first (default True); False gives the towns only.
    path : str or Path, keyword-only, optional
        Another gazetteer CSV (default ``data/towns.csv``).

    Returns
    -------
    list of str

    Raises
    ------
    GazetteerError
        As :func:`load`.

    See Also
    --------
    fzanalysis.codes.district : the district's code alone.

    Examples
    --------
    >>> from fzanalysis import gazetteer
    >>> gazetteer.codes()[:3]
    ['440117', '440117001', '440117002']
    >>> len(gazetteer.codes(include_district=False))
    8
    """
    df = load(path)
    out = df.sort_values("code")["code"].tolist()
    return out if include_district else [c for c in out if c != _district(df)]


# --------------------------------------------------------------------------------------------
# kinds: which towns a target applies to (the one owner of the rule)
# --------------------------------------------------------------------------------------------

def kinds(value: Any) -> frozenset[str]:
    """The kinds of area a catalogue's ``area_kinds`` cell names (``"street;town"`` -> both).

    Empty (a blank cell, None, NaN) means every kind.  An iterable of kinds is taken as it is.

    Examples
    --------
    >>> from fzanalysis import gazetteer
    >>> sorted(gazetteer.kinds("street; town")), gazetteer.kinds("")
    (['street', 'town'], frozenset())
    """
    if value is None or (isinstance(value, float) and value != value):
        return frozenset()
    parts = str(value).split(";") if isinstance(value, str) else list(value)
    return frozenset(str(p).strip() for p in parts if str(p).strip())


def kind_of(path: str | Path | None = None) -> dict[str, str]:
    """Area code -> its ``kind`` (``district``, ``street``, ``town``).

    Examples
    --------
    >>> from fzanalysis import gazetteer
    >>> gazetteer.kind_of()["440117001"], gazetteer.kind_of()["440117103"]
    ('street', 'town')
    """
    df = load(path)
    return dict(zip(df["code"].astype(str), df["kind"].astype(str), strict=True))


def applies_to(code: str, area_kinds: Any, *, path: str | Path | None = None,
               kind_map: dict[str, str] | None = None) -> bool:
    """Whether a target whose catalogue names ``area_kinds`` is about the town ``code``.

    True when ``area_kinds`` is empty (every town), when ``code`` is not a town of the gazetteer
    (the district, a researcher's own code: nothing says otherwise), and when the town's kind is
    one of ``area_kinds``.  :func:`targeted_areas`, the template, the ingest checks, the district
    sums, :func:`fzanalysis.assess` and the town charts all read this one rule.

    Parameters
    ----------
    code : str
        An area code.
    area_kinds : str or iterable of str
        The catalogue's ``area_kinds`` (:func:`kinds`).
    path : str or Path, keyword-only, optional
        Another gazetteer CSV (default ``data/towns.csv``).
    kind_map : dict, keyword-only, optional
        :func:`kind_of`, when the caller asks for many codes.

    Returns
    -------
    bool

    Examples
    --------
    >>> from fzanalysis import gazetteer
    >>> gazetteer.applies_to("440117001", "street"), gazetteer.applies_to("440117103", "street")
    (True, False)
    >>> gazetteer.applies_to("440117103", ""), gazetteer.applies_to("440117", "street")
    (True, True)
    """
    wanted = kinds(area_kinds)
    if not wanted:
        return True
    kind = (kind_map if kind_map is not None else kind_of(path)).get(str(code))
    return kind is None or kind == "district" or kind in wanted


def targeted_areas(area_kinds: Any, *, parent: str | None = None,
                   path: str | Path | None = None) -> list[str]:
    """The towns inside ``parent`` (default the district) a target is about, in code order.

    Parameters
    ----------
    area_kinds : str or iterable of str
        The catalogue's ``area_kinds``: only the towns of these kinds; empty = every town.
    parent : str, keyword-only, optional
        The enclosing area's code; a code the gazetteer does not hold (a researcher's own area)
        has no towns here.
    path : str or Path, keyword-only, optional
        Another gazetteer CSV (default ``data/towns.csv``).

    Returns
    -------
    list of str

    Examples
    --------
    >>> from fzanalysis import gazetteer
    >>> gazetteer.targeted_areas("street")
    ['440117001', '440117002', '440117003']
    >>> len(gazetteer.targeted_areas(""))
    8
    """
    df = load(path)
    whole = _district(df) if parent is None else str(parent)
    inside = df[df["parent"].astype(str) == whole].sort_values("code")
    kind_map = dict(zip(df["code"].astype(str), df["kind"].astype(str), strict=True))
    return [c for c in inside["code"].astype(str) if applies_to(c, area_kinds, kind_map=kind_map)]


# --------------------------------------------------------------------------------------------
# lookup
# --------------------------------------------------------------------------------------------

_PREFIXES = ("广东省", "广州市", "從化區", "从化区", "从化市", "從化市")
_ZH_SUFFIXES = ("街道办事处", "街道办", "镇人民政府", "人民政府", "街道", "街", "镇", "鎮", "区", "區")
_GENERIC = {"district", "town", "street", "subdistrict", "全"}
_EN_SUFFIXES = ("subdistrict", "streetoffice", "street", "town", "district", "zhen", "jiedao")


def normalize(text: Any) -> str:
    """Normalise a name or code for matching.

    NFKC (full-width digits, letters and spaces become ASCII), lower case, accents removed
    (Lütian → lutian), whitespace, ``·``, hyphens, apostrophes and brackets dropped.
    """
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    s = "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))
    return re.sub(r"[\s·・\-‐–—'’_.,，。()（）\[\]]+", "", s)


def _strip_affixes(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for pre in _PREFIXES:
            if key.startswith(pre) and len(key) > len(pre):
                key, changed = key[len(pre):], True
        for pre in ("guangdong", "guangzhou", "conghuadistrict", "conghua"):
            if key.startswith(pre) and len(key) > len(pre) and key.isascii():
                key, changed = key[len(pre):], True
    for suf in _ZH_SUFFIXES + _EN_SUFFIXES:
        if key.endswith(suf) and len(key) > len(suf):
            return key[: -len(suf)]
    return key


def _keys_of_row(row: pd.Series) -> set[str]:
    names = [row["name_zh"], row["short_zh"], row["name_en"], *str(row["aliases"]).split(";")]
    keys = set()
    for n in names:
        k = normalize(n)
        for key in (k, _strip_affixes(k)):
            if len(key) >= 2 and key not in _GENERIC:
                keys.add(key)
    return keys


@lru_cache(maxsize=4)
def _index(path: str, mtime: float) -> dict[str, str]:
    df = _load_cached(path, mtime)
    out: dict[str, str] = {}
    for _, r in df.iterrows():
        for key in _keys_of_row(r):
            out[key] = r["code"]
    return out


def lookup(name_or_code: Any, *, path: str | Path | None = None) -> str:
    """Return the area code for a name or code as people write it.

    Parameters
    ----------
    name_or_code : str or int
        The official name (街口街道), short forms (街口, 街口街), English names (Jiekou,
        Jiekou Subdistrict, Lütian/Lutian/Lvtian), traditional characters (溫泉鎮), the common
        slip 江浦 for 江埔, prefixes such as 从化区/广州市, full-width digits and spaces, or a
        code with 6 (``440117``), 9 (``440117001``) or 12 digits (statistical code
        ``440117001000``; ``440117000000`` is the district), as text or integer.
    path : str or Path, keyword-only, optional
        Another gazetteer CSV (default ``data/towns.csv``).

    Returns
    -------
    str
        The district's 6-digit code or a 9-digit town code.

    Raises
    ------
    LookupError
        When nothing matches; the message suggests the closest names ("did you mean") and lists
        all valid names with their codes.
    GazetteerError
        If the gazetteer file is missing or malformed.

    See Also
    --------
    name : the other way round, code to name.
    normalize : how a name is normalised before matching.

    Examples
    --------
    >>> from fzanalysis import gazetteer
    >>> gazetteer.lookup("街口"), gazetteer.lookup("Lutian"), gazetteer.lookup("江浦")
    ('440117001', '440117107', '440117002')
    >>> gazetteer.lookup(440117001000)
    '440117001'
    >>> gazetteer.lookup("江口")
    Traceback (most recent call last):
    ...
    LookupError: no area of 从化区 matches '江口'; did you mean ...
    """
    p = Path(path) if path is not None else _default_path()
    if not p.exists():
        raise GazetteerError(f"{p}: file not found")
    raw = name_or_code
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    code = _resolve(normalize(raw), str(p), p.stat().st_mtime)
    if code is None:
        key = normalize(raw)
        raise LookupError(_not_found(raw, _load_cached(str(p), p.stat().st_mtime), p,
                                     numeric=key.isdigit()))
    return code


@lru_cache(maxsize=4096)
def _resolve(key: str, path: str, mtime: float) -> str | None:
    """Code for a normalised key, or None (cached: ingest looks up every row)."""
    df = _load_cached(path, mtime)
    valid = set(df["code"])
    district = _district(df)
    if key.isdigit():
        code = None
        if len(key) == 6:
            code = key
        elif len(key) == 9:
            code = district if key == district + "000" else key
        elif len(key) == 12 and key.endswith("000"):
            code = key[:9]
            code = district if code == district + "000" else code
        return code if code in valid else None
    index = _index(path, mtime)
    for candidate in (key, _strip_affixes(key)):
        if candidate in index:
            return index[candidate]
    return None


def _not_found(raw: Any, df: pd.DataFrame, p: Path, *, numeric: bool) -> str:
    listing = ", ".join(f"{c} {n}" for c, n in zip(df["code"], df["name_zh"], strict=True))
    hint = ""
    if numeric:
        district = _district(df)
        hint = f" (codes: {district}, or {district} + 3 digits, or the 12-digit statistical code)"
    else:
        index = _index(str(p), p.stat().st_mtime)
        key = normalize(raw)
        close = difflib.get_close_matches(key, list(index), n=3, cutoff=0.5)
        if not close and key:
            close = difflib.get_close_matches(_strip_affixes(key), list(index), n=3, cutoff=0.4)
        if close:
            seen: list[str] = []
            for k in close:
                code = index[k]
                label = f"{df.loc[df['code'] == code, 'name_zh'].iloc[0]} ({code})"
                if label not in seen:
                    seen.append(label)
            hint = f"; did you mean {' or '.join(seen)}?"
    return f"no area of 从化区 matches {raw!r}{hint} Valid names: {listing}"


def name(code: str, lang: Literal["zh", "en"] = "zh", *, short: bool = False,
         path: str | Path | None = None) -> str:
    """Name of an area in Chinese or English, full or short.

    Parameters
    ----------
    code : str
        An area code, or any name or code :func:`lookup` accepts (it is resolved first).
    lang : {"zh", "en"}
        Language of the name (default ``"zh"``).
    short : bool, keyword-only
        The short form (街口, Jiekou) instead of the official name (街口街道, Jiekou Subdistrict).
    path : str or Path, keyword-only, optional
        Another gazetteer CSV (default ``data/towns.csv``).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``lang`` is not ``"zh"`` or ``"en"``.
    LookupError
        If ``code`` matches no area (see :func:`lookup`).

    See Also
    --------
    lookup : name to code.
    fzanalysis.labels.area_label : the label used on report pages.

    Examples
    --------
    >>> from fzanalysis import gazetteer
    >>> gazetteer.name("440117001"), gazetteer.name("440117001", "en")
    ('街口街道', 'Jiekou Subdistrict')
    >>> gazetteer.name("江浦", short=True), gazetteer.name("440117107", "en", short=True)
    ('江埔', 'Lütian')
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    c = lookup(code, path=path)
    row = load(path).set_index("code").loc[c]
    if lang == "zh":
        return str(row["short_zh"] if short else row["name_zh"])
    en = str(row["name_en"])
    if short:
        en = re.sub(r"\s+(Subdistrict|Town|District)$", "", en)
    return en


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def _cli_towns(ns: argparse.Namespace) -> int:
    try:
        df = load(ns.path)
    except GazetteerError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if ns.lookup:
        try:
            code = lookup(ns.lookup, path=ns.path)
        except LookupError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        print(f"{code}\t{name(code, 'zh', path=ns.path)}\t{name(code, 'en', path=ns.path)}")
        return 0
    if ns.format == "csv":
        buf = io.StringIO()
        df.to_csv(buf, index=False, lineterminator="\n")
        sys.stdout.write(buf.getvalue())
        return 0
    kind_zh = {"district": "区", "street": "街道", "town": "镇"}
    head = (["代码", "名称", "英文名", "类型", "人口", "年份", "面积km²", "驻地(约)"] if ns.lang == "zh"
            else ["code", "name", "name_zh", "kind", "population", "year", "area km²", "seat (approx.)"])
    rows = []
    for _, r in df.iterrows():
        first, second = (r["name_zh"], r["name_en"]) if ns.lang == "zh" else (r["name_en"], r["name_zh"])
        rows.append([
            r["code"], first, second, kind_zh[r["kind"]] if ns.lang == "zh" else r["kind"],
            f"{int(r['population']):,}", str(r["population_year"]), f"{r['area_km2']:g}",
            f"{r['seat_lon']:.3f},{r['seat_lat']:.3f}",
        ])

    def w(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)

    widths = [max(w(x) for x in col) for col in zip(head, *rows, strict=False)]
    for line in [head, ["-" * n for n in widths], *rows]:
        print("  ".join(c + " " * (n - w(c)) for c, n in zip(line, widths, strict=True)).rstrip())
    print()
    print("人口：区为2020年第七次人口普查，镇街为2010年第六次人口普查；"
          "镇街面积各来源不一致，见 data/towns.csv note 列。"
          if ns.lang == "zh" else
          "Population: district from the 2020 census, towns from the 2010 census. Published town "
          "areas disagree; see the note column of data/towns.csv.")
    return 0


def register_cli(subparsers: Any) -> None:
    """Add ``fzanalysis towns`` to the command line."""
    p = subparsers.add_parser(
        "towns",
        help="print the gazetteer (district and 8 towns/streets) or look a name up",
        description="Print the gazetteer of 从化区, or resolve a name/code with --lookup.",
    )
    p.add_argument("--format", choices=("table", "csv"), default="table")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--lookup", metavar="NAME_OR_CODE", help="print the code of this name or code")
    p.add_argument("--path", default=None, help="another gazetteer CSV")
    p.set_defaults(func=_cli_towns)
