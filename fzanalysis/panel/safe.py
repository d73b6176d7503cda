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
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["DANGEROUS_PREFIXES", "atomic_write", "atomic_write_bytes", "csv_bytes", "neutralise", "neutralise_text",
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
    """A copy of ``frame`` whose text cells (object, string or categorical columns) are
    :func:`neutralise_text`-ed.

    Column headings are neutralised too.  Number, boolean and date columns are left as they are.
    """
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):  # categories of text (reasons ...): as text
            s = out[col] = s.astype(object)
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            text = s.astype("string")
            bad = text.str.startswith(DANGEROUS_PREFIXES).fillna(False).to_numpy(dtype=bool)
            if bad.any():
                s = s.astype(object).copy()
                s[bad] = ["'" + str(v) for v in s[bad]]
                out[col] = s
    out.columns = [neutralise_text(c) for c in out.columns]
    return out


def atomic_write(path: str | Path, write: Callable[[Path], None], *, durable: bool = True) -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temporary file that replaces ``path``.

    The temporary file lives in the same folder (so :func:`os.replace` is atomic), is fsync-ed
    before the replace and removed if ``write`` fails; the folder is fsync-ed afterwards.
    ``durable=False`` skips both fsyncs: for a copy that can be made again from a durable
    original (the published copies of a committed generation), still atomic against a killed
    process, not against a power cut.

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
        # mkstemp makes the file 0600: give it the mode a plain open() would (the existing file's,
        # else 0666 less the umask), so the group sharing data/processed can read the panel
        os.chmod(tmp, _mode_for(path))
        if durable:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(path.parent)
    return path


def _mode_for(path: Path) -> int:
    """The permission bits a file written at ``path`` gets: those of the file it replaces, else
    0666 less the process umask (what ``open(path, "w")`` would give)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


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
    return atomic_write_bytes(path, csv_bytes(df))


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as the bytes :func:`write_csv` writes: neutralised, UTF-8 with BOM, ``\\n`` line ends.

    The bytes are those of ``neutralise(frame).to_csv(index=False, lineterminator="\\n")``
    encoded as ``utf-8-sig`` (floats in ``repr`` precision, missing values empty, minimal
    quoting), built column by column: each distinct cell of a column is converted,
    neutralised, quoted and encoded once, and the rows are assembled by pyarrow.  A frame with
    a column of another dtype (dates ...), or with one column, is written by pandas.
    """
    fields = [_csv_fields(frame.iloc[:, j]) for j in range(frame.shape[1])] if frame.shape[1] > 1 else [None]
    if any(f is None for f in fields):
        text = neutralise(frame).to_csv(index=False, lineterminator="\n", float_format=None)
        return text.encode("utf-8-sig")
    header = b",".join(_quote(str(neutralise_text(c) if isinstance(c, str) else c)) for c in frame.columns)
    if not len(frame):
        return b"\xef\xbb\xbf" + header + b"\n"
    columns = []
    ended = not isinstance(fields[-1], pa.Array)  # the last column's fields carry the line's "\n"
    for j, f in enumerate(fields):
        if isinstance(f, pa.Array):
            columns.append(f)
            continue
        codes_, uniq = f  # type: ignore[misc]
        # a missing cell (code -1) is the empty field after the distinct ones
        take = np.where(codes_ < 0, len(uniq), codes_)
        cells = uniq + [b""]
        if ended and j == len(fields) - 1:
            cells = [c + b"\n" for c in cells]
        columns.append(pa.array(cells, type=pa.large_binary()).take(pa.array(take)))

    def binary(x: bytes) -> pa.Scalar:
        return pa.scalar(x, pa.large_binary())

    body = pc.binary_join_element_wise(*columns, binary(b","))
    if not ended:
        body = pc.binary_join_element_wise(body, binary(b""), binary(b"\n"))  # each line and its "\n"
    offsets = body.buffers()[1]
    first, last = (int(x) for x in np.frombuffer(offsets, dtype=np.int64)[[body.offset, body.offset + len(body)]])
    return b"".join([b"\xef\xbb\xbf", header, b"\n", memoryview(body.buffers()[2])[first:last]])  # one copy


_NEEDS_QUOTES = re.compile('[,"\r\n]')


def _quote(text: str) -> bytes:
    """One CSV field as :mod:`csv` writes it with minimal quoting, encoded as UTF-8."""
    if _NEEDS_QUOTES.search(text):
        text = '"' + text.replace('"', '""') + '"'
    return text.encode("utf-8")


def _csv_fields(s: pd.Series) -> tuple[np.ndarray, list[bytes]] | pa.Array | None:
    """``(codes, fields)``: the encoded CSV field of each distinct cell of ``s`` and each cell's
    code (-1: missing, an empty field); or the fields themselves (integers); or None for a
    dtype left to pandas."""
    dtype = s.dtype
    if dtype == np.dtype(bool):
        return s.to_numpy().astype(np.int64), [b"False", b"True"]
    if dtype.kind in "iu" and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return pa.array(s.to_numpy()).cast(pa.large_string()).cast(pa.large_binary())  # as str(int)
    if dtype.kind == "f" and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        codes_, uniq = pd.factorize(s.to_numpy(), use_na_sentinel=True)  # NaN: -1
        return codes_, [t.encode("ascii") for t in uniq.astype(str).tolist()]
    if isinstance(dtype, pd.CategoricalDtype):
        if pd.api.types.infer_dtype(dtype.categories, skipna=True) != "string":
            return None
        codes_, uniq = s.cat.codes.to_numpy(np.int64), dtype.categories.tolist()
    elif isinstance(dtype, pd.StringDtype):
        codes_, uniq = s.factorize(use_na_sentinel=True)
        uniq = uniq.tolist()
    elif dtype == np.dtype(object):
        values = s.to_numpy()
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            # mixed cells (numbers and text): as the csv module writes them, by their str()
            missing = pd.isna(values)
            values = np.array([None if m else str(v) for v, m in zip(values.tolist(), missing.tolist())] + [None],
                              dtype=object)[:-1]
        codes_, uniq = pd.factorize(values, use_na_sentinel=True)
        uniq = uniq.tolist()
    else:
        return None
    return np.asarray(codes_, dtype=np.int64), [_quote(neutralise_text(u)) for u in uniq]


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
