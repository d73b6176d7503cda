"""Benchmark of the report run (issue 15): wall time against the floor, re-run, folder size, batch.

Run by hand (``make bench`` or ``python benchmarks/bench_report.py``); prints, in one run:

1. **the floor**: as many kernels as the report has chapters, started ``--jobs`` at a time, each
   importing the library and loading the panel (``report.setup``) and nothing else -- what any
   report made of that many notebooks costs at least;
2. **the report** with the command's own defaults (``fzanalysis report --year 2024``, a fresh
   output folder: nothing cached), and its ratio to the floor (goal <= 1.5);
3. **an unchanged re-run** of the same command and its ratio to the first run (goal <= 0.35);
4. **the report folder's size** (goal <= 15 MB);
5. **a batch of 4 reports** (``--year 2021-2024 --force``) on local processes against the same
   batch through ``--dask local`` (needs ``distributed``), and whether their status tables agree.

``--skip-batch`` leaves out part 5 (the longest).  Nothing here is a test: timings depend on the
machine and its load; run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pandas as pd

from fzanalysis.report import plan_jobs, resolve_params
from fzanalysis.report.executors import available_cores
from fzanalysis.report.runner import kernel_name

FLOOR_BODY = (
    "import fzanalysis.report as report\n"
    "ctx = report.setup(year=year, kind='annual', lang='zh', data_path='', show=False)\n"
    "len(ctx.panel.frame)\n"
)


def _floor_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell("year: int = 2024  # report year")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(FLOOR_BODY)]
    path = folder / "floor.ipynb"
    nbformat.write(nb, str(path))
    return path


def _run_floor_kernel(args: tuple[str, str, str]) -> float:
    import papermill

    source, out, kernel = args
    start = time.monotonic()
    papermill.execute_notebook(source, out, parameters={"year": 2024}, kernel_name=kernel, progress_bar=False,
                               log_output=False, extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    return time.monotonic() - start


def floor(n: int, jobs: int, folder: Path) -> float:
    """Wall time of ``n`` kernels, ``jobs`` at a time, each importing the library and loading the panel."""
    source = _floor_notebook(folder)
    args = [(str(source), str(folder / f"floor-{i}.ipynb"), kernel_name()) for i in range(n)]
    start = time.monotonic()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_run_floor_kernel, args))
    return time.monotonic() - start


def command(args: list[str]) -> float:
    """Wall time of ``fzanalysis <args>`` (the installed command, as a user types it)."""
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "fzanalysis", *args], check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--jobs", type=int, default=None, help="default: the command's default (available cores)")
    ap.add_argument("--skip-batch", action="store_true", help="leave out the batch of 4 (local vs dask)")
    ns = ap.parse_args(argv)
    jobs = ns.jobs or available_cores()
    spec, _ = resolve_params(ns.year, "annual")
    n = len(plan_jobs(spec, year=ns.year, lang="zh", data_path=None))
    jobs_arg = [] if ns.jobs is None else ["--jobs", str(ns.jobs)]
    work = Path(tempfile.mkdtemp(prefix="fz-bench-report-"))
    try:
        print(f"machine: {available_cores()} available cores; report {ns.year}, {n} chapters, jobs {jobs}")
        t_floor = floor(n, jobs, work)
        print(f"1. floor ({n} kernels importing the library and loading the panel, {jobs} at a time): "
              f"{t_floor:.1f} s")
        out = work / "reports"
        t_first = command(["report", "--year", str(ns.year), "--out", str(out), "--no-progress", *jobs_arg])
        print(f"2. report, command defaults, nothing cached: {t_first:.1f} s = {t_first / t_floor:.2f}x the floor "
              f"(goal <= 1.5)")
        t_again = command(["report", "--year", str(ns.year), "--out", str(out), "--no-progress", *jobs_arg])
        print(f"3. unchanged re-run: {t_again:.1f} s = {t_again / t_first:.2f}x the first (goal <= 0.35)")
        size = folder_size(out / str(ns.year))
        print(f"4. report folder {out / str(ns.year)}: {size / 2**20:.1f} MB (goal <= 15 MB); "
              f"cache beside it: {folder_size(out / '.cache') / 2**20:.1f} MB")
        if not ns.skip_batch:
            years = f"{ns.year - 3}-{ns.year}"
            local, dask = work / "batch-local", work / "batch-dask"
            t_local = command(["report", "--year", years, "--out", str(local), "--no-progress", "--force",
                               *jobs_arg])
            try:
                import distributed  # noqa: F401
            except ImportError:
                print(f"5. batch of 4 ({years}), local processes: {t_local:.1f} s; --dask local: "
                      "distributed not installed (pip install 'fzanalysis[cluster]')")
            else:
                t_dask = command(["report", "--year", years, "--out", str(dask), "--no-progress", "--force",
                                  "--dask", "local", *jobs_arg])
                same = all(
                    pd.read_csv(local / str(y) / "status.csv", encoding="utf-8-sig").drop(columns="provenance")
                    .equals(pd.read_csv(dask / str(y) / "status.csv", encoding="utf-8-sig")
                            .drop(columns="provenance"))
                    for y in range(ns.year - 3, ns.year + 1))
                print(f"5. batch of 4 ({years}): local processes {t_local:.1f} s, --dask local {t_dask:.1f} s "
                      f"= {t_dask / t_local:.2f}x local; status tables identical: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
