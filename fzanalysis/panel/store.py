"""The processed folder (``data/processed``) as a transactional store of generations.

Layout::

    data/processed/
        CURRENT                 name of the committed generation (one line), replaced atomically
        generations/000007/     one complete generation: panel.parquet, panel.csv,
                                ingest_log.csv, revisions.csv, rejected_rows.csv, manifest.json
        panel.parquet, panel.csv, ingest_log.csv, revisions.csv, rejected_rows.csv
                                published copies of the committed generation (for people and
                                other tools; the workbench itself reads the generation)
        .lock                   held by the running ingest

A run writes a **new** generation folder file by file (each file atomically), records the
SHA-256 of every file in ``manifest.json``, and only then replaces ``CURRENT``: that single
:func:`os.replace` is the commit.  A crash (``kill -9``, a full disk, a read-only folder) before
it leaves the previous generation committed and intact; a crash after it leaves the new one.
The published copies are refreshed after the commit and repaired on the next run if a crash
interrupted that.  Reading checks every file against the manifest, so a damaged generation is
detected and the message says how to rebuild it (``fzanalysis ingest --rebuild``).

Fault injection (tests only): the environment variable ``FZANALYSIS_FAULT=<point>`` makes the
process exit at once (``os._exit(137)``, like ``kill -9``) at a named write point, and
``FZANALYSIS_FAULT=oserror:<point>`` raises ``OSError(ENOSPC)`` there.  Points: :data:`FAULT_POINTS`.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fzanalysis import codes, locks
from fzanalysis.exceptions import PanelError
from fzanalysis.panel.problems import Refusal, Said
from fzanalysis.panel.safe import atomic_write, atomic_write_bytes, csv_bytes
from fzanalysis.panel.schema import Panel, as_panel

__all__ = ["FAULT_POINTS", "FILES", "LOG_COLUMNS", "REJECTED_COLUMNS", "REVISION_COLUMNS", "DamagedStore",
           "State", "StoreBusy", "commit", "lock", "publish", "published_ok", "read_state", "repair",
           "sha256_file"]

LOG_COLUMNS = ["path", "sha256", "ingested_at", "status", "rows_read", "rows_blank", "rows_rejected",
               "rows_new", "rows_revised", "rows_unchanged"]
REVISION_COLUMNS = ["indicator", "year", "area", "sex", "old_value", "new_value", "old_source",
                    "new_source", "path", "sha256", "revised_at"]
REJECTED_COLUMNS = ["path", "sheet", "row", "reason"]
#: Files of one generation (besides manifest.json).
FILES: tuple[str, ...] = ("panel.parquet", "panel.csv", "ingest_log.csv", "revisions.csv", "rejected_rows.csv")
#: Named write points for fault injection, in the order a commit passes them.
FAULT_POINTS: tuple[str, ...] = ("start", "panel.parquet", "panel.csv", "ingest_log.csv", "revisions.csv",
                                 "rejected_rows.csv", "manifest", "commit", "publish")
KEEP_GENERATIONS = 5
_KEY = list(codes.PANEL_KEYS)


class StoreBusy(Refusal):
    """Another ingest holds the lock of the processed folder."""


class DamagedStore(Said, PanelError):
    """A file of the processed folder is damaged; the message (code ``damaged_*`` in
    ``data/labels/data.yaml``) says to run ``fzanalysis ingest --rebuild``."""

    def __init__(self, where: str, code: str, /, **values: object):
        self.code, self.values, self.where = code, dict(values), where
        PanelError.__init__(self, where, [self.render("en")])


def fault(point: str) -> None:
    """Fault injection for tests: exit or raise at ``point`` if ``$FZANALYSIS_FAULT`` names it."""
    want = os.environ.get("FZANALYSIS_FAULT", "")
    if not want:
        return
    if want == point:
        os._exit(137)
    if want == f"oserror:{point}":
        raise OSError(errno.ENOSPC, "No space left on device (injected)", point)


@dataclass
class State:
    """One committed generation, read and checked."""

    panel: Panel
    log: pd.DataFrame
    revisions: pd.DataFrame
    rejected: pd.DataFrame
    generation: int = 0


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        return _empty(columns)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gb18030")
        except (UnicodeDecodeError, ValueError) as exc:
            raise _damaged(path, "damaged_table", found=exc) from None
    except (ValueError, OSError) as exc:
        raise _damaged(path, "damaged_table", found=exc) from None
    for c in columns:
        if c not in df:
            df[c] = ""
    return df


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (the one file checksum: generations, ingest log, report provenance)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def current_generation(out: Path) -> int | None:
    """The committed generation number, or None for a folder never written as generations."""
    cur = out / "CURRENT"
    if not cur.is_file():
        return None
    text = cur.read_text("ascii", errors="replace").strip()
    if not text.isdigit():
        raise _damaged(cur, "damaged_current", found=text[:40])
    return int(text)


def _gen_dir(out: Path, n: int) -> Path:
    return out / "generations" / f"{n:06d}"


def _damaged(where: Path, code: str, /, **values: object) -> DamagedStore:
    return DamagedStore(str(where), code, **values)


def read_state(out: str | Path) -> State:
    """Read the committed generation of ``out`` (an empty state for a new folder).

    A folder written before generations existed (``panel.parquet`` at the top, no ``CURRENT``)
    is read from its top-level files.

    Raises
    ------
    PanelError
        The generation is damaged (a file missing, truncated or changed since the commit); the
        message says to run ``fzanalysis ingest --rebuild``.
    """
    out = Path(out)
    n = current_generation(out)
    if n is None:
        folder = out
        if not (out / "panel.parquet").is_file():
            return State(as_panel(pd.DataFrame(columns=["indicator", "year", "value"]), source=str(out)),
                         _empty(LOG_COLUMNS), _empty(REVISION_COLUMNS), _empty(REJECTED_COLUMNS), 0)
    else:
        folder = _gen_dir(out, n)
        manifest = folder / "manifest.json"
        try:
            listed = json.loads(manifest.read_text("utf-8"))["files"]
        except (OSError, ValueError, KeyError) as exc:
            raise _damaged(manifest, "damaged_manifest", n=n, found=exc) from None
        for name, sha in listed.items():
            f = folder / name
            if not f.is_file():
                raise _damaged(f, "damaged_missing")
            if sha256_file(f) != sha:
                raise _damaged(f, "damaged_changed")
    try:
        panel = as_panel(folder / "panel.parquet")
    except PanelError as exc:
        raise _damaged(folder / "panel.parquet", "damaged_panel", found="; ".join(exc.problems[:3])) from None
    return State(panel, _read_table(folder / "ingest_log.csv", LOG_COLUMNS),
                 _read_table(folder / "revisions.csv", REVISION_COLUMNS),
                 _read_table(folder / "rejected_rows.csv", REJECTED_COLUMNS), n or 0)


def commit(out: str | Path, state: State) -> list[Path]:
    """Write ``state`` as the next generation of ``out`` and commit it; return the published files.

    Call it while holding :func:`lock`.  On any error the previous generation stays committed.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise Refusal("out_is_file", out)
    out.mkdir(parents=True, exist_ok=True)
    fault("start")
    prev = current_generation(out) or 0
    n = max([prev] + [int(p.name) for p in (out / "generations").glob("[0-9]*") if p.name.isdigit()]) + 1
    folder = _gen_dir(out, n)
    folder.mkdir(parents=True)
    frame = state.panel.frame.sort_values(_KEY, kind="stable").reset_index(drop=True)
    atomic_write(folder / "panel.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
    fault("panel.parquet")
    digests = {"panel.parquet": sha256_file(folder / "panel.parquet")}
    for name, df in (("panel.csv", frame), ("ingest_log.csv", state.log), ("revisions.csv", state.revisions),
                     ("rejected_rows.csv", state.rejected)):
        data = csv_bytes(df)  # as write_csv writes it; hashed here, not read back
        atomic_write_bytes(folder / name, data)
        digests[name] = hashlib.sha256(data).hexdigest()
        fault(name)
    manifest = {"generation": n, "files": {f: digests[f] for f in FILES}}
    atomic_write_bytes(folder / "manifest.json", json.dumps(manifest, indent=1).encode("utf-8"))
    fault("manifest")
    atomic_write_bytes(out / "CURRENT", f"{n:06d}\n".encode("ascii"))  # the commit
    fault("commit")
    try:
        written = publish(out)
    except OSError as exc:
        raise Refusal("publish_failed", out, n=n, found=exc.strerror or exc) from None
    _prune(out, n)
    return written


def publish(out: Path) -> list[Path]:
    """Copy the committed generation's files to the top of ``out`` (each atomically).

    The copies are not fsync-ed: the generation is (it is the record), and :func:`repair`, run
    before every change of ``out``, makes the copies again whenever one differs from it."""
    n = current_generation(out)
    if n is None:
        return []
    folder = _gen_dir(out, n)
    written = []
    for name in FILES:
        atomic_write(out / name, lambda tmp, src=folder / name: shutil.copyfile(src, tmp), durable=False)
        written.append(out / name)
        fault("publish")
    return written


def repair(out: Path) -> None:
    """Finish what a crash after the commit left: refresh the published copies if they differ."""
    for tmp in out.glob(".*.tmp"):  # left by a process killed while writing
        tmp.unlink(missing_ok=True)
    if not published_ok(out):
        publish(out)
    _prune(out, current_generation(out) or 0)


def published_ok(out: Path) -> bool:
    """True when the top-level copies equal the committed generation's files."""
    n = current_generation(out)
    if n is None:
        return True
    folder = _gen_dir(out, n)
    return all((out / f).is_file() and sha256_file(out / f) == sha256_file(folder / f) for f in FILES)


def _prune(out: Path, n: int) -> None:
    for p in (out / "generations").glob("[0-9]*"):
        if p.name.isdigit() and int(p.name) <= n - KEEP_GENERATIONS:
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.isdigit() and int(p.name) > n:  # left by a crashed run
            shutil.rmtree(p, ignore_errors=True)


@contextmanager
def lock(out: str | Path, *, timeout: float = 0.0) -> Iterator[None]:
    """Hold the lock of the processed folder ``out`` (waiting up to ``timeout`` seconds).

    Raises
    ------
    StoreBusy
        Another process holds it after ``timeout`` seconds; the message names it.
    SubmissionError
        ``out`` is a file, or the lock file cannot be created (read-only folder).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise Refusal("out_is_file", out)

    try:
        with locks.held(out / ".lock", timeout=timeout, what=str(out)):
            yield
    except locks.Busy as busy:
        raise StoreBusy("store_busy", out, found=busy.holder) from None
    except locks.Unwritable as exc:
        raise Refusal("folder_not_writable", out, found=exc.reason) from None
