"""One finding about a submission (:class:`Problem`) and the refusals of ingest (:class:`Refusal`).

Code names a message by its *code* and gives its *values*; the words are data.  ``problem`` in
``data/labels/data.yaml`` holds, per code, the message in Chinese (``zh``) and English (``en``),
what a correct cell holds (``expected``) and how to fix it (``fix``), both languages, with
``{placeholders}`` for the values; ``refusal`` holds the messages of the errors raised by
ingest, withdraw and template.  :func:`render` writes a message in the language asked for
(Chinese by default; ``--lang en`` on the command line for English).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from fzanalysis import config
from fzanalysis.exceptions import ConfigError, SubmissionError
from fzanalysis.labels import check_lang, label, unit_label

__all__ = ["Explained", "Msg", "Problem", "Refusal", "Said", "Severity", "Values", "message_entry", "render"]

Severity = Literal["error", "warning"]
#: The values of a message: ``(name, value)`` pairs.
Values = tuple[tuple[str, Any], ...]
#: A message named in code: its code in ``data/labels/data.yaml`` and its values.
Msg = tuple[str, Values]


@dataclass(frozen=True)
class Explained:
    """A problem in one language: ``kind`` (its message code), ``message`` (the whole sentence),
    ``found``, ``expected``, ``fix`` and the Excel ``cell`` (or ``""``)."""

    kind: str
    message: str
    found: str
    expected: str
    fix: str
    cell: str


def message_entry(code: str) -> dict[str, Any]:
    """The entry of message ``code`` in ``data/labels/data.yaml`` (``problem`` or ``refusal``).

    Raises
    ------
    ConfigError
        No entry has this code.
    """
    table = config.label_table()
    for section in ("problem", "refusal"):
        entry = table.get(section, {}).get(code)
        if entry is not None:
            return entry
    raise ConfigError(f"data/labels/data.yaml: no message {code!r} under problem: or refusal:; "
                      "expected an entry with zh and en texts")


def _text(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return "" if x is None else str(x)


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def _params(entry: dict[str, Any], values: dict[str, Any], lang: str) -> _Blank:
    params = _Blank({k: _text(v) for k, v in values.items()})
    if lang == "zh" and params.get("unit"):
        params["unit"] = unit_label(params["unit"], "zh")
    # optional parts: shown only when the value they need is given
    for name, part in entry.get("parts", {}).items():
        params[name] = str(part[lang]).format_map(params) if params.get(part["needs"]) else ""
    return params


def render(code: str, lang: str = "zh", /, *, cell: str = "", **values: Any) -> str:
    """Message ``code`` with ``values`` in ``lang``: what was found, what was expected, how to fix it.

    In Chinese the sentence is followed by 应为 (``expected``) and 请 (``fix``); the English
    ``en`` text says all three itself.  ``cell`` (an Excel reference such as ``E5``) is added.

    Examples
    --------
    >>> render("out_of_range", "en", cell="E5", found=120.0, lo=0.0, hi=100.0, unit="percent")
    'value 120 outside the allowed range 0–100 (percent) (cell E5)'
    >>> render("out_of_range", "zh", found=120.0, lo=0.0, hi=100.0, unit="percent")
    '数值 120 超出允许范围。应为：0–100 之间的数（单位：%）。请：核对该数值（是否多打或少打了一位？单位是否正确？）。'
    """
    check_lang(lang)
    entry = message_entry(code)
    params = _params(entry, values, lang)
    text = str(entry[lang]).format_map(params)
    if lang == "en":
        return f"{text} (cell {cell})" if cell else text
    expected = str(entry.get("expected", {}).get(lang, "")).format_map(params)
    fix = str(entry.get("fix", {}).get(lang, "")).format_map(params)
    text = f"{text}（单元格 {cell}）" if cell else text
    return text + (f"。应为：{expected}" if expected else "") + (f"。请：{fix}。" if fix else "")


class Problem(NamedTuple):
    """One finding about a submission.

    Printed as ``file:sheet:row:column: message``; ``-`` stands for a field that does not
    apply (a CSV file has no sheet, a whole-file problem no row).  ``row`` is the row number a
    spreadsheet program shows (header = 1 for CSV).  ``code`` names the message in
    ``data/labels/data.yaml``, ``values`` fills it (``(name, value)`` pairs) and ``cell`` is the
    Excel reference (``""`` for CSV).  :attr:`message` is the English text; :meth:`format` and
    :meth:`explain` give it in Chinese (the default) or English.
    """

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    severity: Severity
    code: str
    values: Values = ()
    cell: str = ""

    @property
    def params(self) -> dict[str, Any]:
        """The values as a dict."""
        return dict(self.values)

    @property
    def message(self) -> str:
        """The message in English."""
        return render(self.code, "en", cell=self.cell, **dict(self.values))

    def __str__(self) -> str:
        return self.format("en")

    def explain(self, lang: str = "zh") -> Explained:
        """The message in ``lang``, with found / expected / fix on their own."""
        check_lang(lang)
        entry = message_entry(self.code)
        params = _params(entry, dict(self.values), lang)
        expected = str(entry.get("expected", {}).get(lang, "")).format_map(params)
        fix = str(entry.get("fix", {}).get(lang, "")).format_map(params)
        return Explained(self.code, render(self.code, lang, cell=self.cell, **dict(self.values)),
                         params.get("found", ""), expected, fix, self.cell)

    def format(self, lang: str = "zh") -> str:
        """The printed line ``file:sheet:row:column: message`` in ``lang``."""
        def f(x: object) -> str:
            return "-" if x is None or x == "" else str(x)

        tag = "" if self.severity == "error" else (
            "warning: " if lang == "en" else label("severity", "warning", "zh") + "：")
        return (f"{f(self.file)}:{f(self.sheet)}:{f(self.row)}:{f(self.column)}: {tag}"
                f"{render(self.code, lang, cell=self.cell, **dict(self.values))}")


class Said:
    """An error whose words are data: message ``code`` of ``data/labels/data.yaml`` and its values.

    ``str()`` is the Chinese message (the default language); :meth:`render` gives either.
    """

    code: str
    values: dict[str, Any]
    where: str

    def render(self, lang: str = "zh") -> str:
        """The message in ``lang``, prefixed by the file or folder it is about."""
        text = render(self.code, lang, **self.values)
        return f"{self.where}: {text}" if self.where else text

    def __str__(self) -> str:
        return self.render("zh")


class Refusal(Said, SubmissionError):
    """Ingest, withdraw or template refused: message ``code`` with ``values``, about ``where``."""

    def __init__(self, code: str, where: str | object = "", /, **values: Any):
        self.code, self.values, self.where = code, values, str(where)
        super().__init__(self.render("en"))
