"""One finding about a submission: :class:`Problem`, printed ``file:sheet:row:column: message``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Problem", "Severity"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about a submission.

    Printed as ``file:sheet:row:column: message``; ``-`` stands for a field
    that does not apply (a CSV file has no sheet, a whole-file problem no row).
    ``row`` is the row number a spreadsheet program shows (header = 1 for CSV).
    """

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    severity: Severity
    message: str

    def __str__(self) -> str:
        def f(x: object) -> str:
            return "-" if x is None or x == "" else str(x)

        tag = "" if self.severity == "error" else "warning: "
        return f"{f(self.file)}:{f(self.sheet)}:{f(self.row)}:{f(self.column)}: {tag}{self.message}"
