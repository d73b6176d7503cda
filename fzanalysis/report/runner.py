"""Running a report: papermill executions, the written outputs, and never losing the last good report.

``run_report(2024)`` resolves the report's parameters (:mod:`fzanalysis.report.params`),
executes the notebooks with `papermill <https://papermill.readthedocs.io>`_ in up to ``jobs``
processes, converts each to an offline HTML page (:mod:`fzanalysis.report.html`), and writes
``index.html``, the Word report (:mod:`fzanalysis.report.docx`; PDF too where LibreOffice is
installed), ``status.xlsx`` (:mod:`fzanalysis.report.excel`), ``status.csv`` (UTF-8 with BOM)
and ``provenance.json``.

Failure rules
-------------
* A parameter the notebook does not declare is an error raised *before* anything runs.
* A notebook that raises is saved with its error, marked *failed* in the index; the others
  still run and the exit code is 1.
* A run holds the lock of each report folder it writes and of the cache, from its start to
  its end; a second run on the same folder waits (:mod:`fzanalysis.report.folders`).
* Every run writes into ``<out>/.tmp-<folder>-<pid>/``.  Only a complete, successful run
  replaces ``<out>/<folder>/`` (:func:`fzanalysis.report.folders.put_in_place`: the previous
  report survives until the new one is in place; a later run restores it after a crash between
  the two renames, and removes the temporaries a killed run left).  A failed or interrupted run never touches
  ``<out>/<folder>/``; its output is kept in ``.failed-<folder>-<UTC time>/`` (the
  :data:`KEEP_FAILED` newest per folder).

A report year without data yet (the 2025 mid-term report before the 2025 figures arrive)
assesses the latest earlier year with data and says so on the index and in every chapter.
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# jsonschema (imported by nbformat and papermill) compiles the grammar of rfc3987-syntax, its
# optional checker of the "iri" string format, when it is imported: 3-7 s in every process of a
# report run (the parent and each worker).  Notebook validation uses no such format, so a report
# run's processes go without that checker (jsonschema skips a checker it cannot import).
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

import nbformat
import pandas as pd

from fzanalysis import __version__, config, plan
from fzanalysis.exceptions import FzWarning, ReportError
from fzanalysis.panel.store import sha256_file
from fzanalysis.paths import REPO_DIR, reports_dir
from fzanalysis.report import cache as cache_mod
from fzanalysis.report import docx as docx_mod
from fzanalysis.report import excel, folders, html, kernels
from fzanalysis.report import results as results_mod
from fzanalysis.report.context import ReportContext, load_panel, setup
from fzanalysis.report.executors import available_cores, executor
from fzanalysis.report.params import (
    KINDS,
    LANGS,
    RUNNER_PARAMETERS,
    Job,
    check_parameters,
    output_folder_name,
    plan_jobs,
    resolve_params,
)

__all__ = [
    "KEEP_FAILED",
    "OUTPUTS",
    "STORE_PARAMETERS",
    "ReportResult",
    "data_files",
    "execute_job",
    "git_commit",
    "kernel_name",
    "prune_failed",
    "run_report",
    "run_reports",
    "sha256_file",
    "write_outputs_task",
]

#: Failed runs kept per report folder (older ``.failed-…`` folders are deleted).
KEEP_FAILED = 5


def data_files(data_path: str | os.PathLike[str] | None) -> list[Path]:
    """The files a report's numbers come from (hashed into the provenance).

    ``None`` means the active plan's default panel (:meth:`fzanalysis.plan.Plan.panel_files`: the
    demo panel for Conghua, the official reference figures for the national outline); a directory
    means every file below it.
    """
    if data_path is None or str(data_path) == "":
        return plan.active().panel_files()
    root = Path(data_path)
    if root.is_dir():
        return sorted(p for p in root.rglob("*") if p.is_file())
    if root.is_file():
        return [root]
    raise ReportError(f"data file {root} does not exist")


def git_commit(repo: Path = REPO_DIR) -> str:
    """``git rev-parse HEAD`` of ``repo`` (``+dirty`` if tracked files changed), or ``unknown``."""
    if not (repo / ".git").exists():
        return "unknown"  # an installed package: no repository
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True, timeout=20).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def kernel_name() -> str:
    """Name of the Jupyter kernel that runs the current interpreter.

    ``FZANALYSIS_KERNEL`` wins when set.  Otherwise the kernelspec ``fzanalysis`` (installed by
    ``make install``) when its interpreter is this one, else ``python3``, which jupyter_client
    starts with ``sys.executable``.
    """
    env = os.environ.get("FZANALYSIS_KERNEL")
    if env:
        return env
    try:
        from jupyter_client.kernelspec import KernelSpecManager  # heavy: only when a report runs

        specs = KernelSpecManager().find_kernel_specs()
        if "fzanalysis" in specs:
            spec = json.loads((Path(specs["fzanalysis"]) / "kernel.json").read_text("utf-8"))
            exe = Path(spec["argv"][0])
            if exe.is_absolute() and exe.resolve() == Path(sys.executable).resolve():
                return "fzanalysis"
    except Exception:
        pass
    return "python3"


# ------------------------------------------------------------------- execution


def _quiet() -> None:
    """Keep a successful run's console clean: no kernel-shutdown or packaging noise."""
    for name in ("papermill", "traitlets", "IPKernelApp", "jupyter_client", "nbclient"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", module="setuptools")
    # kernels inherit the environment: silence warnings raised while they import
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning,ignore::UserWarning:setuptools")


def _kernel_arguments(kernel: str) -> list[str]:
    """The kernel's own log: errors only (no unencrypted-socket warning, no shutdown chatter)."""
    return ["--IPKernelApp.log_level=CRITICAL"] if kernel in ("python3", "fzanalysis") else []


def execute_job(
    job: Job,
    *,
    out_dir: Path,
    kernel: str,
    provenance: Mapping[str, Any],
    lang: str,
    cell_timeout: int | None = 1800,
    plan_id: str | None = None,
    fresh_kernel: bool = False,
) -> dict[str, Any]:
    """Execute one notebook with papermill, save it and its HTML page; never raise.

    ``plan_id`` is the plan the kernel works on (``FZANALYSIS_PLAN`` in the kernel's
    environment).  The chapter runs in this process's kept kernel (:mod:`fzanalysis.report.kernels`),
    reset first; ``fresh_kernel=True`` starts a kernel of its own.

    Returns
    -------
    dict
        ``stem, source, parameters, ok, error, ipynb, html, seconds``.  On a failure papermill
        has saved the notebook up to the failing cell (with its traceback); the page shows it.
    """
    _quiet()
    if plan_id is not None:  # the page's words (banner, titles) are the plan's; one chapter at a time
        os.environ["FZANALYSIS_PLAN"] = plan_id
    start = time.monotonic()
    ipynb = out_dir / f"{job.stem}.ipynb"
    html_path = out_dir / f"{job.stem}.html"
    error: str | None = None
    extra = _kernel_arguments(kernel)
    try:
        kernels.execute(str(job.source), str(ipynb), parameters=job.parameters, kernel=kernel,
                        cwd=str(job.source.parent), plan_id=plan_id, extra_arguments=extra,
                        execution_timeout=cell_timeout, fresh=fresh_kernel)
    except Exception as exc:
        error = _short_error(exc)
    html_ok = False
    try:
        if ipynb.is_file():
            nb = nbformat.read(str(ipynb), as_version=4)
            nb.metadata.setdefault("fzanalysis", {})
            nb.metadata["fzanalysis"]["provenance"] = {**provenance, "parameters": dict(job.parameters)}
            nb.metadata["fzanalysis"]["failed"] = error is not None
            nbformat.write(nb, str(ipynb))
        else:  # papermill failed before writing anything: keep a notebook that says why
            nb = nbformat.v4.new_notebook()
            nb.cells.append(nbformat.v4.new_markdown_cell(f"**Failed before execution:**\n\n```\n{error}\n```"))
            nbformat.write(nb, str(ipynb))
        banner = html.banner_html({**provenance, "parameters": dict(job.parameters)}, lang,  # type: ignore[arg-type]
                                  title=html.chapter_title(job.stem, lang))  # type: ignore[arg-type]
        html.notebook_to_html(ipynb, html_path, banner, title=html.chapter_title(job.stem, lang))  # type: ignore[arg-type]
        html_ok = True
        if error is None:  # the pictures are in the page: the kept notebook stays small (folder <= 15 MB)
            _strip_images(ipynb)
    except Exception as exc:
        error = (error + "\n" if error else "") + "HTML conversion failed: " + _short_error(exc)
    return {"stem": job.stem, "source": str(job.source), "parameters": dict(job.parameters),
            "ok": error is None, "error": error, "ipynb": ipynb.name,
            "html": html_path.name if html_ok else None, "seconds": round(time.monotonic() - start, 1)}


def _strip_images(ipynb: Path) -> None:
    """Drop the PNG outputs of an executed notebook whose HTML page holds them (text stays)."""
    nb = nbformat.read(str(ipynb), as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                data.pop("image/png")
                data.setdefault("text/plain", "[figure: see the HTML page]")
    nbformat.write(nb, str(ipynb))


def _short_error(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    if ename:  # PapermillExecutionError
        return f"{ename}: {getattr(exc, 'evalue', '')} (cell {getattr(exc, 'exec_count', '?')})"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]


def write_outputs_task(
    *,
    year: int,
    kind: str,
    lang: str,
    data_path: str,
    results_path: str,
    out_dir: Path,
    provenance: Mapping[str, Any],
    plan_id: str | None = None,
) -> dict[str, Any]:
    """Write a report's Word (and PDF), Excel and CSV from its results store; never raise.

    Runs in a worker like a chapter (the PDF conversion takes seconds): the context is rebuilt
    from the results store, so the outputs read the same judgement table as every chapter.
    """
    _quiet()
    if plan_id is not None:
        os.environ["FZANALYSIS_PLAN"] = plan_id
    start = time.monotonic()
    try:
        ctx = setup(year=year, kind=kind, lang=lang, data_path=data_path,  # type: ignore[arg-type]
                    results_path=results_path, show=False)
        written = _write_outputs(ctx, Path(out_dir), provenance)
        error = None
    except Exception as exc:
        written, error = [], "".join(traceback.format_exception(exc))[-3000:]
    return {"stem": OUTPUTS, "ok": error is None, "error": error, "files": written,
            "seconds": round(time.monotonic() - start, 1)}


#: Name of the written outputs (Word, PDF, Excel, CSV) among a run's tasks.
OUTPUTS = "outputs"


def _run_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one task (a chapter or the written outputs) in a worker; never raise.

    The worker's reference files are read afresh (:func:`fzanalysis.config.reload`): a worker of a
    long-lived Dask cluster may have read an earlier version of a file that kept its size and time.
    A worker that imported an older fzanalysis than the one on disk refuses the task (a failed
    record naming it): its pages would be the old code's under the new code's key.
    """
    config.reload()
    if not results_mod.loaded_code_is_current():
        return _failed_record(task, ReportError(
            f"this worker ({platform.node()}, process {os.getpid()}) imported fzanalysis before its source changed: "
            "restart the Dask workers so that they run the current code"))
    if task["what"] == OUTPUTS:
        return write_outputs_task(**task["kwargs"])
    return execute_job(task["job"], **task["kwargs"])


def _failed_record(task: Mapping[str, Any], exc: BaseException) -> dict[str, Any]:
    if task["what"] == OUTPUTS:
        return {"stem": OUTPUTS, "ok": False, "error": f"worker process failed: {_short_error(exc)}",
                "files": [], "seconds": 0.0}
    job = task["job"]
    return {"stem": job.stem, "source": str(job.source), "parameters": dict(job.parameters), "ok": False,
            "error": f"worker process failed: {_short_error(exc)}", "ipynb": None, "html": None,
            "seconds": 0.0}


def _execute_all(
    tasks: Sequence[Mapping[str, Any]], *, pool: Executor | None, progress: bool
) -> list[dict[str, Any]]:
    """Run ``tasks`` on ``pool`` (None: here, one after another); results in the tasks' order."""
    from tqdm.auto import tqdm  # only when a report runs

    results: list[dict[str, Any] | None] = [None] * len(tasks)
    bar = tqdm(total=len(tasks), desc="chapters", unit="nb", disable=not progress or not tasks, file=sys.stderr)
    try:
        if pool is None:
            for i, task in enumerate(tasks):
                bar.set_postfix_str(task["name"])
                results[i] = _run_task(task)
                bar.update(1)
        else:
            futures = {pool.submit(_run_task, task): i for i, task in enumerate(tasks)}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:
                    results[i] = _failed_record(tasks[i], exc)
                bar.set_postfix_str(tasks[i]["name"])
                bar.update(1)
    finally:
        bar.close()
    return [r for r in results if r is not None]


# --------------------------------------------------------------- the folder swap


@dataclass
class ReportResult:
    """What :func:`run_report` did.

    Attributes
    ----------
    year, kind, lang
        The report asked for.
    ok
        True when every notebook ran and every written output was built.
    out_dir
        ``<out>/<folder>/`` on success; the kept ``.failed-…`` folder on failure.
    runs
        One record per notebook (:func:`execute_job`).
    judgement
        The judgement table (None if it could not be built).
    outputs
        File names written besides the chapters (docx, pdf, xlsx, csv, json).
    provenance
        What was written to ``provenance.json``.
    """

    year: int
    kind: str
    lang: str
    ok: bool
    out_dir: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    judgement: pd.DataFrame | None = None
    status_error: str | None = None
    outputs: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 on success, 1 when any notebook or written output failed."""
        return 0 if self.ok else 1

    @property
    def failed(self) -> list[str]:
        """Output stems of the notebooks that failed."""
        return [r["stem"] for r in self.runs if not r["ok"]]

    @property
    def status(self) -> pd.DataFrame | None:
        """The judgement table (older name)."""
        return self.judgement


def prune_failed(root: Path, folder: str, *, keep: int = KEEP_FAILED) -> list[Path]:
    """Delete all but the ``keep`` newest ``.failed-<folder>-*`` folders; return the deleted ones."""
    stamp = re.compile(re.escape(f".failed-{folder}-") + r"\d{8}T\d+Z$")  # never ".failed-2024-en-…"
    failed = sorted((p for p in root.iterdir() if stamp.match(p.name)), key=lambda p: p.name)
    gone = failed[: max(0, len(failed) - keep)]
    for path in gone:
        shutil.rmtree(path, ignore_errors=True)
    return gone


def _stamp() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_DIR))
    except ValueError:
        return str(path)


# ------------------------------------------------------------- written outputs


def _write_outputs(ctx: ReportContext, out_dir: Path, provenance: Mapping[str, Any]) -> list[str]:
    """Word (and PDF), Excel and CSV from the judgement table; returns the file names."""
    stem = f"{ctx.year}{'' if ctx.kind == 'annual' else '-' + ctx.kind}-report"
    written = []
    docx_path = docx_mod.write_docx(ctx, out_dir / f"{stem}.docx")
    written.append(docx_path.name)
    pdf = docx_mod.to_pdf(docx_path)
    if pdf is not None:
        written.append(pdf.name)
    excel.write_workbook(ctx.judgement, out_dir / "status.xlsx", lang=ctx.lang, provenance=provenance,
                         towns=ctx.assessed)
    excel.write_status_csv(ctx.judgement, out_dir / "status.csv", provenance=provenance)
    written += ["status.xlsx", "status.csv"]
    return written


@dataclass
class _Run:
    """One report of a run (:func:`run_reports`): where it goes and what it needs."""

    year: int
    kind: str
    lang: str
    plan_id: str
    ctx: ReportContext
    job_list: list[Job]
    defaults: dict[str, dict[str, str]]
    params_source: str
    root: Path
    folder: str
    tmp: Path
    results_key: str
    results_found: bool
    provenance: dict[str, Any]
    tasks: list[dict[str, Any]] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


def _previous_seconds(root: Path, folder: str) -> dict[str, float]:
    """Seconds each chapter took in the last good report (to start the longest first)."""
    try:
        prov = json.loads((root / folder / "provenance.json").read_text("utf-8"))
        return {n["stem"]: float(n.get("seconds") or 0) for n in prov.get("notebooks", [])}
    except (OSError, ValueError, TypeError, KeyError):
        return {}


@dataclass
class _Checked:
    """One report's set-up, checked before anything is computed or written."""

    year: int
    kind: str
    lang: str
    plan_id: str
    params_source: str
    job_list: list[Job]
    declared: dict[str, dict[str, Any]]
    statistics: dict[str, Any] = field(default_factory=dict)
    #: the params' ``max_data_lag``: how many years the latest figures may lie before the report's
    #: year (a final evaluation for 2030 on figures of 2024 is no final evaluation); None: any
    max_data_lag: int | None = None


#: Parameters of the statistics themselves: one value per report, the one its results store is
#: computed with (a chapter that does not declare one reads the store's).
STORE_PARAMETERS = ("level", "baseline_year")


def _statistics(job_list: Sequence[Job], params_source: str) -> dict[str, Any]:
    """The ``level`` / ``baseline_year`` the params give the chapters (one value each per report)."""
    out: dict[str, Any] = {}
    for name in STORE_PARAMETERS:
        values = {job.parameters[name] for job in job_list if name in job.parameters}
        if len(values) > 1:
            raise ReportError(f"{params_source}: the chapters ask for {len(values)} values of '{name}' "
                              f"({sorted(values)}); a report is computed once, with one {name}: give every "
                              f"notebook the same")
        if values:
            out[name] = values.pop()
    return out


def _check(
    year: int | None,
    *,
    kind: str,
    lang: str,
    data_arg: str | None,
    params: str | os.PathLike[str] | Mapping[str, Any] | None,
    notebooks_dir: str | os.PathLike[str] | None,
) -> _Checked:
    """Resolve one report's parameters and check every notebook declares what it is given."""
    if kind not in KINDS:
        raise ReportError(f"kind must be one of {KINDS}, got {kind!r}")
    if lang not in LANGS:
        raise ReportError(f"lang must be one of {LANGS}, got {lang!r}")
    if year is None:  # the latest year in the data
        year = int(load_panel(data_arg).frame["year"].max())
    spec, params_source = resolve_params(int(year), kind, params=params)
    job_list = plan_jobs(spec, year=int(year), lang=lang, data_path=data_arg, notebooks_dir=notebooks_dir)
    declared = {job.stem: check_parameters(job.source, job.parameters) for job in job_list}
    return _Checked(year=int(year), kind=kind, lang=lang, plan_id=plan.active().id, params_source=params_source,
                    job_list=job_list, declared=declared, statistics=_statistics(job_list, params_source),
                    max_data_lag=spec.get("max_data_lag"))


def _prepare(
    checked: _Checked,
    *,
    data_arg: str | None,
    root: Path,
    cache_root: Path,
    cell_timeout: int | None,
    jobs: int,
    dask: str | None,
    force: bool,
    fresh_kernels: bool = False,
) -> _Run:
    """Compute (or find) one report's results store, make its work folder and list its tasks."""
    year, kind, lang, plan_id = checked.year, checked.kind, checked.lang, checked.plan_id
    params_source = checked.params_source
    ctx = setup(year=year, kind=kind, lang=lang, data_path=data_arg, show=False,  # type: ignore[arg-type]
                **checked.statistics)
    lag = checked.max_data_lag
    if lag is not None and year - ctx.data_year > int(lag):
        raise ReportError(
            f"{params_source}: the data's latest figures are for {ctx.data_year}, but a {kind} report for "
            f"{year} evaluates figures of {year - int(lag)} or later (max_data_lag: {lag}); run the annual "
            f"report (--kind annual --year {ctx.data_year}) until then, or pass --params for an exception")
    store, found = results_mod.ensure(ctx.panel, ctx.catalog, cache_root, year=ctx.data_year,
                                      baseline_year=ctx.baseline_year, level=ctx.level, force=force)
    ctx = replace(ctx, results_path=store)  # the parent reads the same store as every chapter
    defaults: dict[str, dict[str, str]] = {}
    jobs_with_store = []
    for job in checked.job_list:
        declared = checked.declared[job.stem]
        extra = {k: str(store) for k in RUNNER_PARAMETERS if k in declared}
        jobs_with_store.append(replace(job, parameters={**job.parameters, **extra}))
        defaults[job.stem] = {k: v["default"] for k, v in declared.items()
                              if k not in job.parameters and k not in extra}

    folder = output_folder_name(year, kind, lang)
    tmp = folders.tmp_folder(root / folder)

    files = data_files(data_arg)
    years = ctx.panel.frame["year"]
    provenance: dict[str, Any] = {
        "report": {"year": year, "kind": kind, "lang": lang, "folder": folder, "plan": plan_id},
        "package": "fzanalysis",
        "package_version": __version__,
        "git_commit": git_commit(),
        "code_version": results_mod.code_version()[:16],
        "python": platform.python_version(),
        "kernel": kernel_name(),
        "params_file": params_source,
        "parameters": {"year": year, "kind": kind, "lang": lang, "data": data_arg or ("demo" if ctx.synthetic else "plan default"), "jobs": jobs,
                       "dask": dask, "force": force},
        "data_kind": "demo" if ctx.synthetic else "official",
        "data_years": [int(years.min()), int(years.max())],
        "assessed_year": ctx.data_year,
        "synthetic": ctx.synthetic,
        "data_files": [{"path": _rel(p), "sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files],
        "results": {"key": store.parent.name, "from_cache": found},
        "generated_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    run = _Run(year=year, kind=kind, lang=lang, plan_id=plan_id, ctx=ctx, job_list=jobs_with_store,
               defaults=defaults, params_source=params_source, root=root, folder=folder, tmp=tmp,
               results_key=store.parent.name, results_found=found, provenance=provenance)
    kernel = provenance["kernel"]
    # every page and the CSV/Excel name the data files and their sha256 (the banner, the provenance):
    # other bytes of the same figures are other pages
    named = [[f["path"], f["sha256"]] for f in provenance["data_files"]]
    for job in jobs_with_store:
        key = f"{job.stem}-" + cache_mod.entry_key(notebook=job.source, parameters=job.parameters, kernel=kernel,
                                                   stem=job.stem, data_files=named)
        run.tasks.append({"what": "chapter", "name": job.stem, "cache_key": key, "job": job,
                          "kwargs": {"out_dir": tmp, "kernel": kernel, "provenance": provenance, "lang": lang,
                                     "cell_timeout": cell_timeout, "plan_id": plan_id,
                                     "fresh_kernel": fresh_kernels}})
    okey = cache_mod.entry_key(year=year, kind=kind, lang=lang, data=data_arg or "", data_files=named,
                               pdf=bool(shutil.which("soffice") or shutil.which("libreoffice")))
    run.tasks.append({"what": OUTPUTS, "name": OUTPUTS, "cache_key": okey,
                      "kwargs": {"year": year, "kind": kind, "lang": lang, "data_path": data_arg or "",
                                 "results_path": str(store), "out_dir": tmp, "provenance": provenance,
                                 "plan_id": plan_id}})
    return run


def _from_cache(run: _Run, cache_root: Path) -> list[dict[str, Any]]:
    """Restore the tasks found in the cache into the run's folder; return the tasks still to run."""
    todo = []
    for task in run.tasks:
        section = "outputs" if task["what"] == OUTPUTS else "chapters"
        hit = cache_mod.lookup(cache_root, run.results_key, section, task["cache_key"])
        if hit is None or cache_mod.restore(hit, run.tmp) is None:  # missing or damaged: run it
            todo.append(task)
            continue
        run.records[task["name"]] = {**hit["record"], "cached": True}
    return todo


def _to_cache(run: _Run, task: Mapping[str, Any], record: dict[str, Any], cache_root: Path) -> None:
    """Keep a successful task's files in the cache; a cache that cannot be written is only a warning."""
    if not record["ok"]:
        return
    if task["what"] == OUTPUTS:
        files = [run.tmp / f for f in record["files"]]
        section = "outputs"
    else:
        files = [run.tmp / record["ipynb"], run.tmp / record["html"]]
        section = "chapters"
    try:
        cache_mod.put(cache_root, run.results_key, section, task["cache_key"], files,
                      {"record": {k: v for k, v in record.items() if k != "cached"}})
    except OSError as exc:
        warnings.warn(f"report cache {cache_root}: {task['name']} not kept ({exc}); the report is complete, "
                      f"the next run executes it again", FzWarning, stacklevel=2)


def _finish(run: _Run) -> ReportResult:
    """Write the run's provenance and index, then put the report in place (or keep it as failed)."""
    tmp, provenance = run.tmp, run.provenance
    chapters = [run.records[j.stem] for j in run.job_list]
    out = run.records[OUTPUTS]
    judgement: pd.DataFrame | None = None
    status_error = None if out["ok"] else out["error"]
    outputs: list[str] = list(out.get("files", []))
    try:
        judgement = run.ctx.judgement
    except Exception as exc:
        status_error = "".join(traceback.format_exception(exc))[-3000:]
    provenance["notebooks"] = [
        {**{k: r.get(k) for k in ("stem", "source", "parameters", "ok", "error", "seconds")},
         "cached": bool(r.get("cached")), "defaults": run.defaults.get(r["stem"], {})} for r in chapters
    ]
    provenance["outputs"] = outputs
    provenance["outputs_cached"] = bool(out.get("cached"))
    (tmp / "provenance.json").write_text(json.dumps(provenance, ensure_ascii=False, indent=2), encoding="utf-8")
    (tmp / "index.html").write_text(
        html.render_index(year=run.year, kind=run.kind, lang=run.lang, runs=chapters,  # type: ignore[arg-type]
                          judgement=judgement if status_error is None else None,
                          status_error=status_error, provenance=provenance,
                          downloads=[*outputs, "provenance.json"]),
        encoding="utf-8")
    ok = status_error is None and all(r["ok"] for r in chapters)
    if ok:
        final = run.root / run.folder
        out_dir = folders.put_in_place(tmp, final)
    else:
        out_dir = run.root / f".failed-{run.folder}-{_stamp()}"
        os.rename(tmp, out_dir)
        prune_failed(run.root, run.folder, keep=KEEP_FAILED)
    return ReportResult(year=run.year, kind=run.kind, lang=run.lang, ok=ok, out_dir=out_dir, runs=chapters,
                        judgement=judgement, status_error=status_error, outputs=outputs, provenance=provenance)


def _keep_failed(runs: Sequence[_Run]) -> None:
    """Interrupted (Ctrl-C) or a bug in the runner: keep each partial output, never a final folder."""
    for run in runs:
        if run.tmp.exists():
            failed = run.root / f".failed-{run.folder}-{_stamp()}"
            os.rename(run.tmp, failed)
            (failed / "INTERRUPTED.txt").write_text(traceback.format_exc(), encoding="utf-8")


def _folder(root: Path, checked: _Checked) -> Path:
    """The report folder a checked request writes."""
    with plan.use(checked.plan_id):
        return root / output_folder_name(checked.year, checked.kind, checked.lang)


def _in_place(root: Path, checked: _Checked) -> bool:
    """Whether a report of this year, kind and language is already in place (a re-run)."""
    return (_folder(root, checked) / "index.html").is_file()


def _usable_cache(cache_root: Path) -> tuple[Path, Path | None]:
    """``cache_root`` if it can be written; else a temporary folder for this run only, with a warning.

    Returns
    -------
    (Path, Path or None)
        The cache folder to use, and the temporary folder to delete after the run (None).
    """
    try:
        cache_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=cache_root):
            pass
        return cache_root, None
    except OSError as exc:
        scratch = Path(tempfile.mkdtemp(prefix="fzanalysis-cache-"))
        warnings.warn(f"report cache {cache_root} cannot be written ({exc.strerror or exc}): this run computes "
                      f"everything and keeps nothing for the next one", FzWarning, stacklevel=3)
        return scratch, scratch


def _warm(kernel: str, plan_id: str | None, fresh: bool) -> int:
    """Start a worker: import this module (papermill, nbconvert) and, unless ``fresh``, its kernel."""
    if fresh:
        return os.getpid()
    _quiet()
    return kernels.warm(kernel, plan_id=plan_id, extra_arguments=_kernel_arguments(kernel))


def run_reports(
    requests: Sequence[tuple[int | None, str, str, str]],
    *,
    data: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    dask: str | None = None,
    out_root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: bool = True,
    params: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    notebooks_dir: str | os.PathLike[str] | None = None,
    cell_timeout: int | None = 1800,
    fresh_kernels: bool = False,
    wait: float | None = folders.WAIT,
) -> list[ReportResult]:
    """Run a batch of reports on one pool of workers (module docstring for the rules).

    Parameters
    ----------
    requests : sequence of (year, kind, lang, plan)
        The reports: ``year`` None = the latest year in the data; ``plan`` an id of
        :func:`fzanalysis.plan.available`.
    data : path, optional
        Panel file (:func:`fzanalysis.panel.as_panel`); ``None`` = each plan's own default data.
    jobs : int, optional
        Chapters executed at once, each in its own process (default: every available core).
    dask : str, optional
        ``"local"`` (a local Dask cluster) or a Dask scheduler's address
        (:mod:`fzanalysis.report.executors`).
    out_root : path, optional
        Parent of the report folders (default :func:`fzanalysis.paths.reports_dir`).
    cache_dir : path, optional
        The results store and chapter cache (default ``<out_root>/.cache``; :mod:`~fzanalysis.report.cache`).
    force : bool
        Ignore the cache: compute and execute everything again.
    progress : bool
        Show a progress bar on stderr.
    params : path or mapping, optional
        Instead of each kind's params file (:func:`fzanalysis.report.params.params_file`).
    notebooks_dir : path, optional
        Where relative notebook names are resolved.
    cell_timeout : int, optional
        Seconds any single cell may run (None = no limit).
    fresh_kernels : bool
        Start a kernel for every chapter instead of keeping one per worker
        (:mod:`fzanalysis.report.kernels`; the output is the same, only slower).
    wait : float, optional
        Seconds to wait for another run holding a report folder or the cache this run writes
        (:func:`fzanalysis.report.folders.hold`; None: as long as it takes).

    Returns
    -------
    list of ReportResult
        One per request, in order; ``exit_code`` 0 only when everything succeeded.

    Raises
    ------
    ReportError
        Set-up errors (bad params, undeclared parameter, missing notebook, refused panel),
        raised before anything is executed or written.
    ReportBusy
        Another run still holds a report folder or the cache after ``wait`` seconds.
    """
    jobs = available_cores() if jobs is None else int(jobs)
    if jobs < 1:
        raise ReportError(f"jobs must be >= 1, got {jobs}")
    _quiet()
    data_arg = None if data is None or str(data) == "" else str(Path(data).resolve())
    root = Path(out_root) if out_root is not None else reports_dir()
    cache_root = Path(cache_dir) if cache_dir is not None else root / ".cache"
    config.reload()  # a long-lived session: reference files edited since its last run are read again
    if not results_mod.loaded_code_is_current():
        raise ReportError("fzanalysis's source changed since this Python process imported it: restart the "
                          "session (its results would come from the old code)")
    scratch: Path | None = None
    runs: list[_Run] = []
    try:
        checked = []
        for year, kind, lang, plan_id in requests:  # every set-up error before anything is written
            with plan.use(plan_id):
                checked.append(_check(year, kind=kind, lang=lang, data_arg=data_arg, params=params,
                                      notebooks_dir=notebooks_dir))
        with ExitStack() as held:  # one order for every run (its report folders, then the cache): no deadlock
            for folder in sorted({_folder(root, one) for one in checked}):
                held.enter_context(folders.hold(folder, timeout=wait))
            cache_root, scratch = _usable_cache(cache_root)
            if scratch is None:
                held.enter_context(folders.hold(cache_root, timeout=wait))
            try:
                results = _run_all(checked, runs, data_arg=data_arg, root=root, cache_root=cache_root, jobs=jobs,
                                   dask=dask, force=force, progress=progress, cell_timeout=cell_timeout,
                                   fresh_kernels=fresh_kernels)
            except BaseException:
                _keep_failed(runs)
                raise
            cache_mod.prune(cache_root)
    finally:
        kernels.shutdown_all()  # the kernels kept in this process (jobs=1); workers shut down their own
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return results


def _run_all(
    checked: Sequence[_Checked],
    runs: list[_Run],
    *,
    data_arg: str | None,
    root: Path,
    cache_root: Path,
    jobs: int,
    dask: str | None,
    force: bool,
    progress: bool,
    cell_timeout: int | None,
    fresh_kernels: bool,
) -> list[ReportResult]:
    """Prepare, execute and finish the checked reports (appending each to ``runs`` as it is prepared)."""
    with ExitStack() as stack:
        pool: Executor | None = None
        if dask is None and jobs > 1 and (force or not all(_in_place(root, one) for one in checked)):
            # chapters will run (a first report, or --force): the local workers start up while
            # this process prepares, instead of one core idling until the results are stored
            pool = stack.enter_context(executor(jobs))
            for _ in range(jobs):
                pool.submit(_warm, kernel_name(), checked[0].plan_id, fresh_kernels)
        for one in checked:
            with plan.use(one.plan_id):
                runs.append(_prepare(one, data_arg=data_arg, root=root, cache_root=cache_root,
                                     cell_timeout=cell_timeout, jobs=jobs, dask=dask, force=force,
                                     fresh_kernels=fresh_kernels))
        todo: list[tuple[_Run, dict[str, Any]]] = []
        for run in runs:
            pending = run.tasks if force else _from_cache(run, cache_root)
            previous = _previous_seconds(root, run.folder)
            # the outputs (PDF conversion) and the longest chapters of the last run start first
            pending = sorted(pending, key=lambda t: (t["what"] != OUTPUTS, -previous.get(t["name"], 0.0)))
            todo += [(run, task) for task in pending]
        if pool is None:
            shared = [str(cache_root), *{str(t["job"].source.parent) for _, t in todo if t["what"] != OUTPUTS},
                      *([data_arg] if data_arg else [])]
            pool = stack.enter_context(executor(min(jobs, max(1, len(todo))), dask=dask, shared=shared))
        records = _execute_all([task for _, task in todo], pool=pool, progress=progress)
    for (run, task), record in zip(todo, records, strict=True):
        run.records[task["name"]] = record
        _to_cache(run, task, record, cache_root)
    results = []
    for run in runs:
        with plan.use(run.plan_id):
            results.append(_finish(run))
    return results


def run_report(
    year: int | None = None,
    *,
    kind: str = "annual",
    lang: str = "zh",
    data: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    dask: str | None = None,
    out_root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: bool = True,
    params: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    notebooks_dir: str | os.PathLike[str] | None = None,
    cell_timeout: int | None = 1800,
    fresh_kernels: bool = False,
    wait: float | None = folders.WAIT,
) -> ReportResult:
    """Run the report for one year and kind of the active plan (:func:`run_reports` of one request).

    Examples
    --------
    Run the 2024 annual report on the demo data into ``reports/2024/`` (about a minute)::

        from fzanalysis.report import run_report
        result = run_report(2024)
        result.out_dir, result.exit_code
    """
    return run_reports([(year, kind, lang, plan.active().id)], data=data, jobs=jobs, dask=dask,
                       out_root=out_root, cache_dir=cache_dir, force=force, progress=progress,
                       params=params, notebooks_dir=notebooks_dir, cell_timeout=cell_timeout,
                       fresh_kernels=fresh_kernels, wait=wait)[0]
