"""Every error the workbench raises on purpose, under one base class.

Catch :class:`FzError` to handle any of them.  Each subclass also derives from the built-in
exception a caller would expect (``ValueError`` for bad input, ``KeyError`` for an unknown
code, ``RuntimeError`` for a failed run), so code written against the built-ins keeps working.
Messages name the file, row and column and say what was expected.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

__all__ = [
    "CatalogError",
    "ConfigError",
    "FzError",
    "FzWarning",
    "GazetteerError",
    "InputError",
    "PanelError",
    "PlotError",
    "ReportBusy",
    "ReportError",
    "SubmissionError",
    "warn",
]


class FzError(Exception):
    """Base class of every error raised on purpose by fzanalysis."""


class FzWarning(UserWarning):
    """A figure that is probably a mistake but may be right (a percent that looks typed as a
    fraction): said, never refused, since a library cannot ask whoever typed it."""


def warn(message: str, category: type[Warning] = FzWarning) -> None:
    """Issue a warning attributed to the caller's own code: the first frame outside the
    fzanalysis package (a fixed ``stacklevel`` pointed into the library, at a depth that depends
    on which entry point was called, so a researcher could not filter it by their module).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("0.96 looks like a fraction")
    >>> caught[0].category.__name__, caught[0].filename.endswith("exceptions.py")
    ('FzWarning', False)
    """
    package = str(Path(__file__).resolve().parent)
    level, frame = 2, sys._getframe(1)  # stacklevel 1 is this function, 2 its caller
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(package):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


class ConfigError(FzError, ValueError):
    """A reference file under ``data/`` (settings, units, labels, …) is missing or malformed."""


class CatalogError(FzError, ValueError):
    """An indicator catalogue failed its checks; the message lists every problem."""


class GazetteerError(FzError, ValueError):
    """The gazetteer is malformed, or a town name or code is not found."""


class PanelError(FzError, ValueError):
    """A panel failed its checks; ``problems`` lists every failing row and column.

    Parameters
    ----------
    source : str
        The file (or ``"<DataFrame>"``) the panel came from.
    problems : list of str
        One message per failing cell or row.
    """

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        shown = "\n  ".join(self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{source}: the panel does not match its schema "
                         f"({len(self.problems)} problem(s)):\n  {shown}{more}")


class InputError(FzError, ValueError):
    """A table handed to a function lacks what it needs (a column): the message names the
    function, the missing columns and where such a table comes from."""


class PlotError(FzError, ValueError):
    """A chart or map cannot be drawn from what it was given (a missing column, an unknown
    indicator, an empty selection); the message says what was expected."""


class SubmissionError(FzError, ValueError):
    """A department's submission cannot be read or ingested."""


class ReportError(FzError, RuntimeError):
    """A report run failed (bad parameters, a notebook error, an unwritable output folder)."""


class ReportBusy(ReportError):
    """Another run still holds the lock of a folder this run writes (a report folder, the cache)
    after the time it was given to wait; the message names the folder and the other run's pid."""
