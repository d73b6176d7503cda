"""The chapter cache: a chapter whose inputs are unchanged is not executed again.

A report's chapters (executed notebook and its HTML page) and its written outputs (Word, PDF,
Excel, CSV) are kept under the run's cache folder (``<reports>/.cache``), beside the results
store they were made from::

    .cache/<results key>/results/                 the results store (fzanalysis.report.results)
    .cache/<results key>/chapters/<stem>-<key>/   one executed chapter: <stem>.ipynb, <stem>.html, run.json
    .cache/<results key>/outputs/<key>/           the written outputs of one report

An entry's key (:func:`entry_key`) hashes everything the chapter depends on beyond the results
store: the notebook's bytes, its parameters, the language and kind, and the kernel.  The results
key itself already covers the data, the catalogue, the parameters of the statistics and the code
version (:func:`fzanalysis.report.results.results_key`).  ``fzanalysis report --force`` ignores the
cache and re-runs everything; the provenance of a report says which chapters came from the
cache (``provenance.json``: ``notebooks[].cached``).

Entries are written atomically (:func:`fzanalysis.report.folders.replacing`), and only for chapters
that succeeded.  A run holds the cache's lock (:func:`fzanalysis.report.folders.hold`) from its
start to its end, so a second run on the same cache (and its ``--force``, which deletes the
results store) waits until no run reads it.  Each entry's record lists the size and sha256 of its files; :func:`lookup` checks
them, so a damaged entry (a truncated copy, a full disk, a hand edit) is deleted and recomputed,
never served.  :func:`prune` keeps the :data:`KEEP` most recently used results keys.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fzanalysis.panel.store import sha256_file  # the one file checksum
from fzanalysis.report.folders import replacing

__all__ = ["KEEP", "entry_key", "intact", "lookup", "prune", "put", "restore"]

#: Results keys kept in the cache (the least recently used beyond these are deleted).
KEEP = 12
_RECORD = "run.json"


def entry_key(*, notebook: str | os.PathLike[str] | None = None, **inputs: Any) -> str:
    """sha256 of a notebook's bytes (when given) and of the other inputs (JSON, sorted keys).

    Examples
    --------
    >>> entry_key(stem="01_overview", lang="zh") == entry_key(lang="zh", stem="01_overview")
    True
    >>> entry_key(stem="01_overview", lang="zh") == entry_key(stem="01_overview", lang="en")
    False
    """
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode())
    if notebook is not None:
        digest.update(Path(notebook).read_bytes())
    return digest.hexdigest()[:24]


def _entry(root: Path, results_key: str, section: str, name: str) -> Path:
    return Path(root) / results_key / section / name


def intact(folder: str | os.PathLike[str], checksums: Mapping[str, Any]) -> bool:
    """Whether every file named in ``checksums`` (``{name: [size, sha256]}``) is in ``folder``, whole.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("abc")
    >>> sums = {"a.txt": [3, sha256_file(d / "a.txt")]}
    >>> intact(d, sums), intact(d, {"a.txt": [3, "0" * 64]}), intact(d, {"b.txt": [0, ""]})
    (True, False, False)
    """
    folder = Path(folder)
    try:
        return all((folder / name).stat().st_size == size and sha256_file(folder / name) == sha
                   for name, (size, sha) in checksums.items())
    except (OSError, TypeError, ValueError):
        return False


def lookup(root: str | os.PathLike[str], results_key: str, section: str, name: str) -> dict[str, Any] | None:
    """The record of a complete cache entry, or None.

    Parameters
    ----------
    root : path
        The cache folder.
    results_key : str
        Key of the results store the entry was made from.
    section : {"chapters", "outputs"}
    name : str
        The entry's name (``<stem>-<entry key>`` or the outputs' key).
    """
    folder = _entry(Path(root), results_key, section, name)
    try:
        record = json.loads((folder / _RECORD).read_text("utf-8"))
        files, checksums = list(record["files"]), dict(record["sha256"])
    except (OSError, ValueError, TypeError, KeyError):
        record = None
    if record is None or sorted(files) != sorted(checksums) or not intact(folder, checksums):
        if folder.exists():  # damaged (or written by an older version): recomputed and put again
            shutil.rmtree(folder, ignore_errors=True)
        return None
    try:
        os.utime(folder.parent.parent)  # used now: kept by prune()
    except OSError:
        pass
    return {**record, "folder": str(folder)}


def put(
    root: str | os.PathLike[str],
    results_key: str,
    section: str,
    name: str,
    files: Iterable[str | os.PathLike[str]],
    record: Mapping[str, Any],
) -> Path:
    """Copy ``files`` into a new cache entry with ``record`` (JSON) and their checksums; returns the entry.

    The entry is written beside its place and swapped in (:func:`fzanalysis.report.folders.replacing`);
    the runner holds the cache's lock while it puts entries.

    Raises
    ------
    OSError
        If the cache cannot be written (read-only, full); the caller goes on without caching.
    """
    final = _entry(Path(root), results_key, section, name)
    with replacing(final) as tmp:
        names, checksums = [], {}
        for f in files:
            name = Path(f).name
            shutil.copy2(f, tmp / name)
            names.append(name)
            checksums[name] = [(tmp / name).stat().st_size, sha256_file(tmp / name)]
        (tmp / _RECORD).write_text(json.dumps({**record, "files": names, "sha256": checksums}, ensure_ascii=False,
                                              indent=1), encoding="utf-8")
    return final


def restore(record: Mapping[str, Any], dest: str | os.PathLike[str]) -> list[str] | None:
    """Copy a cache entry's files (from :func:`lookup`) into ``dest``; returns their names.

    The copies are checked against the entry's checksums: None (and nothing left in ``dest``)
    when one differs, e.g. the entry was damaged or replaced between :func:`lookup` and now.
    """
    folder, dest = Path(record["folder"]), Path(dest)
    try:
        for name in record["files"]:
            shutil.copy2(folder / name, dest / name)
    except OSError:
        ok = False
    else:
        ok = intact(dest, record["sha256"])
    if not ok:
        for name in record["files"]:
            (dest / name).unlink(missing_ok=True)
        return None
    return list(record["files"])


def prune(root: str | os.PathLike[str], *, keep: int = KEEP) -> list[Path]:
    """Delete all but the ``keep`` most recently used results keys; return the deleted folders."""
    root = Path(root)
    if not root.is_dir():
        return []
    entries = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    gone = entries[keep:]
    for path in gone:
        shutil.rmtree(path, ignore_errors=True)
    return gone
