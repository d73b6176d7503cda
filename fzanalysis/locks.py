"""The one inter-process lock: a `filelock <https://py-filelock.readthedocs.io>`_ lock file that
records who holds it.

Every writer that must not run twice at once takes :func:`held`: the ingest on its processed
folder (:func:`fzanalysis.panel.store.lock`, raising ``StoreBusy``) and a report run on each
folder it writes (:func:`fzanalysis.report.folders.hold`, raising ``ReportBusy``).  Both layers
call this module, which knows nothing of either; each turns :class:`Busy` into its own error.

The lock file holds one JSON object, ``{"pid", "host", "since", "what"}``, written once the lock
is taken; :func:`holder` reads it back in words for the "waiting for …" and "busy" messages.
filelock keeps the file after release on purpose (deleting it would race with a waiter).
"""
from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

__all__ = ["Busy", "Unwritable", "held", "holder"]


class Busy(Exception):
    """The lock is still held by another process after the timeout.

    Attributes
    ----------
    path : Path
        The lock file.
    holder : str
        Who holds it, in words (:func:`holder`).
    """

    def __init__(self, path: Path, holder: str):
        self.path, self.holder = path, holder
        super().__init__(f"{path} is held by {holder}")


class Unwritable(Exception):
    """The lock file cannot be created or opened (a read-only or missing folder).

    Attributes
    ----------
    path : Path
        The lock file.
    reason : str
        The operating system's words (``strerror``).
    """

    def __init__(self, path: Path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}")


def holder(path: str | os.PathLike[str], *, settle: float = 0.5) -> str:
    """Who holds the lock at ``path``, in words, as its holder recorded it.

    Returns ``"another process"`` when the file is missing, empty or unreadable.  A holder
    writes its record just after it takes the lock (the file is empty for that instant), so an
    existing file read empty or half-written is read again for up to ``settle`` seconds before
    the holder is said to be unknown.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / ".lock"
    >>> holder(path)
    'another process'
    >>> with held(path, what="demo"):
    ...     holder(path).startswith(f"pid {os.getpid()} on ")
    True
    """
    end = time.monotonic() + settle
    while True:
        try:
            who = json.loads(Path(path).read_text("utf-8"))
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(who["since"])))
            return f"pid {int(who['pid'])} on {who['host']} (since {since})"
        except FileNotFoundError:
            return "another process"
        except (OSError, ValueError, TypeError, KeyError):
            if time.monotonic() >= end:
                return "another process"
            time.sleep(0.01)


@contextmanager
def held(path: str | os.PathLike[str], *, timeout: float | None = 0.0, what: str = "",
         waiting: Callable[[str], None] | None = None) -> Iterator[dict[str, Any] | None]:
    """Hold the lock file ``path`` for the ``with`` block (its folder is created).

    Parameters
    ----------
    path : path
        The lock file.
    timeout : float or None, optional
        Seconds to wait for another holder (0: not at all; None: as long as it takes).
    what : str, optional
        What the lock guards, recorded in the file (for a reader of the file).
    waiting : callable, optional
        Called once with :func:`holder` in words when the lock is taken by another process and
        this call is about to wait for it (to log "waiting for pid … to finish").

    Yields
    ------
    dict or None
        The record of the previous holder (``pid``, ``host``, ``since``, ``what``), or None
        when the file was new or unreadable; callers use ``since`` to tell what a run that ended
        left behind.

    Raises
    ------
    Busy
        Another process still holds the lock after ``timeout`` seconds.
    Unwritable
        The lock file cannot be created (a read-only folder); callers name the folder.  Only the
        taking of the lock raises it, never the ``with`` block, so a caller can tell the two apart.
    """
    path = Path(path)
    previous: list[dict[str, Any]] = []

    def sign(fd: int) -> None:  # called by filelock once the lock is ours: keep who had it, write us
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            record = json.loads(os.read(fd, 4096).decode("utf-8"))
            if isinstance(record, dict):
                previous.append(record)
        except ValueError:
            pass
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                                 "what": what}).encode("utf-8"))

    lock = FileLock(path, on_acquired=sign)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if timeout == 0:
                raise Busy(path, holder(path)) from None
            if waiting is not None:
                waiting(holder(path))
            try:
                lock.acquire(timeout=-1 if timeout is None else timeout)
            except Timeout:
                raise Busy(path, holder(path)) from None
    except OSError as exc:
        raise Unwritable(path, str(exc.strerror or exc)) from None
    try:
        yield previous[0] if previous else None
    finally:
        lock.release()
