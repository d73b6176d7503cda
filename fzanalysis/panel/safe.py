"""Safe outputs: every CSV and XLSX the project writes goes through here.

* :func:`neutralise` prefixes a text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
  tab / carriage return) with an apostrophe, so that Excel, WPS and LibreOffice show it as
  text instead of running it as a formula (OWASP, "CSV injection").  Numbers are never
  touched: ``-3.5`` in a number column stays a number.
* :func:`write_csv` writes UTF-8 **with** a byte-order mark (Excel on Chinese Windows then
  reads Chinese text correctly), ``\\n`` line ends, atomically (a temporary file in the same
  folder, flushed, then :func:`os.replace`): a reader sees the old file or the new one, never
  half of one.
* :func:`write_xlsx` and :func:`set_text_cell` write workbooks whose text cells are never
  formulas (stored as string cells).
* :func:`atomic_write_bytes` is the primitive underneath, also used for parquet and XLSX.

References
----------
OWASP, CSV Injection, https://owasp.org/www-community/attacks/CSV_Injection
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

__all__ = ["DANGEROUS_PREFIXES", "atomic_write", "atomic_write_bytes", "neutralise", "neutralise_text",
           "set_text_cell", "write_csv", "write_xlsx"]

#: First characters that make a spreadsheet treat a cell as a formula.
DANGEROUS_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: Any) -> Any:
    """Return ``value`` with an apostrophe in front when it is text starting with a formula sign.

    Examples
    --------
    >>> neutralise_text("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise_text("-3.5"), neutralise_text(-3.5), neutralise_text("卫健局")
    ("'-3.5", -3.5, '卫健局')
    """
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (object or string columns) are :func:`neutralise_text`-ed.

    Column headings are neutralised too.  Number, boolean and date columns are left as they are.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            text = s.astype("string")
            bad = text.str.startswith(DANGEROUS_PREFIXES).fillna(False).to_numpy(dtype=bool)
            if bad.any():
                s = s.astype(object).copy()
                s[bad] = ["'" + str(v) for v in s[bad]]
                out[col] = s
    out.columns = [neutralise_text(c) for c in out.columns]
    return out


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temporary file that replaces ``path``.

    The temporary file lives in the same folder (so :func:`os.replace` is atomic), is fsync-ed
    before the replace and removed if ``write`` fails; the folder is fsync-ed afterwards.

    Raises
    ------
    OSError
        Whatever the file system raised (the previous ``path`` is then left as it was).
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_csv(frame: pd.DataFrame, path: str | Path, *, sort_by: list[str] | None = None) -> Path:
    """Write a table as CSV the one safe way: neutralised text, UTF-8 with BOM, atomic.

    Parameters
    ----------
    frame : DataFrame
        The table; floats are written with ``repr`` precision (a round trip is exact).
    path : str or Path
        Target file; its folder is created.
    sort_by : list of str, optional
        Columns to sort by first (stable), for deterministic files.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = frame.sort_values(sort_by, kind="stable").reset_index(drop=True) if sort_by else frame
    text = neutralise(df).to_csv(index=False, lineterminator="\n", float_format=None)
    return atomic_write_bytes(path, text.encode("utf-8-sig"))


def set_text_cell(cell: Any, value: Any) -> Any:
    """Put ``value`` in an openpyxl cell so that text is never a formula.

    openpyxl stores a string that starts with ``=`` as a formula; here such text (and any text
    starting with :data:`DANGEROUS_PREFIXES`) is stored as a string cell, which Excel, WPS and
    LibreOffice show as the text it is, without the apostrophe :func:`neutralise_text` adds to
    CSV.  Numbers and dates are stored as they are.
    """
    if isinstance(value, float) and value != value:
        value = None
    cell.value = value
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        cell.data_type = "s"
    return cell


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write tables as one workbook the safe way: text never a formula (:func:`set_text_cell`), atomic.

    Parameters
    ----------
    sheets : dict of str to DataFrame
        Sheet name -> table (headings in row 1).
    path : str or Path
        Target ``.xlsx``; its folder is created.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, frame in sheets.items():
        ws = wb.create_sheet(str(name)[:31])
        for j, col in enumerate(frame.columns, start=1):
            set_text_cell(ws.cell(row=1, column=j), str(col))
        for i, row in enumerate(frame.itertuples(index=False), start=2):
            for j, v in enumerate(row, start=1):
                set_text_cell(ws.cell(row=i, column=j), v.item() if hasattr(v, "item") else v)
    return atomic_write(path, lambda tmp: wb.save(tmp))
