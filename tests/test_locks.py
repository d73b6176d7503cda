"""The one inter-process lock (fzanalysis.locks): who holds it, waiting, the timeout, the previous holder."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fzanalysis import locks

HOLD = """
import sys, time
from fzanalysis import locks
with locks.held(sys.argv[1], what="test"):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder_process(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_busy_names_the_other_process_and_waiting_is_said_once(tmp_path: Path) -> None:
    path = tmp_path / "sub" / ".lock"
    proc = _holder_process(path, 1.5)
    try:
        with pytest.raises(locks.Busy) as caught, locks.held(path, timeout=0):
            pass
        assert caught.value.holder.startswith(f"pid {proc.pid} on ")
        said: list[str] = []
        start = time.monotonic()
        with locks.held(path, timeout=30, waiting=said.append) as previous:
            waited = time.monotonic() - start
        assert said and said[0].startswith(f"pid {proc.pid} on ") and len(said) == 1
        assert waited > 0.3
        assert previous is not None and previous["pid"] == proc.pid and previous["what"] == "test"
    finally:
        proc.wait(10)


def test_timeout_raises_busy_after_waiting(tmp_path: Path) -> None:
    path = tmp_path / ".lock"
    proc = _holder_process(path, 3)
    try:
        start = time.monotonic()
        with pytest.raises(locks.Busy), locks.held(path, timeout=0.5):
            pass
        assert 0.4 < time.monotonic() - start < 2.5
    finally:
        proc.wait(10)


def test_file_records_this_process_and_the_previous_holder(tmp_path: Path) -> None:
    path = tmp_path / ".lock"
    with locks.held(path, what="first") as previous:
        assert previous is None
        record = json.loads(path.read_text("utf-8"))
        assert record["pid"] == os.getpid() and record["what"] == "first"
    with locks.held(path, what="second") as previous:
        assert previous is not None and previous["what"] == "first" and previous["since"] <= time.time()
    path.write_text("not json", "utf-8")
    assert locks.holder(path) == "another process"
    with locks.held(path) as previous:
        assert previous is None


def test_errors_in_the_block_are_not_taken_for_lock_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), locks.held(tmp_path / ".lock"):
        (tmp_path / "missing").read_text()


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="permissions are not enforced")
def test_unwritable_folder(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(locks.Unwritable) as caught, locks.held(ro / ".lock"):
            pass
        assert caught.value.reason
    finally:
        ro.chmod(0o700)


def test_the_holder_is_read_once_it_has_signed(tmp_path) -> None:
    """A second run that came a moment after the first read the lock file in the instant between the
    first's taking the lock and its writing its record, and said 'in use by another process'
    (the report-locks race test failed so under load).  An existing file read empty is read again
    until the holder has signed."""
    import json
    import threading
    import time

    from fzanalysis import locks

    path = tmp_path / ".lock"
    path.write_text("")

    def sign() -> None:
        time.sleep(0.1)
        path.write_text(json.dumps({"pid": 4321, "host": "h", "since": time.time(), "what": ""}))

    t = threading.Thread(target=sign)
    t.start()
    assert locks.holder(path).startswith("pid 4321 on h")
    t.join()
    assert locks.holder(tmp_path / "missing") == "another process"
    path.write_text("")
    started = time.monotonic()
    assert locks.holder(path, settle=0.05) == "another process" and time.monotonic() - started < 1
