"""Official reference figures (``data/reference/``): load them as a panel with their citations.

The files (described in ``data/reference/README.md``):

* ``panel.csv``   -- tidy figures ``indicator, year, area, sex, value, unit, source_id, locator,
  locator_en, note`` (``locator``: where in the text the figure stands, as the Chinese reports
  write it; ``locator_en``: the same place in English, for the English reports);
* ``sources.csv`` -- one row per publication ``source_id, publisher, title, publisher_en,
  title_en, date, read_at, note`` (``*_en``: the publisher and title in English, for the English
  reports; ``read_at``: the copy actually read -- often a reprint or a news digest of the official release;
  the citation is the official release, publisher, title and date);
* ``catalog.csv`` -- ``id, name_zh, name_en, unit, domain, conghua_id``;
* ``revisions.csv`` -- figures superseded by a later release (not loaded here).

:func:`load` returns the panel in the workbench's panel format (:data:`fzanalysis.codes.PANEL_COLUMNS`,
validated by :func:`fzanalysis.panel.as_panel`) plus ``name_zh``, ``unit``, ``source_id``,
``locator``, ``source_en`` and ``read_at``; ``source`` holds the official citation with the
Chinese locator, ``source_en`` the same citation in English (English publisher, title and
locator), ``read_at`` the address of the copy the figure was read in (provenance, never printed
as a citation), ``synthetic`` is False.

Indicator ids: a statistic that is the same as one of the Conghua catalogue keeps the Conghua id
(``health.maternal_mortality``); the others are ``ref.<name>``.  A plan catalogue needs
``<domain>.<name>`` ids, so :func:`plan_id` maps ``ref.<name>`` to ``<domain>.<name>`` (the rule the
national plan in ``data/plans/china/indicators.yaml`` follows for such statistics).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from fzanalysis.panel import as_panel
from fzanalysis.paths import data_path

__all__ = ["catalog", "citation", "load", "plan_id", "read_at", "reference_dir", "sources"]


def reference_dir() -> Path:
    """Folder of the reference files (``data/reference``, honours ``FZANALYSIS_DATA``)."""
    return data_path("reference")


def _csv(name: str, folder: str | Path | None) -> pd.DataFrame:
    base = Path(folder) if folder is not None else reference_dir()
    return pd.read_csv(base / name, dtype=str, keep_default_na=False, encoding="utf-8")


def sources(folder: str | Path | None = None) -> pd.DataFrame:
    """``sources.csv`` as strings, indexed by nothing (one row per publication)."""
    return _csv("sources.csv", folder)


def catalog(folder: str | Path | None = None) -> pd.DataFrame:
    """``catalog.csv`` as strings (``conghua_id`` empty when there is no Conghua equivalent)."""
    return _csv("catalog.csv", folder)


#: A panel row's note names the copy its figure was read in when that is not the source's
#: ``read_at``: ``read in 新华社 digest: http://…`` (data/reference/README.md, column ``note``).
_READ_IN = re.compile(r"read in [^:;]*:\s*(https?://[^\s;,]+)")


def read_at(src: pd.Series | dict, note: str = "") -> str:
    """The address a figure was read at: the first ``read in …: <url>`` of its row's ``note``,
    else the source's ``read_at``."""
    m = _READ_IN.search(note or "")
    return m.group(1) if m else str(src["read_at"])


def citation(src: pd.Series | dict, locator: str = "", note: str = "", *, lang: str = "zh") -> str:
    """The official publication a figure comes from: ``国家统计局《2024年〈…〉统计监测报告》（2025-12-30），
    一、妇女与健康（一）``.

    ``lang="en"``: the source's ``publisher_en`` and ``title_en`` (``National Bureau of Statistics
    of China, Statistical Monitoring Report on … (2021–2030), 2024 (2025-12-30), part I (1)``), for
    the English reports.  The copy the figure was read in (a reprint or a news digest: :func:`read_at`)
    is provenance, not a citation: :func:`load` gives it in its own column ``read_at``, and the
    reports cite the publisher, title and date of the official release.  ``note`` is accepted for
    symmetry with :func:`read_at` and not used."""
    if lang == "en":
        loc = f", {locator}" if locator else ""
        return f"{src['publisher_en']}, {src['title_en']} ({src['date']}){loc}"
    title = str(src["title"])
    if not title.startswith("《"):
        title = "《" + title.replace("《", "〈").replace("》", "〉") + "》"
    loc = f"，{locator}" if locator else ""
    return f"{src['publisher']}{title}（{src['date']}）{loc}"


def plan_id(indicator: str, domain: str) -> str:
    """The id a plan catalogue uses for a reference statistic: ``ref.x`` -> ``<domain>.x``."""
    return f"{domain}.{indicator[4:]}" if indicator.startswith("ref.") else indicator


def load(folder: str | Path | None = None, *, plan_ids: bool = False) -> pd.DataFrame:
    """Load ``panel.csv`` with names and citations.

    Parameters
    ----------
    folder : str or Path, optional
        Another copy of the reference folder (default :func:`reference_dir`).
    plan_ids : bool, keyword-only
        Rename ``ref.<name>`` ids to ``<domain>.<name>`` (see :func:`plan_id`) so that the frame joins
        a plan catalogue.  Conghua ids are unchanged either way.

    Returns
    -------
    DataFrame
        :data:`fzanalysis.codes.PANEL_COLUMNS` (``source`` = the official citation, ``synthetic``
        False, ``numerator``/``denominator`` NaN) then ``name_zh``, ``unit``, ``source_id``,
        ``locator``, ``source_en`` (the citation with ``locator_en``, for English reports) and
        ``read_at`` (the address of the copy the figure was read in: provenance).

    Raises
    ------
    KeyError
        A panel row names a source or indicator missing from ``sources.csv`` / ``catalog.csv``.
    fzanalysis.exceptions.PanelError
        The panel fails the workbench's panel schema.

    See Also
    --------
    sources : the publications cited.
    citation : how ``source`` is written.
    fzanalysis.assess : judges these figures against a plan catalogue (``plan_ids=True``).

    Examples
    --------
    >>> from fzanalysis import reference
    >>> ref = reference.load()
    >>> bool(ref["synthetic"].any()), bool(ref["source"].str.startswith("国家统计局").any())
    (False, True)
    >>> mmr = ref[ref["indicator"] == "health.maternal_mortality"]
    >>> print(mmr[["year", "area", "value", "unit"]].tail(1).to_string(index=False))
     year   area  value                 unit
     2024 100000   14.3 per_100k_live_births
    >>> reference.plan_id("ref.gdp_per_capita", "economy")
    'economy.gdp_per_capita'
    """
    panel = _csv("panel.csv", folder)
    src = sources(folder).set_index("source_id")
    cat = catalog(folder).set_index("id")
    missing_src = sorted(set(panel["source_id"]) - set(src.index))
    missing_ind = sorted(set(panel["indicator"]) - set(cat.index))
    if missing_src or missing_ind:
        raise KeyError(f"reference panel: unknown source_id {missing_src} / indicator {missing_ind}")
    out = pd.DataFrame({
        "indicator": panel["indicator"],
        "year": panel["year"].astype(int),
        "area": panel["area"],
        "sex": panel["sex"],
        "value": pd.to_numeric(panel["value"]),
        "source": [citation(src.loc[s], loc, note) for s, loc, note in
                   zip(panel["source_id"], panel["locator"], panel["note"], strict=True)],
        "note": panel["note"].where(panel["note"] != "", None),
        "synthetic": False,
        "name_zh": panel["indicator"].map(cat["name_zh"]),
        "unit": panel["unit"],
        "source_id": panel["source_id"],
        "locator": panel["locator"],
        "source_en": [citation(src.loc[s], loc, note, lang="en") for s, loc, note in
                      zip(panel["source_id"], panel["locator_en"], panel["note"], strict=True)],
        "read_at": [read_at(src.loc[s], note) for s, note in zip(panel["source_id"], panel["note"], strict=True)],
    })
    if plan_ids:
        out["indicator"] = [plan_id(i, cat.at[i, "domain"]) for i in out["indicator"]]
    return as_panel(out, source=str(Path(folder or reference_dir()) / "panel.csv")).frame
