"""Transactions of the processed folder: kill at every write point, a failing disk, two ingests at once."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fzanalysis.exceptions import PanelError, SubmissionError
from fzanalysis.panel import as_panel, ingest, store, withdraw

ROOT = Path(__file__).resolve().parents[1]
HEAD = "indicator,year,area,sex,value,numerator,denominator\n"


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "fzanalysis", *args], capture_output=True, text=True,
                          env=e, timeout=120)


@pytest.fixture
def first(tmp_path: Path) -> tuple[Path, Path, bytes]:
    out = tmp_path / "processed"
    a = _csv(tmp_path / "a.csv", ["health.hiv_testing_pregnant,2023,440117,T,98.1,,"])
    ingest([a], out_dir=out)
    b = _csv(tmp_path / "b.csv", ["health.hiv_testing_pregnant,2024,440117,T,98.4,,",
                                  "health.hiv_testing_pregnant,2023,440117,T,98.2,,"])
    return out, b, (out / "panel.csv").read_bytes()


# Every write point runs under `make test-all`; the default suite keeps the first, a middle and the
# commit point (each case starts a fresh interpreter, ~5-10 s).
_FAST_POINTS = {store.FAULT_POINTS[0], store.FAULT_POINTS[len(store.FAULT_POINTS) // 2], "commit"}


@pytest.mark.parametrize("point", [p if p in _FAST_POINTS else pytest.param(p, marks=pytest.mark.slow)
                                   for p in store.FAULT_POINTS])
def test_kill_at_each_write_point_leaves_a_committed_generation(first, point: str) -> None:
    out, b, before = first
    r = _run(["ingest", "--out-dir", str(out), str(b)], {"FZANALYSIS_FAULT": point})
    assert r.returncode == 137, r.stderr  # killed like kill -9
    state = store.read_state(out)  # never damaged
    values = dict(zip(state.panel.frame["year"], state.panel.frame["value"]))
    committed = store.FAULT_POINTS.index(point) >= store.FAULT_POINTS.index("commit")
    assert values == ({2023: 98.2, 2024: 98.4} if committed else {2023: 98.1})
    assert len(state.log) == (2 if committed else 1) and len(state.revisions) == (1 if committed else 0)
    # the next run repairs what the crash left and finishes the job
    res = ingest([b], out_dir=out)
    assert not res.has_error
    final = store.read_state(out)
    assert dict(zip(final.panel.frame["year"], final.panel.frame["value"])) == {2023: 98.2, 2024: 98.4}
    assert store.published_ok(out)
    assert as_panel(out / "panel.parquet").frame.equals(final.panel.frame)
    assert sorted(p.name for p in (out / "generations").iterdir())[-1] == (out / "CURRENT").read_text().strip()


@pytest.mark.parametrize("point", ["panel.parquet", pytest.param("revisions.csv", marks=pytest.mark.slow),
                                   pytest.param("manifest", marks=pytest.mark.slow), "publish"])
def test_injected_disk_full_keeps_the_previous_generation(first, point: str) -> None:
    out, b, before = first
    r = _run(["ingest", "--out-dir", str(out), str(b)], {"FZANALYSIS_FAULT": f"oserror:{point}"})
    state = store.read_state(out)
    if point == "publish":  # after the commit: the new generation stands, the copies are repaired next time
        assert r.returncode == 1 and len(state.log) == 2
    else:
        assert r.returncode == 1, r.stderr
        assert "No space left on device" in r.stderr and "原有数据完好" in r.stderr
        assert "Traceback" not in r.stderr
        assert (out / "panel.csv").read_bytes() == before and len(state.log) == 1
    assert not list(out.rglob("*.tmp"))


def test_damaged_generation_is_detected_and_rebuild_repairs_it(first, tmp_path: Path) -> None:
    out, b, before = first
    gen = out / "generations" / (out / "CURRENT").read_text().strip()
    (gen / "panel.parquet").write_bytes(b"")  # truncated
    with pytest.raises(PanelError, match="已损坏.*fzanalysis ingest --rebuild") as exc:
        store.read_state(out)
    assert "damaged" in exc.value.render("en") and "fzanalysis ingest --rebuild" in exc.value.render("en")
    r = _run(["ingest", "--out-dir", str(out), str(b)])
    assert r.returncode == 1 and "--rebuild" in r.stderr and "Traceback" not in r.stderr
    assert "已损坏" in r.stderr
    r = _run(["ingest", "--lang", "en", "--out-dir", str(out), str(b)])
    assert r.returncode == 1 and "the processed panel is damaged" in r.stderr
    r = _run(["ingest", "--rebuild", "--out-dir", str(out)])
    assert r.returncode == 0, r.stderr
    assert store.read_state(out).panel.frame["value"].tolist() == [98.1]


def test_second_ingest_refuses_while_the_first_holds_the_lock(first) -> None:
    out, b, _ = first
    with store.lock(out):
        r = _run(["ingest", "--wait", "0", "--out-dir", str(out), str(b)])
    assert r.returncode == 1
    assert "另一个入库进程正在运行" in r.stderr and f"pid {os.getpid()}" in r.stderr


def test_two_ingests_at_once_lose_nothing(tmp_path: Path) -> None:
    out = tmp_path / "processed"
    files = [_csv(tmp_path / f"f{i}.csv", [f"health.hiv_testing_pregnant,{2015 + i},440117,T,9{i}.5,,"])
             for i in range(4)]
    e = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "fzanalysis", "ingest", "--wait", "120", "--out-dir",
                               str(out), str(f)], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for f in files]
    codes = [p.wait(timeout=180) for p in procs]
    assert codes == [0, 0, 0, 0]
    state = store.read_state(out)
    assert sorted(state.panel.frame["year"]) == [2015, 2016, 2017, 2018]
    assert len(state.log) == 4


def test_out_dir_that_is_a_file_or_read_only(tmp_path: Path) -> None:
    f = _csv(tmp_path / "a.csv", ["health.hiv_testing_pregnant,2023,440117,T,98.1,,"])
    r = _run(["ingest", "--out-dir", str(f), str(f)])
    assert r.returncode == 1 and "不是文件夹" in r.stderr and "Traceback" not in r.stderr
    r = _run(["ingest", "--lang", "en", "--out-dir", str(f), str(f)])
    assert r.returncode == 1 and "found a file" in r.stderr
    r = _run(["ingest", "--out-dir", str(f / "sub"), str(f)])  # cannot be created: not writable
    assert r.returncode == 1 and "无法写入" in r.stderr and "Traceback" not in r.stderr


def test_withdraw_is_logged_as_a_revision_and_survives_rebuild(first) -> None:
    out, b, _ = first
    ingest([b], out_dir=out)
    keys = pd.DataFrame({"indicator": ["health.hiv_testing_pregnant"], "year": [2024]})
    res = withdraw(keys, reason="统计口径错误", out_dir=out)
    assert res.panel.frame["year"].tolist() == [2023]
    revs = store.read_state(out).revisions
    last = revs.iloc[-1]
    assert (last["year"], last["old_value"], last["new_source"]) == ("2024", "98.4", "withdrawn: 统计口径错误")
    with pytest.raises(SubmissionError, match="不在面板中") as exc:
        withdraw(keys, reason="again", out_dir=out)
    assert "not in the panel" in exc.value.render("en")
    # the year gone, the id misspelt: each says the panel key it is closest to
    assert "是否应为 (health.hiv_testing_pregnant, 2023, 440117, T)" in str(exc.value)
    slip = pd.DataFrame({"indicator": ["health.hiv_testng_pregnant"], "year": [2023]})
    with pytest.raises(SubmissionError) as exc:
        withdraw(slip, reason="x", out_dir=out)
    assert "did you mean (health.hiv_testing_pregnant, 2023, 440117, T)?" in exc.value.render("en")
    with pytest.raises(SubmissionError) as exc:
        withdraw(slip.assign(indicator="economy.nothing_like_it"), reason="x", out_dir=out)
    assert "did you mean" not in exc.value.render("en")
    with pytest.raises(SubmissionError, match="必须说明原因"):
        withdraw(keys, reason=" ", out_dir=out)
    r = _run(["ingest", "--rebuild", "--out-dir", str(out)])
    assert r.returncode == 0, r.stderr
    assert store.read_state(out).panel.frame["year"].tolist() == [2023]
    r = _run(["withdraw", "--indicator", "health.hiv_testing_pregnant", "--year", "2023", "--reason", "x",
              "--out-dir", str(out)])
    assert r.returncode == 0 and store.read_state(out).panel.frame.empty


@pytest.mark.parametrize(("key", "zh", "en"), [
    ({"indicator": [""], "year": [2024]}, "没有给出要撤回的指标代码", "no indicator given"),
    ({"indicator": ["health.hiv_testing_pregnant"], "year": ["2024年度上半年"]}, "不是 1900–2100 之间的整数年份",
     "is not a whole year in 1900–2100"),
    ({"indicator": ["health.hiv_testing_pregnant"], "year": [2024], "area": ["新城镇"]}, "不是本区的地区代码或名称",
     "neither an area code nor an area name"),
    ({"indicator": ["health.hiv_testing_pregnant"], "year": [2024], "sex": ["X"]}, "性别“X”无法识别",
     "sex X is not one of F, M, T"),
])
def test_withdraw_refuses_a_malformed_key_in_the_clerks_words(first, key: dict, zh: str, en: str) -> None:
    out, _, before = first
    with pytest.raises(SubmissionError) as exc:
        withdraw(pd.DataFrame(key), reason="统计口径错误", out_dir=out)
    assert zh in str(exc.value) and "未撤回任何数据" in str(exc.value)  # Chinese by default
    assert en in exc.value.render("en") and "nothing withdrawn" in exc.value.render("en")
    assert (out / "panel.csv").read_bytes() == before  # nothing withdrawn, nothing written


def test_withdraw_reads_the_key_as_a_submission_cell_and_the_cli_speaks_chinese(first) -> None:
    out, _, _ = first
    # a year typed as 2023年, the district by its name, sex as 合计: the same key
    keys = pd.DataFrame({"indicator": ["health.hiv_testing_pregnant"], "year": ["2023年"], "area": ["从化区"],
                         "sex": ["合计"]})
    assert withdraw(keys, reason="统计口径错误", out_dir=out).panel.frame.empty
    args = ["withdraw", "--indicator", "health.hiv_testing_pregnant", "--year", "二〇二三", "--reason", "x",
            "--out-dir", str(out)]
    r = _run(args)
    assert r.returncode == 1 and "不是 1900–2100 之间的整数年份" in r.stderr and "Traceback" not in r.stderr
    r = _run([*args, "--lang", "en"])
    assert r.returncode == 1 and "is not a whole year" in r.stderr


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_files_written_atomically_get_the_mode_a_plain_write_would(tmp_path: Path) -> None:
    """mkstemp's temporary is 0600: the panel, its log and the feedback workbooks were readable by
    their owner only, whatever the umask, so the group sharing data/processed could not read them.
    A new file gets 0666 less the umask; a replaced file keeps its own mode."""
    from fzanalysis.panel.safe import atomic_write_bytes

    old = os.umask(0o022)
    try:
        new = atomic_write_bytes(tmp_path / "panel.csv", b"a\n")
        assert new.stat().st_mode & 0o777 == 0o644
        os.umask(0o002)
        assert atomic_write_bytes(tmp_path / "other.csv", b"a\n").stat().st_mode & 0o777 == 0o664
        new.chmod(0o640)
        assert atomic_write_bytes(new, b"b\n").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
