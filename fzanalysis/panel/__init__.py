"""The tidy panel and the submissions that feed it.

One row per indicator x year x area x sex.  :func:`as_panel` checks a panel once into a
:class:`Panel`; every entry point calls it.  Member units' files are checked by :func:`validate`
and merged into ``data/processed`` by :func:`ingest`, one transaction per run.

Modules: ``schema`` (the panel rules), ``read`` (bytes -> raw tables, limits), ``submission``
(cells -> records), ``checks`` (rows, peers, batch, jumps), ``template`` (the Excel form),
``ingest`` (merge, withdraw, rebuild), ``store`` (generations, lock), ``aggregate`` (towns ->
district), ``problems`` (findings and their zh/en wording), ``annotate`` (feedback workbooks),
``safe`` (safe CSV/XLSX output), ``cli`` (sub-commands and ``--data``).
"""
from __future__ import annotations

from fzanalysis.panel.aggregate import aggregate_towns, check_district_consistency
from fzanalysis.panel.annotate import annotate
from fzanalysis.panel.checks import jump_warnings, validate
from fzanalysis.panel.cli import load_for_cli
from fzanalysis.panel.ingest import IngestResult, ingest, rebuild, withdraw
from fzanalysis.panel.problems import Problem, Refusal, render
from fzanalysis.panel.safe import neutralise, write_csv, write_xlsx
from fzanalysis.panel.schema import READABLE_FORMATS, YEAR_RANGE, Panel, as_panel, read_panel
from fzanalysis.panel.submission import Submission, read_submission
from fzanalysis.panel.template import template

__all__ = [
    "READABLE_FORMATS",
    "YEAR_RANGE",
    "IngestResult",
    "Panel",
    "Problem",
    "Refusal",
    "Submission",
    "aggregate_towns",
    "annotate",
    "as_panel",
    "check_district_consistency",
    "ingest",
    "jump_warnings",
    "load_for_cli",
    "neutralise",
    "read_panel",
    "read_submission",
    "rebuild",
    "render",
    "template",
    "validate",
    "withdraw",
    "write_csv",
    "write_xlsx",
]
