"""One finding about a submission (:class:`Problem`) and the refusals of ingest (:class:`Refusal`).

Code names a message by its *code* and gives its *values*; the words are data.  ``problem`` in
``data/labels/data.yaml`` holds, per code, the message in Chinese (``zh``) and English (``en``),
what a correct cell holds (``expected``) and how to fix it (``fix``), both languages, with
``{placeholders}`` for the values; ``refusal`` holds the messages of the errors raised by
ingest, withdraw and template.  :func:`render` writes a message in the language asked for
(Chinese by default; ``--lang en`` on the command line for English).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from fzanalysis import config
from fzanalysis.exceptions import ConfigError, SubmissionError
from fzanalysis.labels import check_lang, label, unit_label, unit_word

__all__ = ["Explained", "Msg", "Problem", "Refusal", "Said", "Severity", "Values", "Wording", "message_entry",
           "render"]

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


_MERGED: list[Any] = [None, {}]


def _entries() -> dict[str, dict[str, Any]]:
    """The ``problem`` and ``refusal`` entries of the label table in one dict (rebuilt when the
    label table is reloaded)."""
    table = config.label_table()
    if _MERGED[0] is not table:
        _MERGED[:] = [table, {**table.get("refusal", {}), **table.get("problem", {})}]
    return _MERGED[1]  # type: ignore[no-any-return]


def message_entry(code: str) -> dict[str, Any]:
    """The entry of message ``code`` in ``data/labels/data.yaml`` (``problem`` or ``refusal``).

    Raises
    ------
    ConfigError
        No entry has this code.
    """
    entry = _entries().get(code)
    if entry is None:
        raise ConfigError(f"data/labels/data.yaml: no message {code!r} under problem: or refusal:; "
                          "expected an entry with zh and en texts")
    return entry


def _text(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return "" if x is None else str(x)


def _values(values: dict[str, Any] | Values) -> Values:
    return values if isinstance(values, tuple) else tuple(values.items())


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


class Wording:
    """Messages in one language, the label table read once: for writing many problems.

    Examples
    --------
    >>> w = Wording("en")
    >>> w.text("all_blank", {"found": 3})
    'no figures: none of the 3 data rows has a value, numerator or denominator'
    """

    def __init__(self, lang: str = "zh"):
        self.lang = check_lang(lang)
        self.entries = _entries()
        self._units: dict[tuple[str, str | None], str] = {}
        self._names: dict[str, str] | None = None
        self._words: dict[str, str] | None = None
        self._areas: dict[str, str] | None = None
        self._built: dict[tuple[str, Values], tuple[str, str, str, str, str]] = {}
        self._warning = "warning: " if self.lang == "en" else label("severity", "warning", "zh") + "："

    def _params(self, entry: dict[str, Any], values: dict[str, Any]) -> _Blank:
        params = _Blank({k: _text(v) for k, v in values.items()})
        unit = params.get("unit")
        if self.lang == "zh" and unit:
            # a count in the indicator's own counting word (条/年 for adverts; labels.unit_word)
            word = self._indicator_words().get(str(params.get("indicator"))) if params.get("indicator") else None
            if (unit, word) not in self._units:
                self._units[(unit, word)] = unit_label(unit, "zh", word=word)
            params["unit"] = self._units[(unit, word)]
        indicator = params.get("indicator")
        if indicator:  # a clerk reads the indicator's name, never its code; an area's and a sex's too
            params["indicator"] = self._indicator_names().get(indicator, indicator)
        area = params.get("area")
        if area:
            params["area"] = self._area_names().get(area, area)
        sex = params.get("sex")
        if sex in ("F", "M", "T"):
            params["sex"] = label("sex", sex, self.lang)
        for key in ("found_kind", "kinds"):  # gazetteer kinds of area (street;town) in the clerk's words
            if params.get(key):
                params[key] = ("、" if self.lang == "zh" else " and ").join(
                    label("area_kind", k, self.lang) for k in params[key].split(";") if k)
        if params.get("excel_value"):  # what an Excel error value (#DIV/0! ...) means
            params["meaning"] = label("excel_error_value", params["excel_value"], self.lang)
        # optional parts: shown only when the value they need is given
        for name, part in entry.get("parts", {}).items():
            params[name] = str(part[self.lang]).format_map(params) if params.get(part["needs"]) else ""
        return params

    def _indicator_names(self) -> dict[str, str]:
        from fzanalysis import catalog  # the catalogue reads this module's messages

        return self._names_of("_names", lambda: catalog.normalize(), "id")

    def _indicator_words(self) -> dict[str, str]:
        """Indicator id -> its counting word in Chinese (:func:`fzanalysis.labels.unit_word`), read once."""
        if self._words is None:
            from fzanalysis import catalog  # the catalogue reads this module's messages

            try:
                table = catalog.normalize()
                self._words = {str(r["id"]): unit_word(r, "zh") for r in table.to_dict("records")}
            except Exception:
                self._words = {}
        return self._words

    def _area_names(self) -> dict[str, str]:
        from fzanalysis import gazetteer

        return self._names_of("_areas", gazetteer.load, "code")

    def _names_of(self, attr: str, load: Any, key: str) -> dict[str, str]:
        """Code -> name in the message's language from ``load()`` (the catalogue, the gazetteer),
        read once; a table that cannot be read is reported elsewhere, and codes stay codes."""
        if getattr(self, attr) is None:
            try:
                table = load()
                setattr(self, attr, dict(zip(table[key].astype(str), table[f"name_{self.lang}"].astype(str))))
            except Exception:
                setattr(self, attr, {})
        return getattr(self, attr)

    def _entry(self, code: str) -> dict[str, Any]:
        entry = self.entries.get(code)
        return entry if entry is not None else message_entry(code)

    def _pieces(self, code: str, values: Values) -> tuple[str, str, str, str, str]:
        """Message ``code`` with ``values`` around its cell: ``(head, tail, found, expected, fix)``
        (each distinct message built once); the sentence is ``head + cell part + tail``."""
        key = (code, values)
        try:
            hit = self._built.get(key)
        except TypeError:  # a value that cannot be a dict key (a list ...): worded every time
            key, hit = None, None
        if hit is None:
            entry = self._entry(code)
            params = self._params(entry, dict(values))
            lang = self.lang
            head = str(entry[lang]).format_map(params)
            expected = str(entry.get("expected", {}).get(lang, "")).format_map(params)
            fix = str(entry.get("fix", {}).get(lang, "")).format_map(params)
            tail = "" if lang == "en" else \
                (f"。应为：{expected}" if expected else "") + (f"。请：{fix}。" if fix else "")
            hit = (head, tail, params.get("found", ""), expected, fix)
            if key is not None:
                self._built[key] = hit
        return hit

    def _cell(self, cell: str) -> str:
        if not cell:
            return ""
        return f" (cell {cell})" if self.lang == "en" else f"（单元格 {cell}）"

    def explain(self, code: str, values: dict[str, Any] | Values, cell: str = "") -> Explained:
        """Message ``code`` split into found / expected / fix, and the whole sentence."""
        head, tail, found, expected, fix = self._pieces(code, _values(values))
        return Explained(code, head + self._cell(cell) + tail, found, expected, fix, cell)

    def text(self, code: str, values: dict[str, Any] | Values, cell: str = "") -> str:
        """Message ``code`` with ``values``: the whole sentence (each distinct message built once)."""
        head, tail = self._pieces(code, _values(values))[:2]
        return head + self._cell(cell) + tail

    def texts(self, problems: Sequence[Problem]) -> np.ndarray:
        """The sentence of each problem (an object array): each distinct ``(code, values)`` is
        worded once and the cells are put in with array operations, for many problems at once."""
        out = np.empty(len(problems), dtype=object)
        if not len(problems):
            return out
        keyed = self.keyed(problems)
        if keyed is None:  # a value that cannot be a dict key: one by one
            out[:] = [self.text(p.code, p.values, p.cell) for p in problems]
            return out
        return self.compose(*keyed)

    def compose(self, k: np.ndarray, head: np.ndarray, tail: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """The sentences of problems from :meth:`keyed` (or a part of its arrays ``k`` and
        ``cells``): a problem without a cell shares its message's one string."""
        out = (head + tail)[k]
        has = cells != ""
        if has.any():
            opening, closing = (" (cell ", ")") if self.lang == "en" else ("（单元格 ", "）")
            at = k[has]
            out[has] = head[at] + (opening + cells[has] + closing) + tail[at]
        return out

    def keyed(self, problems: Sequence[Problem]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """``(k, head, tail, cells)``: the number ``k`` of each problem's distinct message, the
        words before and after the cell of each distinct message, each problem's cell; the
        sentence of problem ``i`` is ``head[k[i]] + cell part + tail[k[i]]`` (:meth:`texts`).
        None when a value cannot be a dict key.

        Problems made from one cell's parse share one ``values`` object: the messages are told
        apart by that object first, so a shared message is hashed once, not once per problem.
        """
        code, values, cell = (list(map(itemgetter(i), problems)) for i in (5, 6, 7))
        n = len(problems)
        # a (code, values object) pair: the live objects' ids, then the pairs numbered
        # (equal messages of two pairs are merged below by value: the pairs only save hashing)
        obj = pd.factorize(np.fromiter(map(id, values), np.int64, n))[0]
        ccode, cuniq = pd.factorize(np.fromiter(map(id, code), np.int64, n))
        pair = pd.factorize(obj * len(cuniq) + ccode)[0]
        lead = np.full(int(pair.max()) + 1, -1, dtype=np.int64)
        lead[pair[::-1]] = np.arange(n - 1, -1, -1)  # the first problem of each pair
        which: dict[tuple[str, Values], int] = {}
        try:
            kp = np.fromiter((which.setdefault((code[i], values[i]), len(which)) for i in lead.tolist()),
                             np.int64, len(lead))
        except TypeError:
            return None
        pieces = [self._pieces(*m) for m in which]
        head, tail = (np.array([x[i] for x in pieces] + [None], dtype=object)[:-1] for i in (0, 1))
        return kp[pair], head, tail, np.array(cell, dtype=object)

    def line(self, p: Problem) -> str:
        """The printed line ``file:sheet:row:column: message`` of a problem."""
        def f(x: object) -> str:
            return "-" if x is None or x == "" else str(x)

        tag = "" if p.severity == "error" else self._warning
        return f"{f(p.file)}:{f(p.sheet)}:{f(p.row)}:{f(p.column)}: {tag}{self.text(p.code, p.values, p.cell)}"


def render(code: str, lang: str = "zh", /, *, cell: str = "", **values: Any) -> str:
    """Message ``code`` with ``values`` in ``lang``: what was found, what was expected, how to fix it.

    In Chinese the sentence is followed by 应为 (``expected``) and 请 (``fix``); the English
    ``en`` text says all three itself.  ``cell`` (an Excel reference such as ``E5``) is added.
    For many messages use one :class:`Wording`.

    Examples
    --------
    >>> render("out_of_range", "en", cell="E5", found=120.0, lo=0.0, hi=100.0, unit="percent")
    'value 120 outside the allowed range 0–100 (percent) (cell E5)'
    >>> render("out_of_range", "zh", found=120.0, lo=0.0, hi=100.0, unit="percent")
    '数值 120 超出允许范围。应为：0–100 之间的数（单位：%）。请：核对该数值（是否多打或少打了一位？单位是否正确？）。'
    """
    return Wording(lang).text(code, values, cell)


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
        return Wording("en").text(self.code, dict(self.values), self.cell)

    def __str__(self) -> str:
        return self.format("en")

    def explain(self, lang: str = "zh") -> Explained:
        """The message in ``lang``, with found / expected / fix on their own."""
        return Wording(lang).explain(self.code, dict(self.values), self.cell)

    def format(self, lang: str = "zh") -> str:
        """The printed line ``file:sheet:row:column: message`` in ``lang``."""
        return Wording(lang).line(self)


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
