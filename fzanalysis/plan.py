"""Plans as data: which plan is monitored, for which area, with which catalogue and panel.

A plan is a folder ``data/plans/<id>/`` with a ``plan.yaml`` (name, area code and name, base and
target years, report titles, the catalogue and default panel, relative to the folder).  Two ship:
``conghua`` (the default: 从化区妇女发展规划, area 440117, the embedded demo panel) and ``china``
(中国妇女发展纲要, area 100000, the official national figures of ``data/reference``).

Nothing plan-specific is written in code: the area the plan is about (the "district" row of
every table), its name in titles, its catalogue and default data all come from here.  The active
plan is ``conghua`` unless :func:`use` (or the environment variable ``FZANALYSIS_PLAN``, which
report kernels inherit) says otherwise.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fzanalysis import config
from fzanalysis.exceptions import ConfigError
from fzanalysis.paths import data_path

__all__ = ["DEFAULT", "Plan", "active", "available", "load", "use"]

#: The plan used when none is named.
DEFAULT = "conghua"
_ENV = "FZANALYSIS_PLAN"
_REQUIRED = ("id", "name_zh", "name_en", "short_zh", "area_code", "area_name_zh", "area_name_en", "whole_zh",
             "whole_en", "base_year", "target_year", "report_title_zh", "report_title_en", "catalog", "panel")


@dataclass(frozen=True)
class Plan:
    """One plan (``data/plans/<id>/plan.yaml``).

    Attributes
    ----------
    id, name_zh, name_en : str
    short_zh : str
        What the document is called in a sentence (规划, 纲要): ``{plan_short}`` in the labels.
    area_code, area_name_zh, area_name_en : str
        The area the plan is about (the top row of every table).
    whole_zh, whole_en : str
        The whole area in a sentence (全区/district, 全国/national): ``{plan_whole}`` in the labels.
    base_year, target_year : int
    report_title_zh, report_title_en : str
    catalog_path, panel_path : Path
        The plan's catalogue and its default panel.
    synthetic : bool
        True when the default panel is synthetic demo data.
    has_towns : bool
        True when the plan's area has towns in the gazetteer (maps and town pages).
    """

    id: str
    name_zh: str
    name_en: str
    short_zh: str
    area_code: str
    area_name_zh: str
    area_name_en: str
    whole_zh: str
    whole_en: str
    base_year: int
    target_year: int
    report_title_zh: str
    report_title_en: str
    catalog_path: Path
    panel_path: Path
    synthetic: bool
    has_towns: bool

    def title(self, lang: str = "zh") -> str:
        """The report title in ``lang``."""
        return self.report_title_zh if lang == "zh" else self.report_title_en

    def area_name(self, lang: str = "zh") -> str:
        """The name of the plan's area in ``lang``."""
        return self.area_name_zh if lang == "zh" else self.area_name_en

    def catalog(self) -> pd.DataFrame:
        """The plan's catalogue, loaded and checked (:func:`fzanalysis.catalog.load`)."""
        from fzanalysis import catalog  # catalog -> codes -> plan: imported here to avoid a cycle

        return catalog.load(self.catalog_path)

    def _reads_reference(self) -> bool:
        return self.panel_path.resolve() == (data_path("reference") / "panel.csv").resolve()

    def panel_files(self) -> list[Path]:
        """The files the plan's default panel is read from (what a report's provenance hashes).

        The official reference panel is read with its citations and names
        (``data/reference/panel.csv``, ``sources.csv``, ``catalog.csv``); any other panel is its file.
        """
        if self._reads_reference():
            return [data_path("reference") / name for name in ("panel.csv", "sources.csv", "catalog.csv")]
        return [self.panel_path]

    def panel(self) -> pd.DataFrame:
        """The plan's default panel as a raw frame, restricted to the indicators it has targets for.

        Reference figures without a target in the plan (context only) are left out, so the panel
        passes :func:`fzanalysis.panel.as_panel` against the plan's catalogue.
        """
        from fzanalysis import reference  # reference reads the panel module: avoid a cycle

        if self._reads_reference():
            frame = reference.load(plan_ids=True)
        else:
            frame = pd.read_csv(self.panel_path, dtype={"area": str, "sex": str, "indicator": str},
                                encoding="utf-8-sig", keep_default_na=False, na_values=[""])
        ids = set(self.catalog()["id"])
        return frame[frame["indicator"].isin(ids)].reset_index(drop=True)


def available() -> list[str]:
    """Ids of the plans under ``data/plans``."""
    return sorted(p.parent.name for p in data_path("plans").glob("*/plan.yaml"))


def load(plan_id: str | None = None) -> Plan:
    """Read ``data/plans/<plan_id>/plan.yaml`` (default: the active plan).

    Raises
    ------
    ConfigError
        Naming the plans available when ``plan_id`` is unknown, or the missing keys.

    Examples
    --------
    >>> load("china").area_code, load("conghua").area_name_zh
    ('100000', '从化区')
    """
    pid = plan_id or os.environ.get(_ENV) or DEFAULT
    path = data_path("plans", pid, "plan.yaml")
    if not path.is_file():
        raise ConfigError(f"unknown plan {pid!r}; expected one of {available()} (folders of data/plans)")
    towns = data_path("towns.csv")
    st = towns.stat()
    # the cached Plan depends on plan.yaml and on towns.csv (has_towns)
    return config.cached(f"plan:{st.st_mtime_ns}:{st.st_size}", path, lambda f: _build(pid, f))


def _build(pid: str, path: Path) -> Plan:
    raw = config.read_yaml("plans", pid, "plan.yaml") or {}
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise ConfigError(f"{path}: missing key(s) {missing}")
    folder = path.parent
    towns = config.read_csv("towns.csv")
    return Plan(
        id=str(raw["id"]), name_zh=str(raw["name_zh"]), name_en=str(raw["name_en"]), short_zh=str(raw["short_zh"]),
        area_code=str(raw["area_code"]), area_name_zh=str(raw["area_name_zh"]),
        area_name_en=str(raw["area_name_en"]), whole_zh=str(raw["whole_zh"]), whole_en=str(raw["whole_en"]),
        base_year=int(raw["base_year"]),
        target_year=int(raw["target_year"]), report_title_zh=str(raw["report_title_zh"]),
        report_title_en=str(raw["report_title_en"]), catalog_path=(folder / raw["catalog"]).resolve(),
        panel_path=(folder / raw["panel"]).resolve(), synthetic=bool(raw.get("synthetic", False)),
        has_towns=bool((towns["parent"] == str(raw["area_code"])).any()),
    )


def active() -> Plan:
    """The plan in use: ``FZANALYSIS_PLAN`` if set, else ``conghua``."""
    return load(None)


@contextmanager
def use(plan_id: str) -> Iterator[Plan]:
    """Make ``plan_id`` the active plan inside a ``with`` block (and in kernels started there).

    Examples
    --------
    >>> from fzanalysis import codes
    >>> with use("china"):
    ...     codes.district()
    '100000'
    >>> codes.district()
    '440117'
    """
    plan = load(plan_id)
    old = os.environ.get(_ENV)
    os.environ[_ENV] = plan.id
    try:
        yield plan
    finally:
        if old is None:
            os.environ.pop(_ENV, None)
        else:
            os.environ[_ENV] = old
