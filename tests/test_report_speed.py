"""Compute once, cache, batches and a cluster (issue 15): the results store and the chapter cache.

The notebooks are tiny ones written here that read the results store as the real chapters do,
so that each behaviour is tested in seconds; the real notebooks run in test_notebooks.py.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from toy_notebooks import write_notebook

from fzanalysis import catalog, demo, report
from fzanalysis.exceptions import FzWarning
from fzanalysis.panel import as_panel
from fzanalysis.report import cache, results
from fzanalysis.report.cli import requests, years_option

PARAMS = (
    'year: int = 2024  # report year\n'
    'kind: str = "annual"  # report kind\n'
    'lang: str = "zh"  # language\n'
    'data_path: str = ""  # panel file, empty: demo data\n'
    'results_path: str = ""  # the results store\n'
)
BODY = (
    "import fzanalysis.report as report\n"
    "ctx = report.setup(year=year, kind=kind, lang=lang, data_path=data_path, results_path=results_path)\n"
    "print('judged', len(ctx.judgement), 'store', ctx.results_path is not None)\n"
)


def _nb(path: Path, body: str = BODY) -> Path:
    return write_notebook(path, body, params=PARAMS)


@pytest.fixture
def toy(tmp_path: Path) -> dict[str, Path]:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _nb(nbs / "a.ipynb")
    _nb(nbs / "b.ipynb", BODY + "print('second chapter')\n")
    return {"dir": nbs, "out": tmp_path / "reports"}


def _params(*names: str) -> dict:
    return {"year": 2024, "kind": "annual", "notebooks": [{"notebook": n} for n in names]}


def _printed(out_dir: Path, stem: str) -> str:
    nb = nbformat.read(str(out_dir / f"{stem}.ipynb"), as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


# ------------------------------------------------------------------------------ the store


def test_store_round_trip_is_exact_and_keyed_by_content(tmp_path: Path):
    cat = catalog.normalize()
    pnl = as_panel(demo.load(), catalog=cat)
    res = results.compute(pnl, cat, year=2023)
    back = results.load(results.write(res, tmp_path / "store"))
    pd.testing.assert_frame_equal(back.evaluation.series, res.evaluation.series)
    pd.testing.assert_frame_equal(back.evaluation.projections, res.evaluation.projections)
    pd.testing.assert_frame_equal(back.paths, res.paths.reset_index(drop=True))
    pd.testing.assert_frame_equal(back.gaps, res.gaps.reset_index(drop=True))
    assert back.evaluation.synthetic is True and back.meta["year"] == 2023
    # figures after the assessed year are not used
    assert back.evaluation.series["year"].max() <= 2023
    # the key changes with one value, one parameter, and not otherwise
    key = results.results_key(pnl, cat, year=2023, baseline_year=2020, level=0.8)
    assert key == res.key
    frame = pnl.frame.copy()
    frame.loc[0, "value"] = frame.loc[0, "value"] + 0.1
    changed = as_panel(frame, catalog=cat)
    assert results.results_key(changed, cat, year=2023, baseline_year=2020, level=0.8) != key
    assert results.results_key(pnl, cat, year=2023, baseline_year=2020, level=0.9) != key
    cat2 = cat.copy()
    first_numeric = cat2.index[cat2["target"].notna()][0]
    cat2.loc[first_numeric, "target"] = cat2.loc[first_numeric, "target"] + 1
    assert results.results_key(pnl, cat2, year=2023, baseline_year=2020, level=0.8) != key


def test_a_chapter_reads_the_store_instead_of_computing(tmp_path: Path, monkeypatch):
    cat = catalog.normalize()
    pnl = as_panel(demo.load(), catalog=cat)
    folder, found = results.ensure(pnl, cat, tmp_path, year=2024)
    assert not found and results.ensure(pnl, cat, tmp_path, year=2024) == (folder, True)

    def no_compute(*args, **kwargs):
        raise AssertionError("a chapter with a results store must not compute")

    monkeypatch.setattr("fzanalysis.report.context.evaluate", no_compute)
    monkeypatch.setattr("fzanalysis.trend.project_paths", no_compute)
    ctx = report.setup(year=2024, show=False, results_path=folder)
    assert len(ctx.judgement) == len(cat) and len(ctx.paths) and len(ctx.gaps)
    assert ctx.projected is ctx.evaluation.projections
    # a store made for other parameters is refused, not silently used
    with pytest.raises(report.ReportError, match="results store computed for"):
        _ = report.setup(year=2024, level=0.9, show=False, results_path=folder).evaluation


def test_a_broken_store_says_how_to_recover(tmp_path: Path):
    (tmp_path / "meta.json").write_text("{", encoding="utf-8")
    with pytest.raises(report.ReportError, match="--force"):
        results.load(tmp_path)


def test_notebook_kernels_do_not_import_the_runner():
    """`import fzanalysis.report` (every chapter's first line) stays light: no papermill/nbconvert."""
    code = ("import sys, fzanalysis.report as r; "
            "print(sorted(m for m in ('papermill', 'nbconvert', 'nbformat', 'jsonschema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------------------ the cache


def test_unchanged_rerun_executes_nothing_and_force_executes_everything(toy, small_panel):
    out = toy["out"]
    kw = dict(data=small_panel, out_root=out, progress=False, notebooks_dir=toy["dir"], jobs=1)
    first = report.run_report(2024, params=_params("a.ipynb", "b.ipynb"), **kw)
    assert first.ok, first.runs
    assert [r.get("cached") for r in first.runs] == [None, None] and not first.provenance["results"]["from_cache"]
    assert "judged 87 store True" in _printed(first.out_dir, "a")
    before = (first.out_dir / "a.html").read_bytes()

    again = report.run_report(2024, params=_params("a.ipynb", "b.ipynb"), **kw)
    assert again.ok
    assert [r["cached"] for r in again.runs] == [True, True]
    assert again.provenance["results"]["from_cache"] and again.provenance["outputs_cached"]
    assert [n["cached"] for n in again.provenance["notebooks"]] == [True, True]
    assert (again.out_dir / "a.html").read_bytes() == before
    pd.testing.assert_frame_equal(again.judgement, first.judgement)
    assert {"status.csv", "status.xlsx", "2024-report.docx"} <= {p.name for p in again.out_dir.iterdir()}

    # an edited notebook runs again; the unchanged one comes from the cache
    _nb(toy["dir"] / "b.ipynb", BODY + "print('edited')\n")
    edited = report.run_report(2024, params=_params("a.ipynb", "b.ipynb"), **kw)
    assert [r.get("cached", False) for r in edited.runs] == [True, False]
    assert "edited" in _printed(edited.out_dir, "b")

    forced = report.run_report(2024, params=_params("a.ipynb", "b.ipynb"), force=True, **kw)
    assert [r.get("cached", False) for r in forced.runs] == [False, False]
    assert not forced.provenance["results"]["from_cache"] and not forced.provenance["outputs_cached"]


def test_new_data_give_a_new_store_and_new_chapters(toy, small_panel, tmp_path):
    out = toy["out"]
    kw = dict(out_root=out, progress=False, notebooks_dir=toy["dir"], jobs=1, params=_params("a.ipynb"))
    first = report.run_report(2024, data=small_panel, **kw)
    frame = pd.read_csv(small_panel)
    frame.loc[frame["year"] == 2024, "value"] += 1.0
    other = tmp_path / "other.csv"
    frame.to_csv(other, index=False)
    second = report.run_report(2024, data=other, **kw)
    assert second.provenance["results"]["key"] != first.provenance["results"]["key"]
    assert not second.runs[0].get("cached")


def test_failed_chapters_are_never_cached(toy, small_panel):
    _nb(toy["dir"] / "bad.ipynb", BODY + "raise RuntimeError('deliberate')\n")
    kw = dict(data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"], jobs=1,
              params=_params("bad.ipynb"))
    assert not report.run_report(2024, **kw).ok
    again = report.run_report(2024, **kw)
    assert not again.ok and not again.runs[0].get("cached")


def test_prune_keeps_the_most_recently_used(tmp_path: Path):
    import os
    import time

    for i in range(4):
        (tmp_path / f"k{i}" / "results").mkdir(parents=True)
        os.utime(tmp_path / f"k{i}", (time.time() - 100 + i, time.time() - 100 + i))
    gone = cache.prune(tmp_path, keep=2)
    assert sorted(p.name for p in gone) == ["k0", "k1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k2", "k3"]


# ------------------------------------------------------------------------------ batches and dask


def test_year_ranges_and_batches():
    assert years_option("2021-2024") == [2021, 2022, 2023, 2024]
    assert years_option("2024,2021-2022") == [2024, 2021, 2022]
    import argparse

    with pytest.raises(argparse.ArgumentTypeError):
        years_option("2024-2021")
    with pytest.raises(argparse.ArgumentTypeError):
        years_option("twenty")
    # a mid-term report is for 2025: in a batch of years it is skipped for the others
    batch = requests([2024, 2025], ["annual", "midterm"], ["zh"], ["conghua"])
    assert batch == [(2024, "annual", "zh", "conghua"), (2025, "annual", "zh", "conghua"),
                     (2025, "midterm", "zh", "conghua")]
    # asked for alone, it is the run's error (not silently dropped)
    assert requests([2024], ["midterm"], ["zh"], ["conghua"]) == [(2024, "midterm", "zh", "conghua")]


def test_a_batch_shares_one_run_and_one_store_per_year(toy, small_panel):
    res = report.run_reports([(2023, "annual", "zh", "conghua"), (2024, "annual", "zh", "conghua")],
                             data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"],
                             jobs=2, params={"kind": "annual", "notebooks": [{"notebook": "a.ipynb"}]})
    assert [r.ok for r in res] == [True, True]
    assert [r.out_dir.name for r in res] == ["2023", "2024"]
    assert res[0].provenance["results"]["key"] != res[1].provenance["results"]["key"]
    assert res[0].judgement["year"].max() == 2023 and res[1].judgement["year"].max() == 2024


def test_dask_local_cluster_gives_the_same_report(toy, small_panel, tmp_path):
    pytest.importorskip("distributed")
    kw = dict(data=small_panel, progress=False, notebooks_dir=toy["dir"], params=_params("a.ipynb"))
    local = report.run_report(2024, out_root=tmp_path / "local", jobs=1, **kw)
    dask = report.run_report(2024, out_root=tmp_path / "dask", jobs=2, dask="local", **kw)
    assert local.ok and dask.ok, dask.runs
    assert dask.provenance["parameters"]["dask"] == "local"
    pd.testing.assert_frame_equal(dask.judgement, local.judgement)
    a = pd.read_csv(local.out_dir / "status.csv", encoding="utf-8-sig").drop(columns=["provenance"])
    b = pd.read_csv(dask.out_dir / "status.csv", encoding="utf-8-sig").drop(columns=["provenance"])
    pd.testing.assert_frame_equal(a, b)
    assert _printed(dask.out_dir, "a") == _printed(local.out_dir, "a")


def test_provenance_records_cache_and_store(toy, small_panel):
    res = report.run_report(2024, data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"],
                            jobs=1, params=_params("a.ipynb"))
    prov = json.loads((res.out_dir / "provenance.json").read_text("utf-8"))
    assert set(prov["results"]) == {"key", "from_cache"} and prov["code_version"]
    assert prov["notebooks"][0]["parameters"]["results_path"].endswith("/results")


# ------------------------------------------------------------------------------ kept kernels

PROBE = (
    "import os\n"
    "print('pid', os.getpid(), 'cwd', os.getcwd(), 'plan', os.environ.get('FZANALYSIS_PLAN'))\n"
    "print('leaked' if 'leak' in globals() else 'clean', 'count', get_ipython().execution_count)\n"
    "leak = 1\n"
)


def _probe(out_dir: Path, stem: str) -> dict[str, str]:
    words = _printed(out_dir, stem).split()
    return {"pid": words[1], "cwd": words[3], "plan": words[5], "state": words[6], "count": words[8]}


def test_chapters_share_a_kept_kernel_reset_between_them(toy, small_panel):
    """One kernel per worker runs its chapters in turn: same pid, an empty namespace, cells from 1."""
    from fzanalysis.report import kernels

    _nb(toy["dir"] / "p1.ipynb", PROBE)
    _nb(toy["dir"] / "p2.ipynb", PROBE)
    res = report.run_report(2024, data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"],
                            jobs=1, params=_params("p1.ipynb", "p2.ipynb"))
    assert res.ok, res.runs
    one, two = _probe(res.out_dir, "p1"), _probe(res.out_dir, "p2")
    assert one["pid"] == two["pid"] != str(__import__("os").getpid())
    assert one["state"] == two["state"] == "clean"  # p1's `leak` did not reach p2
    assert one["count"] == two["count"]  # numbered as in a fresh kernel (compared in the next tests)
    assert one["cwd"] == two["cwd"] == str(toy["dir"]) and one["plan"] == "conghua"
    # the run shut its kernel down
    assert kernels._KERNELS == {}
    assert not Path(f"/proc/{one['pid']}").exists() or "zombie" in Path(f"/proc/{one['pid']}/status").read_text()


def test_a_failed_chapter_never_leaves_its_kernel_to_the_next(toy, small_panel):
    _nb(toy["dir"] / "bad.ipynb", PROBE + "raise RuntimeError('deliberate')\n")
    _nb(toy["dir"] / "p2.ipynb", PROBE)
    res = report.run_report(2024, data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"],
                            jobs=1, params=_params("bad.ipynb", "p2.ipynb"))
    assert [r["ok"] for r in res.runs] == [False, True]
    assert "deliberate" in res.runs[0]["error"]
    bad, after = _probe(res.out_dir, "bad"), _probe(res.out_dir, "p2")  # out_dir: the kept .failed- folder
    assert bad["pid"] != after["pid"] and after["state"] == "clean"


def test_kept_and_fresh_kernels_write_the_same_chapters(toy, small_panel, tmp_path):
    kw = dict(data=small_panel, progress=False, notebooks_dir=toy["dir"], jobs=1, params=_params("a.ipynb", "b.ipynb"))
    kept = report.run_report(2024, out_root=tmp_path / "kept", **kw)
    fresh = report.run_report(2024, out_root=tmp_path / "fresh", fresh_kernels=True, **kw)
    assert kept.ok and fresh.ok
    for stem in ("a", "b"):
        a = nbformat.read(str(kept.out_dir / f"{stem}.ipynb"), as_version=4)
        b = nbformat.read(str(fresh.out_dir / f"{stem}.ipynb"), as_version=4)
        assert [(c.get("execution_count"), c.get("outputs")) for c in a.cells] == \
            [(c.get("execution_count"), c.get("outputs")) for c in b.cells]


def test_a_kept_kernel_that_died_is_replaced_before_the_next_chapter(toy, small_panel, monkeypatch):
    """A kernel that died between chapters (killed, out of memory) costs the next chapter nothing."""
    import os
    import signal

    from fzanalysis.report import kernels, runner

    _nb(toy["dir"] / "p1.ipynb", PROBE + "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    _nb(toy["dir"] / "p2.ipynb", PROBE)
    res = report.run_report(2024, data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"],
                            jobs=1, params=_params("p1.ipynb", "p2.ipynb"))
    assert [r["ok"] for r in res.runs] == [False, True]
    assert _probe(res.out_dir, "p2")["state"] == "clean"
    # and a kernel killed while kept (not during a chapter) is noticed at the next reset
    km = kernels._kernel(runner.kernel_name(), None, [])
    os.kill(km.provisioner.pid, signal.SIGKILL)
    km.provisioner.process.wait()
    out = toy["out"] / "direct.ipynb"
    kernels.execute(str(toy["dir"] / "p2.ipynb"), str(out), parameters={}, kernel=runner.kernel_name(),
                    cwd=str(toy["dir"]))
    assert "clean" in _printed(out.parent, "direct")
    kernels.shutdown_all()


# ------------------------------------------------------------------------------ never a stale result
# An adversarial user changes one input, damages the cache or runs in a long-lived process: the
# report must show the new numbers, or say clearly why it cannot; it never serves old or broken files.


def _same_size_and_time(path: Path, old: bytes, new: bytes) -> None:
    """Replace ``old`` by ``new`` (same length) in ``path``, keeping its size and modification time."""
    import os

    assert len(old) == len(new)
    st = path.stat()
    data = path.read_bytes()
    assert data.count(old) == 1, old
    path.write_bytes(data.replace(old, new))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _cached_files(out: Path, section: str, name: str) -> Path:
    [entry] = [p for p in (out / ".cache").glob(f"*/{section}/*") if p.name.startswith(name)]
    return entry


def test_a_damaged_cache_entry_is_recomputed_never_served(toy, small_panel):
    import openpyxl

    kw = dict(data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"], jobs=1,
              params=_params("a.ipynb"))
    first = report.run_report(2024, **kw)
    assert first.ok
    page = _cached_files(toy["out"], "chapters", "a-") / "a.html"
    page.write_bytes(page.read_bytes()[:100])  # truncated (a full disk, a killed copy)
    [outputs] = [p for p in (toy["out"] / ".cache").glob("*/outputs/*")]
    workbook = outputs / "status.xlsx"
    size = workbook.stat().st_size
    workbook.write_bytes(workbook.read_bytes()[:-1] + b"X")  # same size, one byte changed
    assert workbook.stat().st_size == size

    again = report.run_report(2024, **kw)
    assert again.ok, again.runs
    assert not again.runs[0].get("cached") and not again.provenance["outputs_cached"]
    assert (again.out_dir / "a.html").stat().st_size > 1000
    openpyxl.load_workbook(again.out_dir / "status.xlsx")  # a whole workbook, not the damaged one
    # the damaged entries were replaced by good ones
    third = report.run_report(2024, **kw)
    assert third.runs[0]["cached"] and third.provenance["outputs_cached"]


def test_a_damaged_results_store_is_recomputed(toy, small_panel):
    kw = dict(data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"], jobs=1,
              params=_params("a.ipynb"))
    first = report.run_report(2024, **kw)
    [store] = list((toy["out"] / ".cache").glob("*/results"))
    table = store / "series.parquet"
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    again = report.run_report(2024, force=False, **kw)
    assert again.ok, again.runs
    assert not again.provenance["results"]["from_cache"]
    pd.testing.assert_frame_equal(again.judgement, first.judgement)


def test_code_version_sees_every_file_even_edited_in_place(tmp_path: Path):
    """Templates (Word, HTML) are code too; an edit keeping size and time is still seen in one process."""
    package, data = tmp_path / "pkg", tmp_path / "data"
    (package / "templates").mkdir(parents=True)
    data.mkdir()
    (package / "mod.py").write_text("X = 1\n", encoding="utf-8")
    (package / "templates" / "report.css").write_text("h1 {color: red}\n", encoding="utf-8")
    (data / "trend.yaml").write_text("min_points: 3\n", encoding="utf-8")
    first = results.code_version(package=package, data=data)
    _same_size_and_time(package / "templates" / "report.css", b"red", b"tan")
    second = results.code_version(package=package, data=data)
    assert second != first
    _same_size_and_time(data / "trend.yaml", b"3", b"4")
    assert results.code_version(package=package, data=data) not in (first, second)
    # compiled files are not code the user changes (written by any import)
    third = results.code_version(package=package, data=data)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "mod.cpython-312.pyc").write_bytes(b"\0")
    assert results.code_version(package=package, data=data) == third


def test_a_reference_file_edited_in_place_reaches_a_run_in_the_same_process(toy, small_panel, tmp_path,
                                                                           monkeypatch):
    """run_report called twice from one Python session (JupyterLab): a label edited in between shows."""
    import shutil

    import openpyxl

    from fzanalysis.paths import data_dir

    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    monkeypatch.setenv("FZANALYSIS_DATA", str(copy))
    kw = dict(data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"], jobs=1,
              params=_params("a.ipynb"))
    first = report.run_report(2024, **kw)
    assert "Provenance" in openpyxl.load_workbook(first.out_dir / "status.xlsx", read_only=True).sheetnames or \
        "来源" in openpyxl.load_workbook(first.out_dir / "status.xlsx", read_only=True).sheetnames
    _same_size_and_time(copy / "labels" / "report.yaml", "provenance: {zh: 来源,".encode(),
                        "provenance: {zh: 出处,".encode())
    again = report.run_report(2024, **kw)
    assert again.provenance["results"]["key"] != first.provenance["results"]["key"]
    assert "出处" in openpyxl.load_workbook(again.out_dir / "status.xlsx", read_only=True).sheetnames


def test_new_bytes_of_the_same_panel_give_new_pages(toy, small_panel, tmp_path):
    """Every page names the data file's sha256: other bytes (same figures) are not the cached pages."""
    kw = dict(out_root=toy["out"], progress=False, notebooks_dir=toy["dir"], jobs=1, params=_params("a.ipynb"))
    data = tmp_path / "panel.csv"
    data.write_bytes(small_panel.read_bytes())
    first = report.run_report(2024, data=data, **kw)
    data.write_bytes(small_panel.read_bytes() + b"\n")  # a trailing empty line, same path: the same panel
    second = report.run_report(2024, data=data, **kw)
    assert second.provenance["results"]["key"] == first.provenance["results"]["key"]  # same figures
    assert not second.runs[0].get("cached") and not second.provenance["outputs_cached"]
    sha = second.provenance["data_files"][0]["sha256"]
    assert sha != first.provenance["data_files"][0]["sha256"]
    assert sha[:16] in (second.out_dir / "a.html").read_text("utf-8")
    assert sha[:16] in (second.out_dir / "status.csv").read_text("utf-8-sig")
    # the same bytes at another path: the store is shared, the pages name the new path
    moved = tmp_path / "moved.csv"
    moved.write_bytes(data.read_bytes())
    third = report.run_report(2024, data=moved, **kw)
    assert third.provenance["results"]["from_cache"] and not third.runs[0].get("cached")
    assert "moved.csv" in (third.out_dir / "a.html").read_text("utf-8")


def test_a_cache_that_cannot_be_written_does_not_lose_the_report(toy, small_panel, tmp_path, monkeypatch):
    kw = dict(data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"], jobs=1,
              params=_params("a.ipynb"))
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    with pytest.warns(FzWarning, match="cannot be written"):
        res = report.run_report(2024, cache_dir=blocked / "cache", **kw)  # cannot be created
    assert res.ok, res.runs
    assert (res.out_dir / "a.html").is_file() and (res.out_dir / "status.csv").is_file()

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "put", full)
    with pytest.warns(FzWarning, match="No space left"):
        res = report.run_report(2024, **kw)
    assert res.ok, res.runs


def test_params_asking_for_another_interval_level_change_every_number(toy, small_panel):
    """The store is computed at the level the params give the chapters, not at a default."""
    params = PARAMS + "level: float = 0.8  # interval coverage\n"
    write_notebook(toy["dir"] / "lv.ipynb", BODY.replace("results_path=results_path)",
                                                          "results_path=results_path, level=level)"),
                   params=params)
    spec = {"year": 2024, "kind": "annual", "notebooks": [{"notebook": "lv.ipynb", "parameters": {"level": 0.95}}]}
    res = report.run_report(2024, data=small_panel, out_root=toy["out"], progress=False,
                            notebooks_dir=toy["dir"], jobs=1, params=spec)
    assert res.ok, res.runs
    cols = ["indicator", "value", "projected", "proj_lower", "proj_upper", "probability", "category"]
    plain = report.setup(year=2024, data_path=small_panel, level=0.95, show=False)  # no cache, no store
    pd.testing.assert_frame_equal(res.judgement[cols].reset_index(drop=True),
                                  plain.judgement[cols].reset_index(drop=True))
    default = report.setup(year=2024, data_path=small_panel, show=False)
    assert not res.judgement["proj_upper"].reset_index(drop=True).equals(
        default.judgement["proj_upper"].reset_index(drop=True))
    # a chapter without the parameter reads the report's level; two levels in one report are refused
    spec["notebooks"].append({"notebook": "a.ipynb"})
    again = report.run_report(2024, data=small_panel, out_root=toy["out"], progress=False,
                              notebooks_dir=toy["dir"], jobs=1, params=spec)
    assert again.ok, again.runs
    spec["notebooks"] = [{"notebook": "lv.ipynb", "foreach": {"level": [0.9, 0.8]}}]
    with pytest.raises(report.ReportError, match="level"):
        report.run_report(2024, data=small_panel, out_root=toy["out"], progress=False,
                          notebooks_dir=toy["dir"], jobs=1, params=spec)


def test_a_process_holding_older_code_refuses_to_compute(toy, small_panel, monkeypatch):
    """A JupyterLab session or a Dask worker that imported fzanalysis before it was edited."""
    from fzanalysis.report import runner

    monkeypatch.setattr(results, "_IMPORTED_SOURCE", "imported before an edit")
    assert not results.loaded_code_is_current()
    with pytest.raises(report.ReportError, match="restart"):
        report.run_report(2024, data=small_panel, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"],
                          jobs=1, params=_params("a.ipynb"))
    record = runner._run_task({"what": runner.OUTPUTS, "kwargs": {}})
    assert not record["ok"] and "restart the Dask workers" in record["error"]
    assert not (toy["out"] / "2024").exists()
