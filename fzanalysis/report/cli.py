"""``fzanalysis report``: run the annual, mid-term or final report from the command line.

One call can run a batch (``--year 2021-2024``, ``--kind annual,midterm``, ``--plan conghua,china``):
every report shares the one pool of workers and the results store.  ``--jobs`` defaults to the
available cores; ``--dask local|ADDRESS`` runs the chapters on a Dask cluster
(:mod:`fzanalysis.report.executors`); ``--force`` ignores the cache (:mod:`fzanalysis.report.cache`).
A second run on the same report folder or cache waits for the first (``--wait`` seconds, then an
error naming the other run's pid: :mod:`fzanalysis.report.folders`).

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
from fzanalysis.paths import reports_dir
from fzanalysis.report.executors import available_cores
from fzanalysis.report.folders import WAIT
from fzanalysis.report.params import KINDS, LANGS, params_file, read_params
from fzanalysis.report.runner import run_reports

__all__ = ["register_cli", "requests", "years_option"]


def years_option(text: str) -> list[int]:
    """``--year``: one year, a range ``2021-2024``, or a list ``2021,2023,2025-2026``.

    Examples
    --------
    >>> years_option("2021-2024"), years_option("2024"), years_option("2021,2023-2024")
    ([2021, 2022, 2023, 2024], [2024], [2021, 2023, 2024])
    """
    years: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a year, a range 2021-2024 or a list, got {text!r}") from None
        if last < first:
            raise argparse.ArgumentTypeError(f"range {part!r} runs backwards")
        years += [y for y in range(first, last + 1) if y not in years]
    return years


def _choices(allowed: list[str] | tuple[str, ...], what: str):
    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            raise argparse.ArgumentTypeError(f"{what} must be one or more of {', '.join(allowed)} "
                                             f"(comma-separated), got {text!r}")
        return values
    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fzanalysis report`` to the command line."""
    p = subparsers.add_parser(
        "report",
        help="run the annual / mid-term / final report -> <workdir>/reports/<year>/",
        description="Execute the report notebooks and write <workdir>/reports/<folder>/: index.html and "
        "a page per chapter (offline, printable), the Word report (PDF where LibreOffice is installed), "
        "status.xlsx, status.csv and provenance.json. The previous report is replaced only when the new "
        "one is complete. Results are computed once per run; chapters whose inputs are unchanged come "
        "from the cache (<reports>/.cache) unless --force is given.",
    )
    p.add_argument("--year", type=years_option, default=None,
                   help="report year, a range 2021-2024 or a list 2021,2024 (default: latest year in the data)")
    p.add_argument("--kind", type=_choices(KINDS, "--kind"), default=["annual"],
                   help="annual (any year), midterm (2025) or final (2030); several: annual,midterm")
    p.add_argument("--lang", type=_choices(LANGS, "--lang"), default=["zh"], help="zh (default), en, or zh,en")
    p.add_argument("--data", default=None, metavar="PATH", type=data_option,
                   help=DATA_HELP + " (relative paths: from the working directory)")
    p.add_argument("--plan", type=_choices(plan.available(), "--plan"), default=[plan.DEFAULT],
                   help="the plan(s) to report on (data/plans/<id>): conghua (default) or china (the national "
                   "outline on official national figures); several: conghua,china")
    p.add_argument("--workdir", default=".", help="folder holding data and reports (default: current directory)")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"chapters executed in parallel (default: the available cores, here {available_cores()})")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run the chapters on a Dask cluster: 'local' starts a LocalCluster of --jobs workers, "
                   "an address (tcp://host:8786) uses an existing one (pip install 'fzanalysis[cluster]')")
    p.add_argument("--force", action="store_true", help="ignore the cache: compute and execute everything again")
    p.add_argument("--wait", type=_seconds, default=WAIT, metavar="SECONDS",
                   help="while another run writes the same report folder or cache, wait this long for it to "
                   f"finish, then give up (default {WAIT:g}; 0: give up at once)")
    p.add_argument("--fresh-kernels", action="store_true",
                   help="start a kernel for every chapter instead of keeping one per worker (slower; same output)")
    p.add_argument("--params", default=None, help="a params YAML instead of the kind's own")
    p.add_argument("--out", default=None,
                   help="parent folder of the reports (default: $FZANALYSIS_REPORTS if set, else <workdir>/reports)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli)


def requests(years: list[int] | None, kinds: list[str], langs: list[str], plans: list[str]
             ) -> list[tuple[int | None, str, str, str]]:
    """The reports of a batch: every plan × year × kind × language the kind is for.

    In a batch of several years, a kind restricted to other years (a mid-term report is for
    2025) is skipped for the years it is not for; asked for alone, it is an error
    (:func:`fzanalysis.report.params.resolve_params`).
    """
    out = []
    for plan_id in plans:
        for year in (years or [None]):
            for kind in kinds:
                for lang in langs:
                    out.append((year, kind, lang, plan_id))
    if years and len(years) > 1:
        kept = [r for r in out if _kind_is_for(r[1], r[0])]
        return kept or out
    return out


def _kind_is_for(kind: str, year: int | None) -> bool:
    if year is None:
        return True
    try:
        allowed = read_params(params_file(year, kind)).get("years")
    except FzError:
        return True  # the run itself says what is wrong
    return allowed is None or year in allowed


def _cli(ns: argparse.Namespace) -> int:
    workdir = Path(ns.workdir).expanduser().resolve()
    data = None if ns.data is None else Path(ns.data).resolve()  # as checked by data_option
    # --out, else $FZANALYSIS_REPORTS, else <workdir>/reports (paths.reports_dir, the library's own
    # rule: the variable was read by the library and ignored by the command)
    out = Path(ns.out) if ns.out else reports_dir(workdir / "reports")
    batch = requests(ns.year, ns.kind, ns.lang, ns.plan)
    try:
        results = run_reports(batch, data=data, jobs=ns.jobs, dask=ns.dask, out_root=out, force=ns.force,
                              progress=not ns.no_progress, params=ns.params, fresh_kernels=ns.fresh_kernels,
                              wait=ns.wait)
    except (FzError, FileNotFoundError, ValueError) as exc:
        print(f"fzanalysis report: error: {exc}", file=sys.stderr)
        return 2
    for result in results:
        cached = sum(1 for r in result.runs if r.get("cached"))
        note = f" ({cached} of {len(result.runs)} chapters unchanged, from the cache)" if cached else ""
        if result.ok:
            print(f"report written: {result.out_dir / 'index.html'}{note}")
        else:
            what = ", ".join(result.failed) or "written outputs"
            print(f"report FAILED ({what}); previous report left untouched; this run's output kept in "
                  f"{result.out_dir}", file=sys.stderr)
    return max(r.exit_code for r in results)
