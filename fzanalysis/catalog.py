"""The indicator catalogue: the plan's targets as a validated table.

The catalogue lives in ``data/indicators.yaml`` (reference data, edited by hand); the domains and
units it refers to in ``data/domains.csv`` and ``data/units.csv``.  :func:`load` reads it into a
DataFrame with one row per indicator and the columns of ``docs/design.md`` ("The catalogue"), and
validates it with a :mod:`pandera` schema.  Any problem raises :class:`CatalogError`, whose message
names the file, the YAML line, the indicator id, the column and what was expected.

Comparators (how the plan's wording maps to them is documented in the header of
``data/indicators.yaml``):

========== ==================================================== ============================
comparator meaning                                              target / tolerance
========== ==================================================== ============================
``>=``     at least the target (以上, 不低于, 达到)             number / NaN
``>``      more than the target (超过)                          number / NaN
``<=``     at most the target                                   number / NaN
``<``      below the target (以下)                              number / NaN
``==``     exactly the target                                   number / NaN
``~=``     within ``target ± tolerance`` (左右)                 number / half-width > 0
``~>=``    at least ``target - tolerance`` (左右 on a floor)    number / tolerance > 0
increase   should rise over time (逐步提高)                      NaN / NaN
decrease   should fall over time (降低, 减少)                    NaN / NaN
narrow     a gap that should narrow (缩小): its size |x - T|     parity point T (0 for a
           should fall, on either side of T                     difference) / NaN
maintain   should not fall (保持)                               NaN / NaN
========== ==================================================== ============================

This module keeps to reference data: whether a value meets a target is decided in
:mod:`fzanalysis.assessment` (through :mod:`fzanalysis.comparators`).
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import io
import math
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
import yaml

from fzanalysis import codes, comparators, config, plan
from fzanalysis.exceptions import CatalogError
from fzanalysis.labels import format_target as _format_target
from fzanalysis.labels import label
from fzanalysis.paths import data_path

__all__ = [
    "COLUMNS",
    "COMPARATORS",
    "NUMERIC_COMPARATORS",
    "DIRECTIONAL_COMPARATORS",
    "DISAGGREGATIONS",
    "AREA_KINDS",
    "CatalogError",
    "load",
    "from_frame",
    "normalize",
    "get",
    "domains",
    "units",
    "default_path",
    "format_target",
    "render_table",
    "render_card",
    "register_cli",
]

#: Columns of the catalogue DataFrame, in order (docs/design.md, "The catalogue").
COLUMNS: tuple[str, ...] = (
    "id",
    "domain",
    "name_zh",
    "name_en",
    "clause",
    "unit",
    "lower_bound",
    "upper_bound",
    "comparator",
    "target",
    "tolerance",
    "target_year",
    "baseline_year",
    "baseline_value",
    "baseline_source",
    "department",
    "disaggregation",
    "subject_sex",
    "per_area",
    "area_kinds",
    "numerator_zh",
    "denominator_zh",
    "note",
    "unit_word_zh",
    "unit_word_en",
    "target_words_zh",
    "target_words_en",
)

_TARGET_RULE = ("expected a numeric target for >=, <=, >, <, ==, ~=, ~>=, the gap's parity point (0 for a "
                "difference) for narrow, and no target for increase, decrease, maintain")
NUMERIC_COMPARATORS: tuple[str, ...] = comparators.NUMERIC
DIRECTIONAL_COMPARATORS: tuple[str, ...] = comparators.DIRECTIONAL
COMPARATORS: tuple[str, ...] = comparators.ALL
#: Allowed values of ``disaggregation`` (canonical order ``area;sex``).
DISAGGREGATIONS: tuple[str, ...] = ("", "area", "sex", "area;sex")
#: Allowed values of ``area_kinds``: the gazetteer kinds (``data/towns.csv`` ``kind``) of the towns a
#: per-area target applies to, canonical order ``street;town``; empty = every town.
AREA_KINDS: tuple[str, ...] = ("", "street", "town", "street;town")

DEFAULT_TARGET_YEAR = 2030

_STR_COLUMNS = (
    "id", "domain", "name_zh", "name_en", "clause", "unit", "comparator", "baseline_source",
    "department", "disaggregation", "subject_sex", "area_kinds", "numerator_zh", "denominator_zh", "note",
    "unit_word_zh", "unit_word_en", "target_words_zh", "target_words_en",
)
_FLOAT_COLUMNS = ("lower_bound", "upper_bound", "target", "tolerance", "baseline_value")
_WORDS_RULE = ("expected target_words_zh and target_words_en together, and only for a target without a number "
               "(maintain, increase, decrease, narrow): the plan's own words (保持合理比例), or how an "
               "indicator the plan sets no target for is monitored")
_WORD_RULE = ("expected unit_word_zh/unit_word_en (a counting word: 条, 名) only for a unit that counts "
              "(one with a word_zh in data/units.csv)")
_REQUIRED_KEYS = ("id", "domain", "name_zh", "name_en", "clause", "unit", "comparator")
_ID_RE = r"^[a-z][a-z_]*\.[a-z0-9][a-z0-9_]*$"
_CN_NUM = "一二三四五六七八九十"
_CLAUSE_PART_RE = re.compile(
    rf"^(?:二（[{_CN_NUM}]）(?:主要目标|策略措施)\d+|五（[{_CN_NUM}]）)$"
)


# --------------------------------------------------------------------------------------------
# reference tables
# --------------------------------------------------------------------------------------------


def default_path() -> Path:
    """Path of the catalogue used when none is given: the active plan's (:mod:`fzanalysis.plan`;
    ``data/indicators.yaml`` for Conghua)."""
    return plan.active().catalog_path


def _read_reference_csv(path: Path, key: str, required: Sequence[str]) -> pd.DataFrame:
    if not path.exists():
        raise CatalogError(f"{path}: file not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise CatalogError(f"{path}: missing column(s) {', '.join(missing)}; expected {list(required)}")
    dup = df[key][df[key].duplicated()].tolist()
    if dup:
        raise CatalogError(f"{path}: duplicate {key} {dup}")
    empty = df.index[df[key].str.strip() == ""].tolist()
    if empty:
        raise CatalogError(f"{path}: line(s) {[i + 2 for i in empty]}: empty {key}")
    return df


def _to_float(path: Path, df: pd.DataFrame, column: str, *, key: str) -> pd.Series:
    out = []
    for i, raw in enumerate(df[column]):
        raw = raw.strip()
        if raw == "":
            out.append(math.nan)
            continue
        try:
            out.append(float(raw))
        except ValueError:
            raise CatalogError(
                f"{path}:{i + 2}: {key} {df[key].iloc[i]!r}: column {column}: expected a number "
                f"or empty, got {raw!r}"
            ) from None
    return pd.Series(out, index=df.index, dtype="float64")


def _units_table(path: Path) -> pd.DataFrame:
    df = _read_reference_csv(
        path, "key", ("key", "name_zh", "name_en", "symbol", "lower_bound", "upper_bound", "scale")
    )
    for col in ("lower_bound", "upper_bound", "scale"):
        df[col] = _to_float(path, df, col, key="unit")
    bad = df[(df.lower_bound.notna() & df.upper_bound.notna()) & (df.lower_bound >= df.upper_bound)]
    if len(bad):
        raise CatalogError(f"{path}: unit(s) {bad.key.tolist()}: expected lower_bound < upper_bound")
    return df.set_index("key", drop=False)


def units(path: str | Path | None = None) -> pd.DataFrame:
    """Return the units table (``data/units.csv``, or ``path``), indexed by unit key.

    Parameters
    ----------
    path : str or Path, optional
        Another units table (default ``data/units.csv``).

    Returns
    -------
    DataFrame
        Columns ``key, name_zh, name_en, symbol, symbol_en, lower_bound, upper_bound, scale,
        note`` (``symbol_en`` and ``note`` optional).  ``scale`` is the factor turning a
        proportion ``numerator / denominator`` into the unit (``percent`` → 100, ``per_100k`` →
        100 000); NaN for units that are not built from counts (years, count, money …).
        ``lower_bound``/``upper_bound`` are the natural bounds (NaN = unbounded).  A copy.

    Raises
    ------
    CatalogError
        If the file is missing, lacks a column, repeats a key or has a bound that is not a
        number (file, line, column named).

    See Also
    --------
    fzanalysis.config.units : the same table for modules that only read it.
    fzanalysis.labels.unit_label : the symbol printed with a value.

    Examples
    --------
    >>> from fzanalysis import catalog
    >>> catalog.units().loc["percent", ["symbol", "lower_bound", "upper_bound", "scale"]].to_dict()
    {'symbol': '%', 'lower_bound': 0.0, 'upper_bound': 100.0, 'scale': 100.0}
    """
    p = Path(path) if path is not None else data_path("units.csv")
    return config.cached("catalog-units", p, _units_table).copy()


def _domains_table(path: Path) -> pd.DataFrame:
    df = _read_reference_csv(path, "id", ("id", "order", "name_zh", "name_en", "clause"))
    try:
        df["order"] = df["order"].astype(int)
    except ValueError:
        raise CatalogError(f"{path}: column order: expected integers, got {df['order'].tolist()}") from None
    return df.sort_values("order").set_index("id", drop=False)


def domains(path: str | Path | None = None) -> pd.DataFrame:
    """Return the plan's 8 domains (``data/domains.csv``, or ``path``) in the plan's order.

    Parameters
    ----------
    path : str or Path, optional
        Another domains table (default ``data/domains.csv``).

    Returns
    -------
    DataFrame
        Indexed by id; columns ``id, order, name_zh, name_en, clause`` (e.g. ``health, 1,
        妇女与健康, Women and health, 二（一）``).  A copy.

    Raises
    ------
    CatalogError
        If the file is missing, lacks a column, repeats an id or has an ``order`` that is not
        an integer.

    See Also
    --------
    fzanalysis.labels.domain_label : a domain's name in one language.

    Examples
    --------
    >>> from fzanalysis import catalog
    >>> catalog.domains()["id"].tolist()
    ['health', 'education', 'economy', 'decision', 'social_security', 'family', 'environment', 'law']
    >>> catalog.domains().at["health", "name_zh"]
    '妇女与健康'
    """
    p = Path(path) if path is not None else data_path("domains.csv")
    return config.cached("catalog-domains", p, _domains_table).copy()


# --------------------------------------------------------------------------------------------
# reading the YAML with line numbers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    records: list[dict[str, Any]]
    lines: list[int | None]  # 1-based line of each record (None for DataFrames)
    field_lines: list[dict[str, int]]  # 1-based line of each field of each record
    defaults: dict[str, Any]


def _node_to_lines(item: yaml.MappingNode, path: Path, problems: list[str]) -> dict[str, int]:
    seen: dict[str, int] = {}
    for key_node, _value_node in item.value:
        key = key_node.value
        line = key_node.start_mark.line + 1
        if key in seen:
            problems.append(
                f"{path}:{line}: key {key!r} repeats the one on line {seen[key]} (YAML keeps only "
                "the last; remove one)"
            )
        seen[key] = line
    return seen


def _read_yaml(path: Path) -> _Raw:
    text = path.read_text("utf-8")
    try:
        # libyaml's C loader where PyYAML has it (ten times faster); the node tree gives line numbers
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(text, Loader=loader)  # a safe loader: no Python objects
        root = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as exc:
        hint = ""
        if "block scalar" in str(exc):
            hint = '\n(hint: quote symbolic comparators, e.g. comparator: ">=")'
        raise CatalogError(f"{path}: not valid YAML: {exc}{hint}") from None
    if not isinstance(data, dict) or "indicators" not in data:
        raise CatalogError(f"{path}: expected a mapping with a top-level 'indicators:' list")
    if not isinstance(data["indicators"], list):
        raise CatalogError(f"{path}: 'indicators' must be a list of mappings")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise CatalogError(f"{path}: 'defaults' must be a mapping")
    unknown_top = sorted(set(data) - {"indicators", "defaults"})
    if unknown_top:
        raise CatalogError(f"{path}: unknown top-level key(s) {unknown_top}; expected indicators, defaults")
    seq_node = next(v for k, v in root.value if k.value == "indicators")
    problems: list[str] = []
    lines, field_lines = [], []
    for i, (item, node) in enumerate(zip(data["indicators"], seq_node.value, strict=True)):
        line = node.start_mark.line + 1
        if not isinstance(item, dict):
            problems.append(f"{path}:{line}: entry {i + 1}: expected a mapping of column: value")
            field_lines.append({})
        else:
            field_lines.append(_node_to_lines(node, path, problems))
        lines.append(line)
    if problems:
        raise CatalogError("\n".join(problems))
    return _Raw(list(data["indicators"]), lines, field_lines, dict(defaults))


def _read_csv(path: Path) -> _Raw:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    records = [
        {k: v for k, v in row.items() if v != ""} for row in df.to_dict(orient="records")
    ]
    lines = [i + 2 for i in range(len(df))]
    return _Raw(records, lines, [{} for _ in records], {})


# --------------------------------------------------------------------------------------------
# building and validating the frame
# --------------------------------------------------------------------------------------------

_ALLOWED_KEYS = set(COLUMNS)


def _as_float(value: Any) -> float:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return math.nan
    if isinstance(value, bool):
        raise TypeError("a boolean")
    return float(value)


def _as_bool(value: Any) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "no", "0"}:
        return False
    raise TypeError(f"{value!r}")


def _build(raw: _Raw, source: str, unit_table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Turn raw records into a typed frame; collect type problems with their lines."""
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    for i, (rec, line, flines) in enumerate(zip(raw.records, raw.lines, raw.field_lines, strict=True)):
        rid = str(rec.get("id", "?"))

        def where(col: str, rid: str = rid, line: int | None = line, flines: dict = flines,
                  i: int = i) -> str:
            at = flines.get(col, line)
            loc = f"{source}:{at}" if at is not None else f"{source}: row {i}"
            return f"{loc}: indicator {rid!r}: column {col}"

        unknown = sorted(set(rec) - _ALLOWED_KEYS)
        for key in unknown:
            close = difflib.get_close_matches(key, COLUMNS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{where(key)}: unknown column{hint}; expected one of {list(COLUMNS)}")
        for key in _REQUIRED_KEYS:
            if rec.get(key) in (None, ""):
                problems.append(f"{where(key)}: missing; every indicator needs {list(_REQUIRED_KEYS)}")
        row: dict[str, Any] = {}
        for col in _STR_COLUMNS:
            v = rec.get(col, "")
            if v is None:
                v = ""
            if isinstance(v, (bool, int, float)) and col not in ("comparator",):
                # numbers where text is expected are a typo (e.g. unit: 100)
                problems.append(f"{where(col)}: expected text, got {v!r}")
                v = str(v)
            row[col] = str(v).strip()
        row["subject_sex"] = row["subject_sex"] or "T"
        for col in _FLOAT_COLUMNS:
            try:
                row[col] = _as_float(rec.get(col))
            except (TypeError, ValueError):
                problems.append(f"{where(col)}: expected a number or nothing, got {rec.get(col)!r}")
                row[col] = math.nan
        for col, default in (("target_year", raw.defaults.get("target_year", DEFAULT_TARGET_YEAR)),
                             ("baseline_year", None)):
            v = rec.get(col, default)
            if v is None or v == "":
                row[col] = pd.NA
                continue
            try:
                if isinstance(v, bool) or float(v) != int(float(v)):
                    raise ValueError
                row[col] = int(float(v))
            except (TypeError, ValueError):
                problems.append(f"{where(col)}: expected a whole year like 2030, got {v!r}")
                row[col] = pd.NA
        try:
            row["per_area"] = _as_bool(rec.get("per_area"))
        except TypeError:
            problems.append(f"{where('per_area')}: expected true or false, got {rec.get('per_area')!r}")
            row["per_area"] = False
        # bounds default to the unit's
        if row["unit"] in unit_table.index:
            for col in ("lower_bound", "upper_bound"):
                if col not in rec or rec.get(col) in (None, ""):
                    row[col] = float(unit_table.at[row["unit"], col])
        rows.append(row)
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    if df.empty:
        df = pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS})
    for col in _STR_COLUMNS:
        df[col] = df[col].astype("str")
    for col in _FLOAT_COLUMNS:
        df[col] = df[col].astype("float64")
    df["target_year"] = df["target_year"].astype("Int64")
    df["baseline_year"] = df["baseline_year"].astype("Int64")
    df["per_area"] = df["per_area"].astype(bool)
    return df, problems


def _schema(domain_clauses: Mapping[str, str], unit_keys: Sequence[str], *, plan: bool = True,
            counted_units: Sequence[str] = ()) -> pa.DataFrameSchema:
    """The catalogue's checks; ``plan=False`` (a researcher's own catalogue) drops the rules
    that only make sense for the plan's own file: ids ``domain.name``, the 8 domains, clauses.
    ``counted_units``: the units with a counting word (``word_zh`` of ``data/units.csv``), the
    only ones an indicator may give its own word (``unit_word_zh``/``unit_word_en``)."""
    domain_ids = list(domain_clauses)
    nonempty = pa.Check(lambda s: s.str.strip() != "", error="expected non-empty text")
    with_target = list(comparators.NUMERIC + comparators.WITH_PARITY)

    def within(value_col: str) -> pa.Check:
        def check(df: pd.DataFrame) -> pd.Series:
            v = df[value_col]
            lo = df["lower_bound"].fillna(-math.inf)
            hi = df["upper_bound"].fillna(math.inf)
            return v.isna() | ((v >= lo) & (v <= hi))

        return pa.Check(
            check,
            error=f"expected {value_col} within [lower_bound, upper_bound] (the unit's bounds)",
        )

    def clause_ok(df: pd.DataFrame) -> pd.Series:
        dom = domain_clauses
        out = []
        for clause, domain in zip(df["clause"], df["domain"], strict=True):
            parts = [p.strip() for p in str(clause).split("；")]
            ok = bool(parts) and all(_CLAUSE_PART_RE.match(p) for p in parts)
            if ok and domain in dom:
                main = [p for p in parts if p.startswith("二")]
                ok = all(p.startswith(dom[domain]) for p in main)
            out.append(ok)
        return pd.Series(out, index=df.index)

    return pa.DataFrameSchema(
        {
            "id": pa.Column(
                str,
                checks=pa.Check.str_matches(
                    _ID_RE, error="expected 'domain.snake_case' in lower-case ASCII"
                ) if plan else nonempty,
                unique=True,
                report_duplicates="all",
            ),
            "domain": pa.Column(
                str, pa.Check.isin(list(domain_ids), error=f"expected one of {list(domain_ids)}")
                if plan else nonempty
            ),
            "name_zh": pa.Column(str, nonempty),
            "name_en": pa.Column(str, nonempty),
            "clause": pa.Column(str, nonempty),
            "unit": pa.Column(
                str,
                pa.Check.isin(list(unit_keys), error=f"expected a key of units.csv {list(unit_keys)}"),
            ),
            "lower_bound": pa.Column(float, nullable=True),
            "upper_bound": pa.Column(float, nullable=True),
            "comparator": pa.Column(
                str, pa.Check.isin(list(COMPARATORS), error=f"expected one of {list(COMPARATORS)}")
            ),
            "target": pa.Column(float, nullable=True),
            "tolerance": pa.Column(
                float,
                pa.Check(lambda s: s.isna() | (s > 0), error="expected tolerance > 0"),
                nullable=True,
            ),
            "target_year": pa.Column(
                "Int64",
                pa.Check.in_range(2021, 2050, error="expected target_year in 2021-2050"),
                nullable=False,
            ),
            "baseline_year": pa.Column(
                "Int64",
                pa.Check.in_range(2000, 2030, error="expected baseline_year in 2000-2030"),
                nullable=True,
            ),
            "baseline_value": pa.Column(float, nullable=True),
            "baseline_source": pa.Column(str),
            "department": pa.Column(str, nonempty),
            "disaggregation": pa.Column(
                str,
                pa.Check.isin(
                    list(DISAGGREGATIONS),
                    error=f"expected one of {list(DISAGGREGATIONS)} (written in this order)",
                ),
            ),
            "subject_sex": pa.Column(
                str, pa.Check.isin(list(codes.SEXES), error=f"expected one of {list(codes.SEXES)}")
            ),
            "per_area": pa.Column(bool),
            "area_kinds": pa.Column(
                str,
                pa.Check.isin(
                    list(AREA_KINDS),
                    error=f"expected one of {list(AREA_KINDS)} (gazetteer kinds, written in this "
                    "order; empty = every town)",
                ),
            ),
            "numerator_zh": pa.Column(str),
            "denominator_zh": pa.Column(str),
            "note": pa.Column(str),
            "unit_word_zh": pa.Column(str),
            "unit_word_en": pa.Column(str),
            "target_words_zh": pa.Column(str),
            "target_words_en": pa.Column(str),
        },
        checks=[
            *([pa.Check(
                lambda df: df.apply(lambda r: r["id"].split(".")[0] == r["domain"], axis=1),
                error="expected the id to start with its domain ('<domain>.<name>')",
            )] if plan else []),
            # rows whose comparator is itself refused get that one error, not a follow-on one
            pa.Check(
                lambda df: ~df["comparator"].isin(comparators.ALL)
                | (df["comparator"].isin(with_target) == df["target"].notna()),
                error=_TARGET_RULE,
            ),
            pa.Check(
                lambda df: ~df["comparator"].isin(comparators.ALL)
                | (df["comparator"].isin(["~=", "~>="]) == df["tolerance"].notna()),
                error="expected a tolerance for '~=' and '~>=' (保持在…左右) and only for them",
            ),
            within("target"),
            within("baseline_value"),
            pa.Check(
                lambda df: df["baseline_value"].isna() == df["baseline_year"].isna(),
                error="expected baseline_year and baseline_value given together",
            ),
            pa.Check(
                lambda df: df["baseline_value"].isna() == (df["baseline_source"].str.strip() == ""),
                error="expected baseline_source exactly when a baseline_value is given",
            ),
            pa.Check(
                lambda df: df["baseline_year"].isna() | (df["baseline_year"] < df["target_year"]),
                error="expected baseline_year before target_year",
            ),
            pa.Check(
                lambda df: (df["subject_sex"] == "T") | df["disaggregation"].str.contains("sex"),
                error="expected 'sex' in disaggregation when subject_sex is F or M",
            ),
            pa.Check(
                lambda df: ~df["per_area"] | df["disaggregation"].str.contains("area"),
                error="expected 'area' in disaggregation when per_area is true",
            ),
            pa.Check(
                lambda df: (df["area_kinds"] == "") | df["per_area"]
                | df["disaggregation"].str.contains("area"),
                error="expected area_kinds only with per_area true or 'area' in disaggregation",
            ),
            pa.Check(
                lambda df: ((df["unit_word_zh"] == "") & (df["unit_word_en"] == ""))
                | df["unit"].isin(list(counted_units)),
                error=_WORD_RULE,
            ),
            pa.Check(
                lambda df: ((df["target_words_zh"] == "") & (df["target_words_en"] == ""))
                | (df["comparator"].isin(["maintain", "increase", "decrease", "narrow"])
                   & (df["target_words_zh"] != "") & (df["target_words_en"] != "")),
                error=_WORDS_RULE,
            ),
            *([pa.Check(clause_ok, error="expected clause like 二（一）主要目标2, 二（一）策略措施7 or "
                     "五（五）, parts joined by '；', and 二（…） parts matching the domain")] if plan else []),
        ],
        strict=True,
        ordered=True,
    )


#: where to point when the offending column is absent from the YAML entry
_FALLBACK_LINE: dict[str, tuple[str, ...]] = {
    "tolerance": ("comparator", "target"),
    "target": ("comparator",),
    "baseline_year": ("baseline_value", "baseline_source"),
    "baseline_value": ("baseline_year", "baseline_source"),
    "baseline_source": ("baseline_value", "baseline_year"),
    "per_area": ("disaggregation",),
    "area_kinds": ("per_area", "disaggregation"),
    "lower_bound": ("unit",),
    "upper_bound": ("unit",),
    "unit_word_zh": ("unit",),
    "target_words_zh": ("comparator",),
}

_COLUMN_HINT = {
    _WORD_RULE: "unit_word_zh",
    _WORDS_RULE: "target_words_zh",
    _TARGET_RULE: "target",
    "expected a tolerance for '~=' and '~>=' (保持在…左右) and only for them": "tolerance",
    "expected target within [lower_bound, upper_bound] (the unit's bounds)": "target",
    "expected baseline_value within [lower_bound, upper_bound] (the unit's bounds)": "baseline_value",
    "expected baseline_year and baseline_value given together": "baseline_year",
    "expected baseline_source exactly when a baseline_value is given": "baseline_source",
    "expected baseline_year before target_year": "baseline_year",
    "expected 'area' in disaggregation when per_area is true": "per_area",
    "expected 'sex' in disaggregation when subject_sex is F or M": "subject_sex",
    "expected area_kinds only with per_area true or 'area' in disaggregation": "area_kinds",
    "expected the id to start with its domain ('<domain>.<name>')": "id",
}


def _validate(
    df: pd.DataFrame, *, source: str, lines: Sequence[int] | None = None,
    field_lines: Sequence[Mapping[str, int]] | None = None, problems: list[str] | None = None,
    domain_table: pd.DataFrame, unit_table: pd.DataFrame, plan: bool = True,
) -> pd.DataFrame:
    problems = list(problems or [])
    counted = (unit_table.loc[unit_table["word_zh"].astype(str).str.strip() != "", "key"].tolist()
               if "word_zh" in unit_table.columns else [])
    schema = _schema(
        dict(zip(domain_table["id"], domain_table["clause"], strict=True)), unit_table["key"].tolist(),
        plan=plan, counted_units=counted,
    )
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        seen: set[tuple[Any, str]] = set()
        for rec in fc.to_dict(orient="records"):
            idx, check = rec.get("index"), str(rec.get("check"))
            column = rec.get("column")
            if rec.get("schema_context") == "DataFrameSchema":
                column = "clause" if check.startswith("expected clause") else _COLUMN_HINT.get(check, column)
            key = (idx, check)
            if key in seen:
                continue
            seen.add(key)
            if idx is None or (isinstance(idx, float) and math.isnan(idx)):
                problems.append(f"{source}: column {column}: {check} (got {rec.get('failure_case')!r})")
                continue
            i = int(idx)
            rid = df["id"].iloc[i] if i < len(df) else "?"
            line = None
            if field_lines is not None and i < len(field_lines):
                for col in (str(column), *_FALLBACK_LINE.get(str(column), ())):
                    line = field_lines[i].get(col)
                    if line is not None:
                        break
            if line is None and lines is not None and i < len(lines):
                line = lines[i]
            loc = f"{source}:{line}" if line else f"{source}: row {i}"
            value = df[column].iloc[i] if column in df.columns and i < len(df) else rec.get("failure_case")
            if check == "field_uniqueness":
                check = "expected a unique id (this id is used more than once)"
            shown = "an empty cell" if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) \
                else repr(value.item() if hasattr(value, "item") else value)
            problems.append(f"{loc}: indicator {rid!r}: column {column}: {check}, got {shown}")
    if problems:
        head = f"{source}: {len(problems)} problem(s) in the indicator catalogue:"
        raise CatalogError("\n".join([head, *("  " + p for p in problems)]))
    return df


def _load_file(p: Path, units_path: Path, domains_path: Path) -> pd.DataFrame:
    unit_table = units(units_path)
    domain_table = domains(domains_path)
    raw = _read_csv(p) if p.suffix.lower() == ".csv" else _read_yaml(p)
    df, problems = _build(raw, str(p), unit_table)
    return _validate(
        df, source=str(p), lines=raw.lines, field_lines=raw.field_lines, problems=problems,
        domain_table=domain_table, unit_table=unit_table,
    )


def load(
    path: str | Path | None = None,
    *,
    units_path: str | Path | None = None,
    domains_path: str | Path | None = None,
) -> pd.DataFrame:
    """Load and validate the indicator catalogue.

    Parameters
    ----------
    path : str or Path, optional
        ``.yaml`` (the format of ``data/indicators.yaml``: a top-level ``indicators:`` list and
        optional ``defaults:``) or ``.csv`` with the columns below.  Default:
        :func:`default_path` (honours ``FZANALYSIS_DATA``).
    units_path, domains_path : str or Path, keyword-only, optional
        Other units/domains tables (default ``data/units.csv``, ``data/domains.csv``).

    Returns
    -------
    DataFrame
        One row per indicator, in file order, with columns :data:`COLUMNS`: strings (empty when
        not given) for text columns, float for ``lower_bound, upper_bound, target, tolerance,
        baseline_value`` (NaN when not given), ``Int64`` for ``target_year`` (default 2030) and
        ``baseline_year``, bool for ``per_area``.  ``lower_bound``/``upper_bound`` default to the
        unit's bounds.  A fresh copy on every call (edit it freely).

    Raises
    ------
    CatalogError
        Listing every problem as ``file:line: indicator 'id': column: expected …, got …``.
        Checked: unique ids of the form ``domain.name``; known domain, unit, comparator and
        disaggregation; ``area_kinds`` a subset of ``street;town`` and only with ``per_area`` or
        ``area`` disaggregation; a target exactly for the numeric comparators and ``narrow`` (its parity point); a tolerance (> 0) exactly
        for ``~=``; target and baseline within the unit's bounds; baseline year, value and source
        together; whole-number years; clause references like ``二（一）主要目标2`` whose part
        ``二（…）`` matches the domain; no unknown or repeated keys.

    See Also
    --------
    from_frame : the same checks on a researcher's own catalogue.
    normalize : the one way in used by every function that takes ``catalog=``.
    get : one indicator's row.

    Examples
    --------
    >>> from fzanalysis import load_catalog
    >>> cat = load_catalog()
    >>> len(cat), cat["domain"].nunique()
    (87, 8)
    >>> print(cat[["id", "unit", "comparator", "target"]].head(3).to_string(index=False))
                                  id                 unit comparator  target
              health.life_expectancy                years   maintain     NaN
           health.maternal_mortality per_100k_live_births          <     7.5
    health.cervical_cancer_screening              percent         >=    70.0
    """
    p = Path(path) if path is not None else default_path()
    up = Path(units_path) if units_path is not None else data_path("units.csv")
    dp = Path(domains_path) if domains_path is not None else data_path("domains.csv")
    for f in (p, up, dp):
        if not f.exists():
            raise CatalogError(f"{f}: file not found")
    # the cache key includes the units and domains files' versions, so editing either reloads
    stamp = tuple((f.stat().st_mtime_ns, f.stat().st_size) for f in (up, dp))
    df = config.cached(f"catalog:{up}:{dp}:{stamp}", p, lambda f: _load_file(f, up, dp))
    df = df.copy()
    df.attrs["fz_normalized"] = _fingerprint(df)
    return df


def from_frame(
    catalog: pd.DataFrame, *, source: str = "<DataFrame>",
    units_path: str | Path | None = None, domains_path: str | Path | None = None,
) -> pd.DataFrame:
    """Complete and validate a catalogue given as a DataFrame (e.g. a researcher's own).

    Parameters
    ----------
    catalog : DataFrame
        At least ``id, unit, comparator, target``; any other column of :data:`COLUMNS`.
    source : str, keyword-only
        Name used in messages (default ``"<DataFrame>"``).
    units_path, domains_path : str or Path, keyword-only, optional
        Other units/domains tables (default ``data/units.csv``, ``data/domains.csv``).

    Returns
    -------
    DataFrame
        A new frame with columns :data:`COLUMNS`.  Missing columns take defaults: ``domain``
        from the id's prefix (``unassigned`` if it names no domain),
        ``name_zh``/``name_en``/``clause``/``department`` = the id, bounds from the unit,
        ``tolerance`` NaN, ``target_year`` 2030, other text empty (``area_kinds`` empty = every
        town), ``per_area`` False.

    Raises
    ------
    CatalogError
        Like :func:`load`, rows numbered from 0 instead of YAML lines: a missing required or an
        unknown column; an unknown unit or comparator (with the allowed list); a ``~=`` or
        ``~>=`` target without its tolerance; a target outside the unit's bounds.

    See Also
    --------
    normalize : calls this once per catalogue and remembers that it was checked.
    load : the plan's catalogue.

    Examples
    --------
    >>> import pandas as pd
    >>> from fzanalysis.catalog import from_frame
    >>> mine = pd.DataFrame({"id": ["health.screening"], "unit": ["percent"],
    ...                      "comparator": [">="], "target": [90.0]})
    >>> row = from_frame(mine).iloc[0]
    >>> row["domain"], float(row["upper_bound"]), int(row["target_year"]), bool(row["per_area"])
    ('health', 100.0, 2030, False)
    >>> from_frame(mine.assign(comparator="~="))
    Traceback (most recent call last):
    ...
    fzanalysis.exceptions.CatalogError: <DataFrame>: 1 problem(s) in the indicator catalogue:
      <DataFrame>: row 0: indicator 'health.screening': column tolerance: expected a tolerance for '~=' and '~>=' ...
    """
    missing = [c for c in ("id", "unit", "comparator", "target") if c not in catalog.columns]
    if missing:
        raise CatalogError(f"{source}: missing required column(s) {missing}")
    unknown = [c for c in catalog.columns if c not in COLUMNS]
    if unknown:
        raise CatalogError(f"{source}: unknown column(s) {unknown}; expected some of {list(COLUMNS)}")
    unit_table = units(units_path)
    domain_table = domains(domains_path)
    records = []
    for rec in catalog.to_dict(orient="records"):
        rec = {k: v for k, v in rec.items() if not (isinstance(v, float) and math.isnan(v))
               and v is not pd.NA and v is not None}
        rid = str(rec.get("id", ""))
        prefix = rid.split(".")[0]
        rec.setdefault("domain", prefix if prefix in set(domain_table["id"]) else "unassigned")
        for col in ("name_zh", "name_en", "clause", "department"):
            rec.setdefault(col, rid)
        if "baseline_value" in rec:
            rec.setdefault("baseline_source", source)
        if str(rec.get("per_area", "")).strip().lower() in ("true", "1", "yes"):
            rec.setdefault("disaggregation", "area")
        records.append(rec)
    raw = _Raw(records, [None] * len(records), [{} for _ in records], {})
    df, problems = _build(raw, source, unit_table)
    plan = "clause" in catalog.columns
    return _validate(df, source=source, problems=problems, domain_table=domain_table,
                     unit_table=unit_table, plan=plan)


def normalize(catalog: pd.DataFrame | None = None) -> pd.DataFrame:
    """The one way in for a catalogue: every function that takes ``catalog=`` calls this.

    Parameters
    ----------
    catalog : DataFrame, optional
        None for the plan's catalogue (:func:`load`); otherwise any catalogue with at least
        ``id, unit, comparator, target``, completed and checked by :func:`from_frame`, so a
        researcher's catalogue gets the same defaults and the same refusals everywhere.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, a fresh copy.

    Raises
    ------
    CatalogError
        Naming the row, the column, the value and what was expected, e.g. an unknown unit or
        comparator with the allowed list, or a ``~=`` target without its tolerance; or when
        ``catalog`` is not a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> mine = pd.DataFrame({"id": ["health.x"], "unit": ["percent"], "comparator": [">="], "target": [90]})
    >>> normalize(mine)[["id", "lower_bound", "upper_bound", "target_year"]].to_dict("records")
    [{'id': 'health.x', 'lower_bound': 0.0, 'upper_bound': 100.0, 'target_year': 2030}]
    """
    if catalog is None:
        return load()
    if not isinstance(catalog, pd.DataFrame):
        raise CatalogError(f"catalog: expected a pandas DataFrame with at least columns id, unit, comparator, "
                           f"target (or None for the plan's), got {type(catalog).__name__}"
                           + (" (read a file with fzanalysis.load_catalog(path) or pandas first)"
                              if isinstance(catalog, (str, Path)) else ""))
    if catalog.attrs.get("fz_normalized") == _fingerprint(catalog):
        return catalog.copy()  # already checked, and unchanged since
    out = from_frame(catalog)
    out.attrs["fz_normalized"] = _fingerprint(out)
    return out


def _fingerprint(df: pd.DataFrame) -> str:
    """Content hash of a catalogue (columns and values), to skip re-checking an unchanged one."""
    if list(df.columns) != list(COLUMNS):
        return ""
    h = pd.util.hash_pandas_object(df.astype(str), index=False).to_numpy().tobytes()
    return hashlib.sha256(h).hexdigest()


def get(indicator_id: str, catalog: pd.DataFrame | None = None) -> pd.Series:
    """Return the catalogue row of one indicator.

    Parameters
    ----------
    indicator_id : str
        The id, ``<domain>.<name>``.
    catalog : DataFrame, optional
        The catalogue to search (default the plan's, :func:`load`).

    Returns
    -------
    Series
        Index :data:`COLUMNS`; a copy.

    Raises
    ------
    KeyError
        If the id is not in the catalogue; the message suggests close ids.

    See Also
    --------
    load, format_target

    Examples
    --------
    >>> from fzanalysis import catalog
    >>> row = catalog.get("health.maternal_mortality")
    >>> row["unit"], row["comparator"], float(row["target"]), row["clause"]
    ('per_100k_live_births', '<', 7.5, '二（一）主要目标2')
    >>> catalog.get("health.maternal_mortalty")
    Traceback (most recent call last):
    ...
    KeyError: "no indicator 'health.maternal_mortalty' in the catalogue; did you mean 'health.maternal_mortality', ..."
    """
    cat = load() if catalog is None else catalog
    hit = cat[cat["id"] == indicator_id]
    if hit.empty:
        close = difflib.get_close_matches(str(indicator_id), cat["id"].tolist(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"no indicator {indicator_id!r} in the catalogue{hint}")
    return hit.iloc[0].copy()


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------

def _plain_number(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:g}"


def format_target(row: Mapping[str, Any], *, lang: str = "zh") -> str:
    """A catalogue row's target in table style (``≥ 70%``, ``45%左右（不低于43%）``, ``逐步提高``).

    Shorthand for :func:`fzanalysis.labels.format_target` with ``style="symbol"``.
    """
    return _format_target(row["comparator"], row["target"], row["unit"],
                          tolerance=row.get("tolerance", math.nan), lang=lang, style="symbol")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _clip(text: str, width: int) -> str:
    if _width(text) <= width:
        return text
    out = ""
    for ch in text:
        if _width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def render_table(catalog: pd.DataFrame, *, lang: str = "zh", name_width: int | None = None) -> str:
    """Render the catalogue as a plain-text table grouped by domain (for the terminal).

    Columns: name, target (comparator, value, unit), baseline (value and year), clause, id.
    Chinese characters count as two columns when aligning.
    """
    dt = domains()
    name_col = "name_zh" if lang == "zh" else "name_en"
    width = name_width if name_width is not None else (40 if lang == "zh" else 60)
    head = (
        ["指标", "目标", "基线", "条款", "id"] if lang == "zh"
        else ["indicator", "target", "baseline", "clause", "id"]
    )
    groups: list[tuple[str, list[list[str]]]] = []
    for dom_id, part in catalog.groupby("domain", sort=False):
        body = []
        for _, r in part.iterrows():
            base = ""
            if not pd.isna(r["baseline_value"]):
                base = f"{_plain_number(r['baseline_value'])} ({r['baseline_year']})"
            body.append([
                _clip(r[name_col], width), format_target(r, lang=lang),
                base, r["clause"], r["id"],
            ])
        dom_name = dt.at[dom_id, name_col] if dom_id in dt.index else dom_id
        clause = dt.at[dom_id, "clause"] if dom_id in dt.index else ""
        n = len(part)
        title = f"{clause} {dom_name}（{n} 项）" if lang == "zh" else f"{clause} {dom_name} ({n})"
        groups.append((title, body))
    rows = [r for _, body in groups for r in body]
    widths = [max(_width(x) for x in col) for col in zip(head, *rows, strict=False)]
    out: list[str] = []
    for title, body in groups:
        out.append(title)
        out.append("  " + "  ".join(_pad(h, w) for h, w in zip(head, widths, strict=True)).rstrip())
        out.append("  " + "  ".join("-" * w for w in widths))
        for row in body:
            out.append("  " + "  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip())
        out.append("")
    n = len(catalog)
    out.append(f"共 {n} 项指标" if lang == "zh" else f"{n} indicators")
    return "\n".join(out)


def render_card(row: pd.Series, *, lang: str = "zh") -> str:
    """All fields of one indicator, one per line, with bilingual field labels."""
    names = {col: label("catalog_column", col, lang) for col in COLUMNS}  # type: ignore[arg-type]
    names["target_text"] = "目标" if lang == "zh" else "goal"
    width = max(_width(n) for n in names.values())
    lines = []
    for col in COLUMNS:
        value = row[col]
        if (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value == "":
            value = "—"
        elif isinstance(value, float):
            value = _plain_number(value)
        lines.append(f"{_pad(names[col], width)}  {value}")
    lines.insert(1, f"{_pad(names['target_text'], width)}  {format_target(row, lang=lang)}")
    return "\n".join(lines)


def _cli_catalog(ns: argparse.Namespace) -> int:
    try:
        cat = load(ns.path)
    except CatalogError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if ns.id:
        for i, ident in enumerate(ns.id):
            try:
                row = get(ident, cat)
            except KeyError as exc:
                print(exc.args[0], file=sys.stderr)
                return 2
            print(("\n" if i else "") + render_card(row, lang=ns.lang))
        return 0
    if ns.domain:
        known = domains()["id"].tolist()
        bad = [d for d in ns.domain if d not in known]
        if bad:
            print(f"unknown domain(s) {bad}; expected some of {known}", file=sys.stderr)
            return 2
        cat = cat[cat["domain"].isin(ns.domain)]
    if ns.format == "csv":
        buf = io.StringIO()
        cat.to_csv(buf, index=False, columns=list(COLUMNS), lineterminator="\n")
        sys.stdout.write(buf.getvalue())
    else:
        print(render_table(cat, lang=ns.lang))
    return 0


def register_cli(subparsers: Any) -> None:
    """Add ``fzanalysis catalog`` to the command line."""
    p = subparsers.add_parser(
        "catalog",
        help="print the indicator catalogue (the plan's targets)",
        description="Print the indicator catalogue: every target of the plan with comparator, "
        "value, unit, baseline and clause.",
    )
    p.add_argument("--format", choices=("table", "csv"), default="table",
                   help="table (readable, default) or csv (all columns)")
    p.add_argument("--domain", action="append", metavar="DOMAIN",
                   help="only this domain (health, education, economy, decision, social_security, "
                   "family, environment, law); repeat for several")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the table")
    p.add_argument("--id", action="append", metavar="ID",
                   help="show every field of this indicator (repeat for several)")
    p.add_argument("--path", default=None, help="another catalogue file (.yaml or .csv)")
    p.set_defaults(func=_cli_catalog)
