"""The tidy panel: one row per indicator x year x area x sex.

:func:`as_panel` checks a panel once into a :class:`Panel`; every entry point calls it.
"""
from __future__ import annotations

from fzanalysis.panel.schema import READABLE_FORMATS, YEAR_RANGE, Panel, as_panel, read_panel

__all__ = ["READABLE_FORMATS", "YEAR_RANGE", "Panel", "as_panel", "read_panel"]
