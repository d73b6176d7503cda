"""One finding about a submission: :class:`Problem`, printed ``file:sheet:row:column: message``.

The words of every message are data: ``problem`` in ``data/labels/data.yaml`` holds, per kind
of problem, the English message the checks write (with ``{placeholders}``), and in Chinese and
English what was found, what was expected and how to fix it.  :meth:`Problem.explain` finds a
problem's kind by matching its message against the English templates and renders it in the
language asked for; :meth:`Problem.format` is the printed line (Chinese by default).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fzanalysis import config
from fzanalysis.labels import check_lang, label, unit_label
from fzanalysis.paths import data_path

__all__ = ["Explained", "Problem", "Severity", "explain", "problem_kinds"]

Severity = Literal["error", "warning"]

_CELL = re.compile(r" \(cell (?P<cell>[A-Z]{1,3}\d+)\)$")


@dataclass(frozen=True)
class Explained:
    """A problem in one language: ``kind`` (``""`` when no template matched), ``message``
    (the whole sentence), ``found``, ``expected``, ``fix`` and the Excel ``cell`` (or ``""``)."""

    kind: str
    message: str
    found: str
    expected: str
    fix: str
    cell: str


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about a submission.

    Printed as ``file:sheet:row:column: message``; ``-`` stands for a field
    that does not apply (a CSV file has no sheet, a whole-file problem no row).
    ``row`` is the row number a spreadsheet program shows (header = 1 for CSV).
    ``message`` is the English text; :meth:`explain` and :meth:`format` give it in Chinese.
    """

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    severity: Severity
    message: str

    def __str__(self) -> str:
        return self.format("en")

    def explain(self, lang: str = "zh") -> Explained:
        """The message in ``lang``, split into found / expected / fix (see :func:`explain`)."""
        return explain(self.message, lang)

    def format(self, lang: str = "zh") -> str:
        """The printed line ``file:sheet:row:column: message`` in ``lang``."""
        def f(x: object) -> str:
            return "-" if x is None or x == "" else str(x)

        if lang == "en":
            tag = "" if self.severity == "error" else "warning: "
            return f"{f(self.file)}:{f(self.sheet)}:{f(self.row)}:{f(self.column)}: {tag}{self.message}"
        e = self.explain(lang)
        tag = "" if self.severity == "error" else label("severity", "warning", "zh") + "："
        return f"{f(self.file)}:{f(self.sheet)}:{f(self.row)}:{f(self.column)}: {tag}{e.message}"


def _compile(path: Path) -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
    out = []
    for kind, entry in config.label_table().get("problem", {}).items():
        parts = re.split(r"\{(\w+)\}", str(entry["en"]))
        seen: set[str] = set()
        rx = ""
        for i, part in enumerate(parts):
            if i % 2 == 0:
                rx += re.escape(part)
            elif part in seen:
                rx += f"(?P={part})"
            else:
                seen.add(part)
                rx += f"(?P<{part}>.*?)"
        out.append((str(kind), re.compile("^" + rx + "$", re.S), entry))
    return out


def problem_kinds() -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
    """The message templates of ``data/labels/data.yaml`` compiled: ``(kind, pattern, entry)``."""
    return config.cached("panel.problem_kinds", data_path("labels", "data.yaml"), _compile)


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def explain(message: str, lang: str = "zh") -> Explained:
    """Split an English problem message into found / expected / fix, in ``lang``.

    Examples
    --------
    >>> e = explain("value 120 outside the allowed range 0–100 (percent) (cell E5)")
    >>> e.kind, e.found, e.cell, e.expected
    ('out_of_range', '120', 'E5', '0–100 之间的数（单位：%）')
    """
    check_lang(lang)
    m = _CELL.search(message)
    cell = m.group("cell") if m else ""
    body = message[: m.start()] if m else message
    for kind, rx, entry in problem_kinds():
        hit = rx.match(body)
        if hit is None:
            continue
        params = _Blank({k: (v if v is not None else "") for k, v in hit.groupdict().items()})
        if params.get("unit") and lang == "zh":
            params["unit"] = unit_label(params["unit"], "zh")
        if "detail" in params and lang == "zh":
            params["detail"] = ""
        if "hint" in params and params["hint"]:
            params["hint"] = "（是否应为 " + params["hint"].split("did you mean ", 1)[-1].rstrip("?") + "？）" \
                if lang == "zh" else params["hint"]
        text = str(entry[lang]).format_map(params)
        expected = str(entry.get("expected", {}).get(lang, "")).format_map(params)
        fix = str(entry.get("fix", {}).get(lang, "")).format_map(params)
        if lang == "zh":
            text = f"{text}（单元格 {cell}）" if cell else text
            text += (f"。应为：{expected}" if expected else "") + (f"。请：{fix}。" if fix else "")
        else:
            text = message
        return Explained(kind, text, str(params.get("found", "")), expected, fix, cell)
    return Explained("", message, "", "", "", cell)
