"""Chinese glyphs in matplotlib without system CJK fonts.

The font files come from the PyPI package ``mplfonts`` (Noto Sans CJK SC,
SIL Open Font License).  :func:`use_cjk_font` registers them with matplotlib's
font manager at run time; nothing is written into site-packages or the
user's matplotlib configuration.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

__all__ = ["CJK_FAMILY", "cjk_font_path", "use_cjk_font"]

#: Family name matplotlib reports for the bundled Noto Sans CJK SC file.
CJK_FAMILY = "Noto Sans CJK SC"
_FONT_FILES = ("NotoSansCJKsc-Regular.otf",)


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """Return the path of the bundled Noto Sans CJK SC font file.

    Raises
    ------
    FileNotFoundError
        If ``mplfonts`` is not installed or does not ship the file.
    """
    import mplfonts

    folder = Path(mplfonts.__file__).resolve().parent / "fonts"
    for name in _FONT_FILES:
        path = folder / name
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"Noto Sans CJK SC not found in {folder}; reinstall the 'mplfonts' package"
    )


@lru_cache(maxsize=1)
def use_cjk_font() -> str:
    """Register the CJK font and make it matplotlib's first sans-serif family.

    Idempotent and cheap after the first call.  Latin text keeps DejaVu Sans as
    the fallback, and the minus sign is drawn with a hyphen so it never shows
    as a missing glyph.

    Returns
    -------
    str
        The family name now first in ``rcParams["font.sans-serif"]``.
    """
    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    sans = [family] + [f for f in mpl.rcParams["font.sans-serif"] if f != family]
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = sans
    mpl.rcParams["axes.unicode_minus"] = False
    return family
