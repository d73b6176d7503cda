"""``fzanalysis report``: run the annual, mid-term or final report from the command line.

``--workdir`` (default: the current directory) holds the data and the reports, so that
``pip install fzanalysis`` then ``fzanalysis report`` works anywhere: the report goes to
``<workdir>/reports/<folder>/``; ``--data`` is checked like every command's ``--data`` (relative to the
current directory).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fzanalysis import plan
from fzanalysis.exceptions import FzError
from fzanalysis.panel.cli import DATA_HELP, data_option
from fzanalysis.report.params import KINDS, LANGS
from fzanalysis.report.runner import run_report

__all__ = ["register_cli"]


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fzanalysis report`` to the command line."""
    p = subparsers.add_parser(
        "report",
        help="run the annual / mid-term / final report -> <workdir>/reports/<year>/",
        description="Execute the report notebooks and write <workdir>/reports/<folder>/: index.html and "
        "a page per chapter (offline, printable), the Word report (PDF where LibreOffice is installed), "
        "status.xlsx, status.csv and provenance.json. The previous report is replaced only when the new "
        "one is complete.",
    )
    p.add_argument("--year", type=int, default=None, help="report year (default: latest year in the data)")
    p.add_argument("--kind", choices=KINDS, default="annual",
                   help="annual (any year), midterm (2025) or final (2030)")
    p.add_argument("--lang", choices=LANGS, default="zh")
    p.add_argument("--data", default=None, metavar="PATH", type=data_option,
                   help=DATA_HELP + " (relative paths: from the working directory)")
    p.add_argument("--plan", choices=plan.available(), default=plan.DEFAULT,
                   help="the plan to report on (data/plans/<id>): conghua (default) or china (the national "
                   "outline on official national figures)")
    p.add_argument("--workdir", default=".", help="folder holding data and reports (default: current directory)")
    p.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel (processes)")
    p.add_argument("--params", default=None, help="a params YAML instead of the kind's own")
    p.add_argument("--out", default=None, help="parent folder of the reports (default: <workdir>/reports)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli)


def _cli(ns: argparse.Namespace) -> int:
    with plan.use(ns.plan):  # this process and the notebook kernels it starts
        return _run(ns)


def _run(ns: argparse.Namespace) -> int:
    workdir = Path(ns.workdir).expanduser().resolve()
    data = None if ns.data is None else Path(ns.data).resolve()  # as checked by data_option
    out = Path(ns.out) if ns.out else workdir / "reports"
    try:
        result = run_report(ns.year, kind=ns.kind, lang=ns.lang, data=data, jobs=ns.jobs, out_root=out,
                            progress=not ns.no_progress, params=ns.params)
    except (FzError, FileNotFoundError, ValueError) as exc:
        print(f"fzanalysis report: error: {exc}", file=sys.stderr)
        return 2
    if result.ok:
        print(f"report written: {result.out_dir / 'index.html'}")
    else:
        what = ", ".join(result.failed) or "written outputs"
        print(f"report FAILED ({what}); previous report left untouched; this run's output kept in "
              f"{result.out_dir}", file=sys.stderr)
    return result.exit_code
