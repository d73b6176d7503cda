"""The report: annual, mid-term and final, as offline HTML, Word, Excel and CSV.

Modules:

- :mod:`~fzanalysis.report.params` -- report kinds (``params/<kind>.yaml``) and parameter checks
- :mod:`~fzanalysis.report.context` -- :func:`setup`, the one call every report notebook starts with
- :mod:`~fzanalysis.report.tables` -- the judgement table and every table the report shows
- :mod:`~fzanalysis.report.results` -- the results store: everything a report shows, computed once per run
- :mod:`~fzanalysis.report.cache` -- the chapter cache (unchanged chapters are not executed again)
- :mod:`~fzanalysis.report.executors` -- local processes or a Dask cluster
- :mod:`~fzanalysis.report.runner` -- papermill runs, batches, atomic replacement, failed-run retention
- :mod:`~fzanalysis.report.html` -- the chapter pages (nbconvert template) and the index
- :mod:`~fzanalysis.report.docx` -- the Word report (and PDF through LibreOffice)
- :mod:`~fzanalysis.report.excel` -- ``status.xlsx`` and CSV with BOM
- :mod:`~fzanalysis.report.cli` -- ``fzanalysis report``
"""
from __future__ import annotations

from fzanalysis.exceptions import ReportError
from fzanalysis.report.context import ReportContext, assessment_year, load_panel, setup, show_figure, text
from fzanalysis.report.params import (
    KINDS,
    NOTEBOOKS_DIR,
    PARAMS_DIR,
    PLAN_YEARS,
    Job,
    ReportParameterError,
    check_parameters,
    kind_label,
    output_folder_name,
    params_file,
    plan_jobs,
    read_params,
    resolve_params,
    validate_params,
)


def __getattr__(name: str):  # PEP 562: the runner (papermill, nbconvert) loads only when asked for
    if name in ("ReportResult", "run_report", "run_reports"):
        from fzanalysis.report import runner  # a notebook kernel imports this package, never the runner

        return getattr(runner, name)
    raise AttributeError(f"module 'fzanalysis.report' has no attribute {name!r}")

__all__ = [
    "KINDS",
    "NOTEBOOKS_DIR",
    "PARAMS_DIR",
    "PLAN_YEARS",
    "Job",
    "ReportContext",
    "ReportError",
    "ReportParameterError",
    "ReportResult",
    "assessment_year",
    "check_parameters",
    "kind_label",
    "load_panel",
    "output_folder_name",
    "params_file",
    "plan_jobs",
    "read_params",
    "resolve_params",
    "run_report",
    "run_reports",
    "setup",
    "show_figure",
    "text",
    "validate_params",
]
