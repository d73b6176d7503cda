"""Folders a report run writes: one lock per folder, and the one atomic swap of a folder.

Every folder the runner replaces (a report ``<reports>/<folder>/``, a cache entry, the results
store) is written into a temporary folder beside it, ``.tmp-<name>-<pid>``
(:func:`tmp_folder`), then swapped into place by :func:`put_in_place`: the previous version is
renamed to ``.old-<name>-<pid>``, the new one renamed into place, then the old one deleted, so
the last good version survives until the new one is complete.  :func:`replacing` wraps both for
a folder written in one go.

A run holds the lock of each folder it writes (:func:`hold`): its report folders and the cache
(``<reports>/.cache``: the results store and the chapter cache, which ``--force`` and pruning
delete from).  The lock is ``.lock-<name>`` beside the folder (the one lock of
:mod:`fzanalysis.locks`; the file records the holder's pid, host and since when).  A second run
on the same folder waits, saying which pid holds which folder, and after ``timeout`` seconds fails with :class:`~fzanalysis.exceptions.ReportBusy`.

Whoever takes a lock first removes the temporaries a killed run left under it
(``.tmp-``/``.old-`` beside the folder or anywhere inside it): those whose pid is no longer
running on this machine, and those older than the previous holder's lock (their run ended before
it).  A live run's temporaries are never removed: it holds the lock while it has any.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from fzanalysis import locks
from fzanalysis.exceptions import ReportBusy, ReportError

__all__ = ["WAIT", "hold", "lock_file", "put_in_place", "repair", "replacing", "stale", "tmp_folder"]

#: Seconds a run waits for another run's lock before giving up (``fzanalysis report --wait``).
WAIT = 900.0

log = logging.getLogger("fzanalysis.report")

_TEMPORARY = re.compile(r"\.(?:tmp|old)-(?P<name>.+)-(?P<pid>\d+)$")


def lock_file(folder: str | os.PathLike[str]) -> Path:
    """The lock of ``folder``: ``.lock-<name>`` beside it (it outlives every swap of the folder).

    Examples
    --------
    >>> lock_file("reports/2024").as_posix(), lock_file("reports/.cache").as_posix()
    ('reports/.lock-2024', 'reports/.lock-.cache')
    """
    folder = Path(folder)
    return folder.parent / f".lock-{folder.name}"


@contextmanager
def hold(folder: str | os.PathLike[str], *, timeout: float | None = WAIT) -> Iterator[Path]:
    """Hold the lock of ``folder`` for the ``with`` block, then remove its stale temporaries.

    Parameters
    ----------
    folder : path
        The folder this run writes (it need not exist yet; its parent is created).
    timeout : float, optional
        Seconds to wait for another run's lock (None: as long as it takes; 0: not at all).

    Yields
    ------
    Path
        ``folder``.

    Raises
    ------
    ReportBusy
        Another run still holds the lock after ``timeout`` seconds; the message names its pid.
    ReportError
        The lock file cannot be created (a read-only folder).
    """
    folder = Path(folder)
    path = lock_file(folder)
    wait = "as long as it takes" if timeout is None else f"up to {timeout:g} s"

    def waiting(who: str) -> None:
        log.warning("%s is in use by %s: waiting %s for it to finish", folder, who, wait)

    try:
        with locks.held(path, timeout=timeout, what=str(folder), waiting=waiting) as previous:
            since = (previous or {}).get("since")
            repair(folder)
            for gone in stale(folder, before=float(since) if isinstance(since, (int, float)) else None):
                shutil.rmtree(gone, ignore_errors=True)
                log.warning("removed %s, left behind by a run that ended (pid %s)", gone,
                            _TEMPORARY.match(gone.name)["pid"])  # type: ignore[index]
            yield folder
    except locks.Busy as busy:
        raise ReportBusy(f"{folder} is in use by {busy.holder}, still after {timeout:g} s: wait for "
                         f"that run to finish, or give a longer --wait") from None
    except locks.Unwritable as exc:
        raise ReportError(f"{path}: cannot lock {folder} ({exc.reason})") from None


def _running(pid: int) -> bool:
    """Whether ``pid`` is a running process on this machine (psutil: POSIX and Windows alike)."""
    if pid == os.getpid():
        return False  # this process holds the lock and has not started writing under it
    return bool(psutil.pid_exists(pid))


def stale(folder: str | os.PathLike[str], *, before: float | None = None) -> list[Path]:
    """The temporaries of ``folder`` a run that ended left behind (call it while holding :func:`hold`).

    A ``.tmp-<name>-<pid>`` or ``.old-<name>-<pid>`` beside ``folder`` (of the same name) or anywhere
    inside it is stale when its pid is not running on this machine, or when it was last modified
    before ``before`` (the time the previous holder took the lock: whatever wrote it ended first).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()); _ = (root / f".tmp-2024-{os.getpid()}").mkdir()
    >>> _ = (root / ".tmp-2024-en-1").mkdir()  # another folder's: not looked at
    >>> [p.name for p in stale(root / "2024")] == [f".tmp-2024-{os.getpid()}"]
    True
    """
    folder = Path(folder)
    found = []
    if folder.parent.is_dir():
        found += [p for p in folder.parent.iterdir() if (m := _TEMPORARY.match(p.name)) and m["name"] == folder.name]
    if folder.is_dir():
        for here, dirs, _files in os.walk(folder):
            found += [Path(here) / d for d in dirs if _TEMPORARY.match(d)]
            dirs[:] = [d for d in dirs if not _TEMPORARY.match(d)]
    gone = []
    for path in found:
        pid = int(_TEMPORARY.match(path.name)["pid"])  # type: ignore[index]
        try:
            older = before is not None and path.stat().st_mtime < before
        except OSError:
            continue
        if older or not _running(pid):
            gone.append(path)
    return sorted(gone)


def tmp_folder(final: str | os.PathLike[str]) -> Path:
    """A new, empty ``.tmp-<name>-<pid>`` beside ``final``, for the next version of ``final``."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def put_in_place(tmp: str | os.PathLike[str], final: str | os.PathLike[str]) -> Path:
    """Replace ``final`` by ``tmp``; the old ``final`` survives (as ``.old-<name>-<pid>``) until the swap succeeded.

    A crash between the two renames leaves the ``.old-`` folder and no ``final``: :func:`repair`
    (called by :func:`hold`) puts it back.
    """
    tmp, final = Path(tmp), Path(final)
    old = final.parent / f".old-{final.name}-{os.getpid()}"
    had_old = final.exists()
    if had_old:
        os.rename(final, old)
    try:
        os.rename(tmp, final)
    except BaseException:
        if had_old:
            os.rename(old, final)
        raise
    if had_old:
        shutil.rmtree(old, ignore_errors=True)
    return final


def repair(final: str | os.PathLike[str]) -> None:
    """If a crash left ``.old-<name>-<pid>`` beside ``final`` and no ``final``, put the newest back."""
    final = Path(final)
    if final.exists() or not final.parent.is_dir():
        return
    olds = [p for p in final.parent.iterdir()
            if (m := _TEMPORARY.match(p.name)) and p.name.startswith(".old-") and m["name"] == final.name]
    if olds:
        os.rename(max(olds, key=lambda p: p.stat().st_mtime), final)


@contextmanager
def replacing(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Write a new version of ``final`` in the yielded temporary folder; put in place only if the block succeeds."""
    tmp = tmp_folder(final)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    put_in_place(tmp, final)
