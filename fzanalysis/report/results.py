"""The results store: everything a report shows, computed once per run and read by every chapter.

A report used to recompute the assessment and the projections in each of its twelve notebook
kernels.  Now the runner computes them once (:func:`compute`), writes them as Parquet into the
run's work folder (:func:`ensure`), and every chapter only selects and draws
(:func:`fzanalysis.report.setup` with ``results_path``).

What is stored (one Parquet file each, plus ``meta.json``):

============== ===============================================================================
``series``     :attr:`fzanalysis.evaluation.Evaluation.series`: the judgement of every
               indicator × area × sex (the table every page reads)
``projections``:attr:`fzanalysis.evaluation.Evaluation.projections`: :func:`fzanalysis.project`
``paths``      :func:`fzanalysis.trend.project_paths`: observed, fitted and projected paths (charts)
``gaps``       :func:`fzanalysis.gender_gap`: female − male differences and ratios
============== ===============================================================================

The store is keyed by a content hash (:func:`results_key`) of the panel's rows, the normalised
catalogue, the parameters that change a number (assessed year, baseline year, target year,
interval level, plan) and the code version (:func:`code_version`: the package's source and its
reference data).  Any change to one of them gives a new key, hence a new store; an unchanged
re-run finds the store and computes nothing.  Everything is hashed by content, never by
modification time: an edit that keeps a file's size and time still gives a new key.

``meta.json`` lists the size and sha256 of every table; :func:`ensure` checks them and computes a
damaged store (a truncated file) again instead of reading it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fzanalysis import __version__, assessment, plan, trend
from fzanalysis.evaluation import Evaluation, evaluate
from fzanalysis.exceptions import ReportError
from fzanalysis.panel import Panel
from fzanalysis.panel.store import sha256_file
from fzanalysis.paths import PACKAGE_DIR, data_dir
from fzanalysis.report.cache import intact
from fzanalysis.report.folders import replacing

__all__ = [
    "STORE_FORMAT",
    "TABLES",
    "Results",
    "DEPENDENCIES",
    "code_version",
    "compute",
    "ensure",
    "frame_digest",
    "is_intact",
    "load",
    "loaded_code_is_current",
    "read_meta",
    "results_key",
    "write",
]

#: Version of the store's layout (part of the key: a new layout never reads an old store).
STORE_FORMAT = 1
#: The tables of a store, one Parquet file each.
TABLES: tuple[str, ...] = ("series", "projections", "paths", "gaps")
#: Folders under the data directory that are not reference data (submissions, generated panel).
_NOT_REFERENCE = {"raw", "processed"}


@dataclass(frozen=True)
class Results:
    """What a report shows, computed once.

    Attributes
    ----------
    key : str
        The content hash (:func:`results_key`).
    evaluation : Evaluation
        The one judgement table, with the projections it was derived from.
    paths : DataFrame
        Observed, fitted and projected paths (:func:`fzanalysis.trend.project_paths`).
    gaps : DataFrame
        Gender gaps (:func:`fzanalysis.gender_gap`) of every year up to the assessed one.
    meta : dict
        The parameters and inputs the store was computed from.
    """

    key: str
    evaluation: Evaluation
    paths: pd.DataFrame
    gaps: pd.DataFrame
    meta: dict[str, Any]


def _digest_files(files: list[Path], root: Path, digest: Any) -> None:
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")


def _source_digest(package: Path) -> str:
    digest = hashlib.sha256()
    _digest_files(sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts), package, digest)
    return digest.hexdigest()


#: The package's Python source as this process imported it (:func:`loaded_code_is_current`).
_IMPORTED_SOURCE = _source_digest(PACKAGE_DIR)
#: Libraries whose version can change a number or a page (their versions are part of :func:`code_version`).
DEPENDENCIES: tuple[str, ...] = ("numpy", "pandas", "scipy", "statsmodels", "pyarrow", "matplotlib", "geopandas",
                                 "shapely", "nbconvert", "openpyxl", "python-docx", "jinja2")


def loaded_code_is_current() -> bool:
    """Whether the package's source on disk is still the one this process imported.

    False in a long-lived process (a JupyterLab session, a worker of a Dask cluster) after the
    package was edited or upgraded: its results would come from the old code under the new code's
    key, so the runner refuses to compute with it.
    """
    return _source_digest(PACKAGE_DIR) == _IMPORTED_SOURCE


def _dependency_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in DEPENDENCIES:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} absent")
    return "; ".join(found)


def code_version(*, package: str | os.PathLike[str] | None = None,
                 data: str | os.PathLike[str] | None = None) -> str:
    """sha256 of every file of the package and of the reference data it reads.

    The package's files are its Python source and the templates and assets it writes from (the
    Word template, the HTML templates and style sheet, the vendored map library); compiled
    ``__pycache__`` files are left out.  The Python version and the versions of
    :data:`DEPENDENCIES` are part of it too.  An edited threshold in ``data/trend.yaml``, a word in
    ``data/labels`` or an edited function or template changes the version, so a cached result is
    never reused across a change that could alter a page.  Read on every call, by content (about
    4 MB, a few hundredths of a second): an edit that keeps a file's size and time is seen too,
    even in a long-lived Python session.

    Parameters
    ----------
    package, data : path, optional
        The package and reference-data folders (default: this package and
        :func:`fzanalysis.paths.data_dir`).
    """
    package = Path(package) if package is not None else PACKAGE_DIR
    data = Path(data) if data is not None else data_dir()
    digest = hashlib.sha256(f"fzanalysis {__version__} store {STORE_FORMAT}; python {sys.version}; "
                            f"{_dependency_versions()}".encode())
    code = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix not in (".pyc", ".pyo"))
    _digest_files(code, package, digest)
    reference = sorted(p for p in data.rglob("*") if p.is_file()
                       and p.relative_to(data).parts[0] not in _NOT_REFERENCE)
    _digest_files(reference, data, digest)
    return digest.hexdigest()


def frame_digest(frame: pd.DataFrame) -> str:
    """sha256 of a DataFrame's content (column names, row order and values)."""
    digest = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def results_key(
    panel: Panel,
    catalog: pd.DataFrame,
    *,
    year: int,
    baseline_year: int,
    level: float,
    target_year: int = 2030,
) -> str:
    """The content hash a store is kept under: data, catalogue, parameters and code version.

    Examples
    --------
    >>> from fzanalysis import catalog, demo
    >>> from fzanalysis.panel import as_panel
    >>> cat = catalog.normalize()
    >>> p = as_panel(demo.load(), catalog=cat)
    >>> a = results_key(p, cat, year=2024, baseline_year=2020, level=0.8)
    >>> a == results_key(p, cat, year=2024, baseline_year=2020, level=0.8)
    True
    >>> a == results_key(p, cat, year=2023, baseline_year=2020, level=0.8)
    False
    """
    parts = {
        "panel": frame_digest(panel.frame),
        "synthetic": bool(panel.synthetic),
        "catalog": frame_digest(catalog.astype(str)),
        "year": int(year), "baseline_year": int(baseline_year), "level": float(level),
        "target_year": int(target_year), "plan": plan.active().id, "code": code_version(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def compute(
    panel: Panel,
    catalog: pd.DataFrame,
    *,
    year: int,
    baseline_year: int = 2020,
    level: float = 0.8,
    target_year: int = 2030,
) -> Results:
    """Compute everything a report shows from the data up to ``year`` (the assessed year).

    Parameters
    ----------
    panel : Panel
        The checked panel (:func:`fzanalysis.panel.as_panel`).
    catalog : DataFrame
        The normalised catalogue (:func:`fzanalysis.catalog.normalize`).
    year : int
        The assessed year: only data up to it are used.
    baseline_year, level, target_year
        As in :func:`fzanalysis.evaluate`.

    Returns
    -------
    Results
    """
    evaluation = evaluate(panel, catalog, year=year, baseline_year=baseline_year, target_year=target_year,
                          level=level)
    history = panel.frame[panel.frame["year"] <= int(year)]
    paths = trend.project_paths(history, catalog, target_year=target_year, level=level)
    gaps = assessment.gender_gap(history, catalog)
    meta = {"format": STORE_FORMAT, "year": int(year), "baseline_year": int(baseline_year),
            "level": float(level), "target_year": int(target_year), "plan": plan.active().id,
            "synthetic": bool(panel.synthetic), "source": panel.source, "evaluation_year": evaluation.year,
            "code_version": code_version()}
    key = results_key(panel, catalog, year=year, baseline_year=baseline_year, level=level,
                      target_year=target_year)
    return Results(key=key, evaluation=evaluation, paths=paths, gaps=gaps, meta={**meta, "key": key})


def _tables(results: Results) -> dict[str, pd.DataFrame]:
    ev = results.evaluation
    return {"series": ev.series, "projections": ev.projections if ev.projections is not None else pd.DataFrame(),
            "paths": results.paths, "gaps": results.gaps}


def write(results: Results, folder: str | os.PathLike[str]) -> Path:
    """Write a store into ``folder`` atomically (:func:`fzanalysis.report.folders.replacing`)."""
    final = Path(folder)
    with replacing(final) as tmp:
        objects, checksums = {}, {}
        for name, frame in _tables(results).items():
            path = tmp / f"{name}.parquet"
            frame.to_parquet(path, index=False)
            objects[name] = [str(c) for c in frame.columns if frame[c].dtype == object]
            checksums[path.name] = [path.stat().st_size, sha256_file(path)]
        # Parquet reads text back as pandas' string dtype: columns that were `object` are restored
        meta = {**results.meta, "object_columns": objects, "sha256": checksums}
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return final


def read_meta(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The parameters a store was computed with (its ``meta.json``).

    Raises
    ------
    ReportError
        If the folder holds no readable ``meta.json``.
    """
    try:
        return dict(json.loads((Path(folder) / "meta.json").read_text("utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise ReportError(f"{folder}: not a complete results store ({exc}); run the report again "
                          f"with --force to recompute it") from None


def load(folder: str | os.PathLike[str]) -> Results:
    """Read a store written by :func:`write`.

    Raises
    ------
    ReportError
        If the folder is not a complete store of this layout.
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    except (OSError, ValueError) as exc:
        raise ReportError(f"{folder}: not a complete results store ({exc}); run the report again "
                          f"with --force to recompute it") from None
    if meta.get("format") != STORE_FORMAT:
        raise ReportError(f"{folder}: results store format {meta.get('format')!r}, expected {STORE_FORMAT}")
    for name, columns in meta.get("object_columns", {}).items():
        frame = frames[name]
        for col in columns:
            if col in frame.columns and frame[col].dtype != object:
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    projections = frames["projections"]
    evaluation = Evaluation(series=frames["series"], year=meta["evaluation_year"], target_year=meta["target_year"],
                            synthetic=bool(meta["synthetic"]),
                            projections=projections if len(projections.columns) else None)
    return Results(key=meta["key"], evaluation=evaluation, paths=frames["paths"], gaps=frames["gaps"], meta=meta)


def is_intact(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds a complete, undamaged store of this layout (sizes and sha256 checked)."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        checksums = dict(meta["sha256"])
    except (OSError, ValueError, TypeError, KeyError):
        return False
    wanted = {f"{name}.parquet" for name in TABLES}
    return meta.get("format") == STORE_FORMAT and set(checksums) == wanted and intact(folder, checksums)


def ensure(
    panel: Panel,
    catalog: pd.DataFrame,
    root: str | os.PathLike[str],
    *,
    year: int,
    baseline_year: int = 2020,
    level: float = 0.8,
    target_year: int = 2030,
    force: bool = False,
) -> tuple[Path, bool]:
    """The store of these inputs under ``root`` (``<root>/<key>/results``), computed if missing or damaged.

    Call it holding the lock of ``root`` (:func:`fzanalysis.report.folders.hold`), as the runner does:
    ``force`` then never replaces a store while another run reads it.

    Returns
    -------
    (Path, bool)
        The store's folder, and whether it was found (True) rather than computed now.
    """
    key = results_key(panel, catalog, year=year, baseline_year=baseline_year, level=level,
                      target_year=target_year)
    folder = Path(root) / key / "results"
    if not force and is_intact(folder):
        return folder, True
    # --force, or a damaged store (truncated table, older layout): the old one is replaced once the new is written
    results = compute(panel, catalog, year=year, baseline_year=baseline_year, level=level,
                      target_year=target_year)
    return write(results, folder), False
