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
* Every run writes into ``<out>/.tmp-<folder>-<pid>/``.  Only a complete, successful run
  replaces ``<out>/<folder>/``: the previous report is renamed to ``.old-<folder>-<pid>``, the
  new one renamed into place, then the old one deleted (a later run restores an ``.old-``
  folder left by a crash between the two renames).  A failed or interrupted run never touches
  ``<out>/<folder>/``; its output is kept in ``.failed-<folder>-<UTC time>/`` (the
  :data:`KEEP_FAILED` newest per folder).

A report year without data yet (the 2025 mid-term report before the 2025 figures arrive)
assesses the latest earlier year with data and says so on the index and in every chapter.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from fzanalysis import __version__, demo
from fzanalysis.exceptions import ReportError
from fzanalysis.paths import REPO_DIR, reports_dir
from fzanalysis.report import docx as docx_mod
from fzanalysis.report import excel, html
from fzanalysis.report.context import ReportContext, setup
from fzanalysis.report.params import (
    KINDS,
    LANGS,
    Job,
    check_parameters,
    output_folder_name,
    plan_jobs,
    resolve_params,
)

__all__ = [
    "KEEP_FAILED",
    "ReportResult",
    "data_files",
    "execute_job",
    "git_commit",
    "kernel_name",
    "prune_failed",
    "run_report",
    "sha256_file",
]

#: Failed runs kept per report folder (older ``.failed-…`` folders are deleted).
KEEP_FAILED = 5


def data_files(data_path: str | os.PathLike[str] | None) -> list[Path]:
    """The files a report's numbers come from (hashed into the provenance).

    ``None`` means the embedded demo panel; a directory means every file below it.
    """
    if data_path is None or str(data_path) == "":
        return [Path(demo.demo_path())]
    root = Path(data_path)
    if root.is_dir():
        return sorted(p for p in root.rglob("*") if p.is_file())
    if root.is_file():
        return [root]
    raise ReportError(f"data file {root} does not exist")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def execute_job(
    job: Job,
    *,
    out_dir: Path,
    kernel: str,
    provenance: Mapping[str, Any],
    lang: str,
    cell_timeout: int | None = 1800,
) -> dict[str, Any]:
    """Execute one notebook with papermill, save it and its HTML page; never raise.

    Returns
    -------
    dict
        ``stem, source, parameters, ok, error, ipynb, html, seconds``.  On a failure papermill
        has saved the notebook up to the failing cell (with its traceback); the page shows it.
    """
    import papermill  # heavy: loaded in the worker that runs the notebook

    _quiet()
    start = time.monotonic()
    ipynb = out_dir / f"{job.stem}.ipynb"
    html_path = out_dir / f"{job.stem}.html"
    error: str | None = None
    # the kernel's own log: errors only (no unencrypted-socket warning, no shutdown chatter)
    extra = ["--IPKernelApp.log_level=CRITICAL"] if kernel in ("python3", "fzanalysis") else []
    try:
        papermill.execute_notebook(
            str(job.source), str(ipynb), parameters=dict(job.parameters),
            kernel_name=kernel, progress_bar=False, cwd=str(job.source.parent),
            execution_timeout=cell_timeout, extra_arguments=extra, log_output=False,
        )
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


def _execute_all(
    job_list: Sequence[Job], *, out_dir: Path, kernel: str, provenance: Mapping[str, Any],
    lang: str, jobs: int, progress: bool, cell_timeout: int | None,
) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm  # only when a report runs

    kwargs = dict(out_dir=out_dir, kernel=kernel, provenance=dict(provenance), lang=lang,
                  cell_timeout=cell_timeout)
    order = {job.stem: i for i, job in enumerate(job_list)}
    results: list[dict[str, Any]] = []
    bar = tqdm(total=len(job_list), desc="notebooks", unit="nb", disable=not progress, file=sys.stderr)
    try:
        if jobs == 1 or len(job_list) == 1:
            for job in job_list:
                bar.set_postfix_str(job.stem)
                results.append(execute_job(job, **kwargs))  # type: ignore[arg-type]
                bar.update(1)
        else:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(jobs, len(job_list)), mp_context=ctx) as pool:
                futures = {pool.submit(execute_job, job, **kwargs): job for job in job_list}  # type: ignore[arg-type]
                for fut in as_completed(futures):
                    job = futures[fut]
                    try:
                        results.append(fut.result())
                    except Exception as exc:
                        results.append({"stem": job.stem, "source": str(job.source),
                                        "parameters": dict(job.parameters), "ok": False,
                                        "error": f"worker process failed: {_short_error(exc)}",
                                        "ipynb": None, "html": None, "seconds": 0.0})
                    bar.set_postfix_str(job.stem)
                    bar.update(1)
    finally:
        bar.close()
    return sorted(results, key=lambda r: order[r["stem"]])


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


def _restore_interrupted_swap(root: Path, folder: str) -> None:
    """If a crash left ``<root>/.old-<folder>-*`` and no ``<root>/<folder>``, put it back."""
    final = root / folder
    if final.exists():
        return
    pid = re.compile(re.escape(f".old-{folder}-") + r"\d+$")  # not ".old-2024-en-…" for "2024"
    olds = sorted((p for p in root.iterdir() if pid.match(p.name)), key=lambda p: p.stat().st_mtime)
    if olds:
        os.rename(olds[-1], final)


def _swap_into_place(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp``; the old ``final`` survives until the swap succeeded."""
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


def run_report(
    year: int | None = None,
    *,
    kind: str = "annual",
    lang: str = "zh",
    data: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    out_root: str | os.PathLike[str] | None = None,
    progress: bool = True,
    params: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    notebooks_dir: str | os.PathLike[str] | None = None,
    cell_timeout: int | None = 1800,
) -> ReportResult:
    """Run the report for one year and kind (module docstring for the rules).

    Parameters
    ----------
    year : int, optional
        Report year; ``None`` = the latest year in the data.
    kind : {"annual", "midterm", "final"}
    lang : {"zh", "en"}
    data : path, optional
        Panel file (:func:`fzanalysis.panel.as_panel`); ``None`` = the demo panel.
    jobs : int
        Notebooks executed at once, each in its own process.
    out_root : path, optional
        Parent of the report folders (default :func:`fzanalysis.paths.reports_dir`).
    progress : bool
        Show a progress bar on stderr.
    params : path or mapping, optional
        Instead of the kind's params file (:func:`fzanalysis.report.params.params_file`).
    notebooks_dir : path, optional
        Where relative notebook names are resolved.
    cell_timeout : int, optional
        Seconds any single cell may run (None = no limit).

    Returns
    -------
    ReportResult
        ``result.exit_code`` is 0 only when everything succeeded.

    Raises
    ------
    ReportError
        Set-up errors (bad params, undeclared parameter, missing notebook, refused panel),
        raised before anything is executed or written.
    """
    if kind not in KINDS:
        raise ReportError(f"kind must be one of {KINDS}, got {kind!r}")
    if lang not in LANGS:
        raise ReportError(f"lang must be one of {LANGS}, got {lang!r}")
    if jobs < 1:
        raise ReportError(f"jobs must be >= 1, got {jobs}")
    _quiet()
    data_arg = None if data is None or str(data) == "" else str(Path(data).resolve())
    ctx: ReportContext | None = None
    if year is None:  # the latest year in the data
        ctx = setup(year=2100, kind=kind, lang=lang, data_path=data_arg, show=False)  # type: ignore[arg-type]
        year = int(ctx.panel.frame["year"].max())
    year = int(year)
    # set-up errors surface before the (slow) data loading and before anything is written
    spec, params_source = resolve_params(year, kind, params=params)
    job_list = plan_jobs(spec, year=year, lang=lang, data_path=data_arg, notebooks_dir=notebooks_dir)
    defaults: dict[str, dict[str, str]] = {}
    for job in job_list:
        declared = check_parameters(job.source, job.parameters)
        defaults[job.stem] = {k: v["default"] for k, v in declared.items() if k not in job.parameters}
    ctx = setup(year=year, kind=kind, lang=lang, data_path=data_arg, show=False)  # type: ignore[arg-type]

    root = Path(out_root) if out_root is not None else reports_dir()
    root.mkdir(parents=True, exist_ok=True)
    folder = output_folder_name(year, kind, lang)
    _restore_interrupted_swap(root, folder)
    tmp = root / f".tmp-{folder}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()

    files = data_files(data_arg)
    years = ctx.panel.frame["year"]
    provenance: dict[str, Any] = {
        "report": {"year": year, "kind": kind, "lang": lang, "folder": folder},
        "package": "fzanalysis",
        "package_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "kernel": kernel_name(),
        "params_file": params_source,
        "parameters": {"year": year, "kind": kind, "lang": lang, "data": data_arg or "demo", "jobs": jobs},
        "data_kind": "demo" if ctx.synthetic else "official",
        "data_years": [int(years.min()), int(years.max())],
        "assessed_year": ctx.data_year,
        "synthetic": ctx.synthetic,
        "data_files": [{"path": _rel(p), "sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files],
        "generated_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

    runs: list[dict[str, Any]] = []
    judgement: pd.DataFrame | None = None
    status_error: str | None = None
    outputs: list[str] = []
    try:
        runs = _execute_all(job_list, out_dir=tmp, kernel=provenance["kernel"], provenance=provenance,
                            lang=lang, jobs=jobs, progress=progress, cell_timeout=cell_timeout)
        try:
            judgement = ctx.judgement
            outputs = _write_outputs(ctx, tmp, provenance)
        except Exception as exc:
            status_error = "".join(traceback.format_exception(exc))[-3000:]
        provenance["notebooks"] = [
            {**{k: r[k] for k in ("stem", "source", "parameters", "ok", "error", "seconds")},
             "defaults": defaults.get(r["stem"], {})} for r in runs
        ]
        provenance["outputs"] = outputs
        (tmp / "provenance.json").write_text(json.dumps(provenance, ensure_ascii=False, indent=2),
                                             encoding="utf-8")
        (tmp / "index.html").write_text(
            html.render_index(year=year, kind=kind, lang=lang, runs=runs,  # type: ignore[arg-type]
                              judgement=judgement if status_error is None else None,
                              status_error=status_error, provenance=provenance,
                              downloads=[*outputs, "provenance.json"]),
            encoding="utf-8")
    except BaseException:
        # interrupted (Ctrl-C) or a bug in the runner: keep the partial output, never the final folder
        failed = root / f".failed-{folder}-{_stamp()}"
        if tmp.exists():
            os.rename(tmp, failed)
            (failed / "INTERRUPTED.txt").write_text(traceback.format_exc(), encoding="utf-8")
        raise

    ok = status_error is None and all(r["ok"] for r in runs)
    if ok:
        final = root / folder
        _swap_into_place(tmp, final)
        out_dir = final
    else:
        out_dir = root / f".failed-{folder}-{_stamp()}"
        os.rename(tmp, out_dir)
        prune_failed(root, folder, keep=KEEP_FAILED)
    return ReportResult(year=year, kind=kind, lang=lang, ok=ok, out_dir=out_dir, runs=runs,
                        judgement=judgement, status_error=status_error, outputs=outputs,
                        provenance=provenance)
