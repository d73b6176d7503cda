"""One lock per report folder and cache: runs on the same output take turns, never a traceback.

The chapters are tiny toy notebooks (one cell that prints), so each test takes seconds.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from toy_notebooks import write_notebook

from fzanalysis import report
from fzanalysis.exceptions import ReportBusy
from fzanalysis.report import folders, results

PARAMS = (
    'year: int = 2024  # report year\n'
    'kind: str = "annual"  # report kind\n'
    'lang: str = "zh"  # language\n'
    'data_path: str = ""  # panel file, empty: demo data\n'
)
SPEC = {"year": 2024, "kind": "annual", "notebooks": [{"notebook": "slow.ipynb"}]}


@pytest.fixture
def toy(tmp_path: Path) -> dict[str, Path]:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "slow.ipynb", "import time\ntime.sleep(1.5)\nprint('chapter', year)", params=PARAMS)
    return {"dir": nbs, "out": tmp_path / "reports"}


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _temporaries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name.startswith((".tmp-", ".old-")))


class _Said(logging.Handler):
    """Collects the runner's messages; ``waiting`` is set once one says a folder is in use."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.waiting = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if "is in use by" in record.getMessage():
            self.waiting.set()


@pytest.fixture
def said():
    handler = _Said()
    logger = logging.getLogger("fzanalysis.report")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _race(toy: dict[str, Path], data: Path, start, queue) -> None:  # runs in a child process
    handler = _Said()
    logging.getLogger("fzanalysis.report").addHandler(handler)
    start.wait()
    try:
        res = report.run_report(2024, data=data, out_root=toy["out"], progress=False, jobs=1,
                                notebooks_dir=toy["dir"], params=SPEC, wait=120)
        queue.put((os.getpid(), res.exit_code, str(res.out_dir), handler.messages))
    except BaseException as exc:  # the test fails on anything but a clean report
        queue.put((os.getpid(), repr(exc), "", handler.messages))


def test_two_runs_racing_on_one_folder_both_end_cleanly_with_one_good_report(toy, small_panel):
    """Two processes run the same report at once: the second waits, naming the first; both succeed."""
    out = toy["out"]
    dead = _dead_pid()
    (out / f".tmp-2024-{dead}").mkdir(parents=True)  # a killed run's leftover
    ctx = multiprocessing.get_context("fork")  # the children share this process's imports: seconds, not minutes
    start, queue = ctx.Event(), ctx.Queue()
    children = [ctx.Process(target=_race, args=(toy, small_panel, start, queue)) for _ in range(2)]
    for child in children:
        child.start()
    start.set()
    ended = [queue.get(timeout=240) for _ in children]
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    assert [e[1] for e in ended] == [0, 0], ended
    assert {e[2] for e in ended} == {str(out / "2024")}
    assert "chapter 2024" in (out / "2024" / "slow.html").read_text("utf-8")
    # the one that came second waited for the other, naming its pid and the folder
    waited = [(pid, m) for pid, _, _, messages in ended for m in messages if "is in use by" in m]
    assert len(waited) == 1, ended
    pid, message = waited[0]
    other = next(p for p, *_ in ended if p != pid)
    assert f"pid {other} " in message and str(out / "2024") in message
    # no temporaries left, and the killed run's one removed with a note
    assert _temporaries(out) == []
    assert any(f".tmp-2024-{dead}" in m and f"pid {dead}" in m for *_, messages in ended for m in messages)


def test_stale_temporaries_of_dead_runs_are_removed_and_a_live_ones_kept(tmp_path, said):
    root, live = tmp_path / "reports", subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _dead_pid()
        cache = root / ".cache"
        leftovers = [root / f".tmp-2024-{dead}", root / f".old-2024-{dead}",
                     cache / "key" / "chapters" / f".tmp-01_overview-abc-{dead}", cache / f".tmp-key-{dead}"]
        kept = [root / f".tmp-2024-{live.pid}", cache / "key" / "chapters" / f".tmp-02_x-abc-{live.pid}",
                root / f".tmp-2024-en-{dead}",  # another report folder's: under another lock
                root / ".failed-2024-20250101T000000000000Z"]
        for path in leftovers + kept:
            path.mkdir(parents=True)
        (root / "2024").mkdir()
        with folders.hold(root / "2024", timeout=0), folders.hold(cache, timeout=0):
            assert all(p.exists() for p in kept)
            assert not any(p.exists() for p in leftovers)
        for path in leftovers:
            assert any(path.name in m and f"pid {dead}" in m for m in said.messages), said.messages

        # a temporary older than the previous holder's lock belongs to a run that ended before it,
        # whatever process has that pid now (pids are reused)
        reused = root / f".tmp-2024-{live.pid}"
        os.utime(reused, (time.time() - 3600, time.time() - 3600))
        with folders.hold(root / "2024", timeout=0):
            assert not reused.exists()
    finally:
        live.kill()
        live.wait()


def test_a_crash_between_the_two_renames_is_repaired_when_the_lock_is_taken(tmp_path):
    old = tmp_path / f".old-2024-{_dead_pid()}"
    old.mkdir()
    (old / "index.html").write_text("last good")
    with folders.hold(tmp_path / "2024", timeout=0):
        assert (tmp_path / "2024" / "index.html").read_text() == "last good"
    assert _temporaries(tmp_path) == []


def _hold_until_waited_for(cache: Path, store: Path, said: _Said, held: threading.Event, seen: dict) -> None:
    with folders.hold(cache, timeout=0):
        held.set()
        seen["waited"] = said.waiting.wait(timeout=120)
        time.sleep(0.3)
        seen["intact"] = results.is_intact(store)
        seen["inode"] = store.stat().st_ino


def test_force_waits_for_the_lock_before_replacing_the_results_store(toy, small_panel, said):
    out = toy["out"]
    first = report.run_report(2024, data=small_panel, out_root=out, progress=False, jobs=1,
                              notebooks_dir=toy["dir"], params=SPEC)
    assert first.ok
    store = next((out / ".cache").glob("*/results"))
    before = store.stat().st_ino
    held, seen = threading.Event(), {}
    holder = threading.Thread(target=_hold_until_waited_for, args=(out / ".cache", store, said, held, seen))
    holder.start()
    assert held.wait(timeout=30)
    again = report.run_report(2024, data=small_panel, out_root=out, progress=False, jobs=1,
                              notebooks_dir=toy["dir"], params=SPEC, force=True, wait=120)
    holder.join()
    assert again.ok
    # --force waited: while the other run held the cache its store was there, whole and untouched
    assert seen == {"waited": True, "intact": True, "inode": before}
    assert any(f"pid {os.getpid()} " in m and str(out / ".cache") in m for m in said.messages)
    assert results.is_intact(store) and store.stat().st_ino != before  # then recomputed and replaced
    assert _temporaries(out) == []


def test_a_run_that_waited_too_long_fails_with_a_clear_error_not_a_traceback(toy, small_panel, capsys):
    from fzanalysis.cli import main

    out = toy["out"]
    with folders.hold(out / "2024", timeout=0):
        with pytest.raises(ReportBusy, match=rf"{out / '2024'} is in use by pid {os.getpid()} .*after 0.2 s"):
            report.run_report(2024, data=small_panel, out_root=out, progress=False, jobs=1,
                              notebooks_dir=toy["dir"], params=SPEC, wait=0.2)
        params = toy["dir"] / "slow.yaml"
        params.write_text(f"year: 2024\nkind: annual\nnotebooks:\n  - notebook: {toy['dir'] / 'slow.ipynb'}\n",
                          encoding="utf-8")
        code = main(["report", "--year", "2024", "--data", str(small_panel), "--out", str(out), "--no-progress",
                     "--params", str(params), "--wait", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "fzanalysis report: error:" in err and f"in use by pid {os.getpid()}" in err and "--wait" in err
    assert "Traceback" not in err
    assert not (out / "2024").exists() and _temporaries(out) == []  # nothing was written
