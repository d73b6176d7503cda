"""Command line of the panel: ``template``, ``validate``, ``ingest`` and ``withdraw``.

Also :func:`load_for_cli`, the one way every command that takes ``--data`` (assess, project,
backtest, report) reads its panel, so they accept and refuse the same files with the same message.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from fzanalysis.exceptions import FzError, PanelError
from fzanalysis.labels import label
from fzanalysis.panel import store
from fzanalysis.panel.annotate import annotate
from fzanalysis.panel.checks import validate
from fzanalysis.panel.ingest import ingest, rebuild, withdraw
from fzanalysis.panel.problems import Problem, Said, Wording
from fzanalysis.panel.schema import Panel, as_panel
from fzanalysis.panel.template import template
from fzanalysis.paths import data_path

__all__ = ["DATA_HELP", "data_option", "load_for_cli", "register_cli"]

#: Help text of every ``--data`` option.
DATA_HELP = ("panel file (.csv, .parquet or .xlsx with the panel's columns); "
             "default: the embedded synthetic demo panel")


def load_for_cli(path: str | Path | None) -> Panel:
    """The panel of a ``--data`` option: the file checked by :func:`as_panel`, or the demo panel.

    Parameters
    ----------
    path : str, Path or None
        A file in one of :data:`fzanalysis.panel.READABLE_FORMATS`; None or ``""`` for the
        embedded synthetic demo panel.

    Returns
    -------
    Panel

    Raises
    ------
    PanelError
        The file is missing, not in a readable format, or fails the panel rules (the same
        message for every command).
    """
    if path is None or str(path) == "":
        from fzanalysis import demo  # demo imports the panel package: a cycle at import time

        return as_panel(demo.load(), source=str(demo.demo_path()))
    return as_panel(Path(path))


def data_option(value: str) -> str:
    """``type=`` of every ``--data`` option: check the file with :func:`as_panel` when parsing.

    A file that is not a valid panel stops every command the same way (argparse's
    ``error: argument --data: <message>``, exit code 2) before any work starts.

    Raises
    ------
    argparse.ArgumentTypeError
        With the :class:`~fzanalysis.exceptions.PanelError` message.
    """
    path = Path(value)
    if not path.exists():  # not a schema problem: say so, in both languages (--lang is not parsed yet)
        raise argparse.ArgumentTypeError(
            f"找不到数据文件 {value}（年度数据面板由 fzanalysis ingest 生成：data/processed/panel.parquet）/ "
            f"file not found: {value} (the yearly panel is made by fzanalysis ingest: "
            "data/processed/panel.parquet)")
    try:
        as_panel(path)
    except PanelError as exc:
        raise argparse.ArgumentTypeError(
            f"数据文件 {value} 不能用作数据面板，未做任何处理（原因见下）/ not a usable panel, nothing was "
            f"done:\n{exc}") from None
    return value


def _print_problems(problems: Iterable[Problem], stream: Any = None, lang: str = "zh") -> None:
    stream = stream or sys.stdout
    words = Wording(lang)
    for p in problems:
        print(words.line(p), file=stream)


def _say(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _error(exc: BaseException, lang: str) -> str:
    """An error's message in ``lang`` (errors whose words are data), else as it is."""
    return exc.render(lang) if isinstance(exc, Said) else str(exc)


def _history(ns: argparse.Namespace) -> pd.DataFrame | None:
    if ns.no_history:
        return None
    if ns.history:
        return as_panel(Path(ns.history)).frame
    out = data_path("processed")
    if not (out / "CURRENT").is_file() and not (out / "panel.parquet").is_file():
        return None
    try:
        return store.read_state(out).panel.frame
    except PanelError as exc:
        print(_say(ns.lang, f"{out}:-:-:-: 警告：未使用已入库的历史数据：{_error(exc, 'zh')}",
                   f"{out}:-:-:-: warning: history panel not used: {_error(exc, 'en')}"), file=sys.stderr)
        return None


def _cmd_validate(ns: argparse.Namespace) -> int:
    try:
        history = _history(ns)
    except PanelError as exc:
        print(f"fzanalysis validate: --history: {_error(exc, ns.lang)}", file=sys.stderr)
        return 2
    problems = validate(ns.files, history=history)
    _print_problems(problems, lang=ns.lang)
    n_err = sum(p.severity == "error" for p in problems)
    n_warn = len(problems) - n_err
    print(_say(ns.lang, f"{len(ns.files)} 个文件：{n_err} 个错误，{n_warn} 个警告",
               f"{len(ns.files)} file(s): {n_err} error(s), {n_warn} warning(s)"), file=sys.stderr)
    if ns.annotate:
        try:
            for path in annotate(problems, ns.files, ns.annotate, lang=ns.lang):
                print(_say(ns.lang, f"批注副本：{path}", f"annotated copy: {path}"), file=sys.stderr)
        except OSError as exc:
            print(_say(ns.lang, f"fzanalysis validate：无法写入批注文件夹 {ns.annotate}（{exc.strerror or exc}）："
                                "请换一个可写的文件夹",
                       f"fzanalysis validate: cannot write the annotation folder {ns.annotate} "
                       f"({exc.strerror or exc}): give a writable folder"), file=sys.stderr)
            return 2
    return 1 if n_err else 0


def _cmd_template(ns: argparse.Namespace) -> int:
    try:
        path = template(ns.department, ns.year, ns.output)
    except (FzError, OSError) as exc:
        print(f"fzanalysis template: {_error(exc, ns.lang)}", file=sys.stderr)
        return 2
    print(path)
    return 0


def _cmd_ingest(ns: argparse.Namespace) -> int:
    try:
        if ns.rebuild:
            if ns.files:
                print("fzanalysis ingest: --rebuild takes no files (it re-reads those in the ingest log)",
                      file=sys.stderr)
                return 2
            res = rebuild(out_dir=ns.out_dir, wait=ns.wait)
        elif not ns.files:
            print("fzanalysis ingest: give the files to ingest (or --rebuild)", file=sys.stderr)
            return 2
        else:
            res = ingest(ns.files, out_dir=ns.out_dir, keep_valid=ns.keep_valid, wait=ns.wait)
    except FzError as exc:
        print(f"fzanalysis ingest: {_error(exc, ns.lang)}", file=sys.stderr)
        return 1
    _print_problems(res.problems, lang=ns.lang)
    for (_, r), reason in zip(res.rejected.iterrows(), res.reasons(ns.lang)):
        where = f"{r['path']}:{r['sheet'] or '-'}:{r['row'] or '-'}"
        print(_say(ns.lang, f"未入库 {where}：{reason}", f"rejected {where}: {reason}"), file=sys.stderr)
    for _, r in res.log.iterrows():
        status = label("ingest_status", r["status"], ns.lang)
        print(_say(ns.lang, f"{r['path']}：{status}（读取 {r['rows_read']} 行，空行 {r['rows_blank']}，"
                            f"拒收 {r['rows_rejected']}，新增 {r['rows_new']}，修订 {r['rows_revised']}，"
                            f"未变 {r['rows_unchanged']}）",
                   f"{r['path']}: {r['status']} (read {r['rows_read']}, blank {r['rows_blank']}, "
                   f"rejected {r['rows_rejected']}, new {r['rows_new']}, revised {r['rows_revised']}, "
                   f"unchanged {r['rows_unchanged']})"), file=sys.stderr)
    if res.written:
        print(_say(ns.lang, f"面板：{len(res.panel)} 行 -> {res.written[0].parent}",
                   f"panel: {len(res.panel)} rows -> {res.written[0].parent}"), file=sys.stderr)
    partial_rejects = ns.keep_valid and len(res.rejected) > 0
    return 1 if (res.log["status"] == "rejected").any() or (res.has_error and not ns.keep_valid) \
        or partial_rejects else 0


def _cmd_withdraw(ns: argparse.Namespace) -> int:
    keys = pd.DataFrame({"indicator": [ns.indicator], "year": [ns.year], "area": [ns.area],
                         "sex": [ns.sex]})
    try:
        res = withdraw(keys, reason=ns.reason, out_dir=ns.out_dir, wait=ns.wait)
    except FzError as exc:
        print(f"fzanalysis withdraw: {_error(exc, ns.lang)}", file=sys.stderr)
        return 1
    for r in res.revisions.itertuples():
        print(_say(ns.lang, f"已撤回 ({r.indicator}, {r.year}, {r.area}, {r.sex})：原值 {r.old_value:g}；"
                            "已记入 revisions.csv",
                   f"withdrawn ({r.indicator}, {r.year}, {r.area}, {r.sex}): was {r.old_value:g}; "
                   f"logged in revisions.csv"), file=sys.stderr)
    return 0


def _lang_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=["zh", "en"], default="zh",
                   help="language of the messages (default zh, Chinese)")


def register_cli(subparsers: Any) -> None:
    """Add the ``template``, ``ingest``, ``validate`` and ``withdraw`` sub-commands."""
    p = subparsers.add_parser("template", help="write an Excel submission template for one member unit",
                              description="Write an Excel workbook a member unit fills in (填报模板).")
    p.add_argument("--department", required=True, help="member unit as in the catalogue, e.g. 卫健局")
    p.add_argument("--year", required=True, type=int, help="reporting year")
    p.add_argument("-o", "--output", required=True, help="output .xlsx path")
    _lang_option(p)
    p.set_defaults(func=_cmd_template)

    p = subparsers.add_parser("ingest", help="merge submissions into data/processed/ (panel.parquet, panel.csv)",
                              description="Read filled templates and tidy CSV files; merge into the panel "
                                          "as one transaction (all or nothing).")
    p.add_argument("files", nargs="*", help="submission files (.xlsx, .csv), in submission order")
    p.add_argument("--keep-valid", action="store_true",
                   help="ingest the valid rows of a partly bad file and list the rejected rows "
                        "(exit 1 while any row is rejected; without it a file with any error is "
                        "rejected whole)")
    p.add_argument("--rebuild", action="store_true",
                   help="rebuild the panel from the files in the ingest log (raw files must be unchanged)")
    p.add_argument("--out-dir", default=None, help="output folder (default data/processed)")
    p.add_argument("--wait", type=float, default=None,
                   help="seconds to wait for another ingest to finish (default in data/ingest.yaml)")
    _lang_option(p)
    p.set_defaults(func=_cmd_ingest)

    p = subparsers.add_parser("validate", help="check submission files without writing",
                              description="Print every problem as file:sheet:row:column: message; "
                                          "exit 1 on any error.")
    p.add_argument("files", nargs="+", help="submission files (.xlsx, .csv)")
    p.add_argument("--annotate", metavar="DIR", default=None,
                   help="write a feedback copy of each file into DIR: offending cells filled and "
                        "commented, plus a 问题清单 sheet (the originals are not touched)")
    p.add_argument("--history", default=None,
                   help="panel with earlier figures for the jump check (default: the processed panel)")
    p.add_argument("--no-history", action="store_true", help="check the files on their own (no earlier panel)")
    _lang_option(p)
    p.set_defaults(func=_cmd_validate)

    p = subparsers.add_parser("withdraw", help="withdraw one figure from the panel (logged as a revision)",
                              description="Remove one figure from the consolidated panel; the old value "
                                          "and the reason are written to revisions.csv.")
    p.add_argument("--indicator", required=True)
    p.add_argument("--year", required=True, help="the year, e.g. 2024")
    p.add_argument("--area", default=None, help="area code or name (default: the district)")
    p.add_argument("--sex", default="T")
    p.add_argument("--reason", required=True, help="why the figure is withdrawn")
    p.add_argument("--out-dir", default=None, help="processed folder (default data/processed)")
    p.add_argument("--wait", type=float, default=None)
    _lang_option(p)
    p.set_defaults(func=_cmd_withdraw)
