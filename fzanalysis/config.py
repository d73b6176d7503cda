"""The one reader of the reference files under ``data/``.

Every settings table, unit list, domain list and label file is read here, through one cache keyed
by the file's path, modification time and size: an edit to ``data/units.csv`` in a live kernel
reaches every module at the next call (the label folder, read thousands of times per page, is
re-listed at most every :data:`LABEL_RECHECK_SECONDS`), and :func:`reload` empties the cache
explicitly.
Where the folder is comes from :func:`fzanalysis.paths.data_dir` (``$FZANALYSIS_DATA`` first).

``read_yaml``, ``read_csv``, ``units``, ``domains`` and ``labels`` return fresh copies, which callers
may modify; ``assess_rules``, ``trend_settings`` and ``label_table`` return the cached objects
themselves, for inner loops: read them, never modify them.
"""
from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from fzanalysis.exceptions import ConfigError
from fzanalysis.paths import data_path

__all__ = [
    "assess_rules",
    "cached",
    "domains",
    "label_table",
    "labels",
    "read_csv",
    "read_yaml",
    "reload",
    "trend_settings",
    "units",
]

_CACHE: dict[tuple[str, str, int, int], Any] = {}
_LOCK = threading.Lock()


def reload() -> None:
    """Forget every cached reference file; the next call reads them again."""
    with _LOCK:
        _CACHE.clear()
        _LABEL_CHECKED.clear()


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: reference file not found") from None
    return st.st_mtime_ns, st.st_size


def cached(kind: str, path: str | Path, build: Callable[[Path], Any]) -> Any:
    """Return ``build(path)``, computed once per version of the file (the one cache).

    For modules that parse a reference file with their own checks (the catalogue, the
    gazetteer): the result is kept until the file changes or :func:`reload` is called.  The
    cached object is shared; return a copy to callers that may modify it.
    """
    path = Path(path)
    key = (kind, str(path), *_stamp(path))
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    value = build(path)
    with _LOCK:
        # drop older versions of the same file
        for old in [k for k in _CACHE if k[:2] == key[:2]]:
            del _CACHE[old]
        _CACHE[key] = value
    return value


#: libyaml's C loader where PyYAML was built with it (ten times faster), else the pure-Python one
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text("utf-8"), Loader=_LOADER)  # a safe loader (no Python objects)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid UTF-8 YAML: {exc}") from None


def read_yaml(*parts: str) -> Any:
    """Return the parsed YAML file ``data/<parts>`` (a fresh deep copy).

    Raises
    ------
    ConfigError
        If the file is missing or is not valid UTF-8 YAML.
    """
    return copy.deepcopy(cached("yaml", data_path(*parts), _parse_yaml))


def read_csv(*parts: str) -> pd.DataFrame:
    """Return the CSV file ``data/<parts>`` as strings (empty cells are ``""``), a fresh copy."""
    def build(path: Path) -> pd.DataFrame:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return cached("csv", data_path(*parts), build).copy()


# --------------------------------------------------------------------------------------------
# typed views
# --------------------------------------------------------------------------------------------

def _units(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    need = ["key", "name_zh", "name_en", "symbol", "lower_bound", "upper_bound", "scale"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {missing}")
    out = raw.set_index("key", drop=False)
    if out.index.duplicated().any():
        raise ConfigError(f"{path}: unit {out.index[out.index.duplicated()][0]!r} listed twice")
    for col in ("lower_bound", "upper_bound", "scale"):
        num = pd.to_numeric(out[col].replace("", np.nan), errors="coerce")
        bad = num.isna() & (out[col] != "")
        if bad.any():
            k = bad[bad].index[0]
            raise ConfigError(f"{path}: unit {k!r}, column {col}: expected a number or empty, "
                              f"got {out.at[k, col]!r}")
        out[col] = num.astype(float)
    return out


def units() -> pd.DataFrame:
    """The units table ``data/units.csv``, indexed by ``key``.

    Columns ``key, name_zh, name_en, symbol, symbol_en, lower_bound, upper_bound, scale, note,
    plausible_max, example`` (``example``: a figure as a clerk types it, :func:`fzanalysis.labels.unit_example`);
    bounds and scale are floats (NaN = unbounded / not a rate from counts).
    """
    return cached("units", data_path("units.csv"), _units).copy()


def _domains(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    need = ["id", "order", "name_zh", "name_en", "clause"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {missing}")
    raw["order"] = pd.to_numeric(raw["order"], errors="raise").astype(int)
    return raw.sort_values("order", kind="stable").set_index("id", drop=False)


def domains() -> pd.DataFrame:
    """The plan's domains ``data/domains.csv``, indexed by ``id``, in the plan's order."""
    return cached("domains", data_path("domains.csv"), _domains).copy()


def assess_rules() -> dict[str, Any]:
    """Thresholds of :mod:`fzanalysis.rates` and :mod:`fzanalysis.assessment` (``data/assess.yaml``).

    The cached dict itself (called in inner loops): read it, never modify it.
    """
    return cached("yaml", data_path("assess.yaml"), _parse_yaml)


def _trend(path: Path) -> dict[str, Any]:
    conf = _parse_yaml(path)
    tab = {int(k): float(v) for k, v in (conf.get("interval_bend") or {}).items()}
    vals = [tab[k] for k in sorted(tab)]
    if not tab or min(tab) < 1 or any(v < 0 for v in vals) \
            or any(y < x for x, y in zip(vals, vals[1:])):
        raise ConfigError(f"{path}: interval_bend must map horizons >= 1 to non-negative factors "
                          f"c(h), non-decreasing in the horizon")
    conf["interval_bend"] = dict(sorted(tab.items()))
    return conf


def trend_settings() -> dict[str, Any]:
    """Settings of the projections (``data/trend.yaml``), with ``interval_bend`` checked.

    The cached dict itself (called in inner loops): read it, never modify it.
    """
    return cached("trend", data_path("trend.yaml"), _trend)


def _labels(folder: Path) -> dict[str, dict[str, dict[str, str]]]:
    merged: dict[str, dict[str, dict[str, str]]] = {}
    for path in sorted(folder.glob("*.yaml")):
        content = _parse_yaml(path) or {}
        for kind, codes in content.items():
            bucket = merged.setdefault(kind, {})
            for code, text in (codes or {}).items():
                code = str(code)
                if code in bucket:
                    raise ConfigError(f"{path}: label {kind}.{code} is defined twice")
                missing = [lang for lang in ("zh", "en") if not (text or {}).get(lang)]
                if missing:
                    raise ConfigError(f"{path}: label {kind}.{code} lacks {', '.join(missing)}")
                bucket[code] = text
    return merged


def labels() -> dict[str, dict[str, dict[str, Any]]]:
    """All labels of ``data/labels/*.yaml`` as ``{kind: {code: {"zh": …, "en": …}}}``.

    A code defined twice, or lacking a language, is a :class:`ConfigError`.
    """
    return copy.deepcopy(label_table())


#: The label folder is re-listed at most this often (seconds); :func:`reload` forces it.
LABEL_RECHECK_SECONDS = 0.5
_LABEL_CHECKED: dict[str, tuple[float, tuple[str, str, int, int]]] = {}


def _label_files(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """``(name, mtime, size)`` of every ``*.yaml`` in ``folder`` (cheap: one listing, no pathlib glob)."""
    try:
        entries = sorted((e.name, e.stat()) for e in os.scandir(folder)
                         if e.name.endswith(".yaml") and e.is_file())
    except FileNotFoundError:
        raise ConfigError(f"{folder}: reference folder not found") from None
    return tuple((name, st.st_mtime_ns, st.st_size) for name, st in entries)


def label_table() -> dict[str, dict[str, dict[str, Any]]]:
    """The cached label table itself (shared: read it, never modify it); see :func:`labels`."""
    folder = data_path("labels")
    now = time.monotonic()
    seen = _LABEL_CHECKED.get(str(folder))
    if seen is not None and now - seen[0] < LABEL_RECHECK_SECONDS:
        key = seen[1]  # checked a moment ago: label() is called thousands of times per page
    else:
        # keyed by every file's name and stamp: an added, removed or edited file is seen
        key = ("labels", str(folder), hash(_label_files(folder)), 0)
        _LABEL_CHECKED[str(folder)] = (now, key)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is None:
        hit = _labels(folder)
        with _LOCK:
            for old in [k for k in _CACHE if k[:2] == key[:2]]:
                del _CACHE[old]
            _CACHE[key] = hit
    return hit
