"""The annual report: parameterised notebooks executed per year by papermill.

One command, ``fzanalysis report --year 2024``, reads ``params/2024_annual.yaml``,
executes the notebooks it lists (the domain notebook once per domain) with
`papermill <https://papermill.readthedocs.io>`_ in up to ``--jobs`` parallel
processes, converts each executed notebook to HTML without code cells
(nbconvert's ``HTMLExporter(exclude_input=True)``), and writes an
``index.html`` linking them with the headline table (status by indicator),
``status.csv``, ``status.xlsx`` and ``provenance.json``.

Failure rules
-------------
* A parameter the notebook does not declare in its ``parameters`` cell is an
  error (:class:`ReportParameterError`) raised *before* anything runs, not
  papermill's warning.
* A notebook that raises is saved with its error (executed ``.ipynb`` and
  HTML showing the traceback), marked *failed* in the index; the other
  notebooks still run and the exit code is 1.
* Every run writes into ``reports/.tmp-<folder>-<pid>/``.  Only a complete,
  successful run replaces ``reports/<folder>/``: the previous report is first
  renamed to ``reports/.old-<folder>-<pid>/``, the new one renamed into
  place, and only then is the old one deleted (if the second rename fails the
  old one is renamed back; a later run restores an ``.old-`` folder left by a
  crash between the two renames).  A failed or interrupted run never touches
  ``reports/<folder>/``; its partial output is kept for diagnosis in
  ``reports/.failed-<folder>-<UTC timestamp>/`` (the 5 newest per folder
  are kept, older ones deleted).

``<folder>`` is the year for the Chinese annual report (``reports/2024/``);
other kinds and languages get a suffix (``2025-midterm``, ``2024-en``,
``2030-final-en``) so that they never overwrite each other.

Report year and data year
-------------------------
``--year`` defaults to the latest year in the data.  A report year without
data yet (e.g. the 2025 mid-term report before the 2025 figures arrive)
assesses the latest earlier year with data (:func:`assessment_year`) and
says so in a red note on the index and in every notebook.

Provenance (parameters, package version, git commit, sha256 of the data
files, time) is written to ``provenance.json``, stored in each executed
notebook's metadata (``metadata.fzanalysis.provenance``) and shown in a banner
at the top of every HTML page; output made from synthetic demo data says
演示数据 / demo data in that banner.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import html as _html
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from fzanalysis.labels import label
from fzanalysis.labels import domain_label, format_target, format_value, unit_label
from fzanalysis.panel.cli import DATA_HELP, data_option, load_for_cli
from fzanalysis.paths import REPO_DIR, reports_dir

#: Report kinds and the folder suffix each gets.
KINDS: tuple[str, ...] = ("annual", "midterm", "final")
#: Plan years for which a params file exists.
PLAN_YEARS: tuple[int, ...] = tuple(range(2021, 2031))
#: Parameters the runner passes to every notebook (each notebook declares them).
COMMON_PARAMETERS: tuple[str, ...] = ("year", "lang", "data_path")
#: Failed runs kept per report folder (older ``.failed-…`` folders are deleted).
KEEP_FAILED = 5
#: District code (the headline table is about the district as a whole).
DISTRICT = "440117"
#: Cells with this tag are left out of the HTML (they are for JupyterLab readers).
HIDE_TAG = "report-hide"

NOTEBOOKS_DIR = REPO_DIR / "notebooks"
PARAMS_DIR = REPO_DIR / "params"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

_ENTRY_KEYS = {"notebook", "parameters", "foreach"}
_TOP_KEYS = {"year", "kind", "notebooks", "description"}


class ReportError(RuntimeError):
    """A report could not be set up (bad params file, missing notebook …)."""


class ReportParameterError(ReportError, ValueError):
    """A parameter is not declared in the notebook's ``parameters`` cell."""


# --------------------------------------------------------------------------- data


def load_data(data_path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load the panel a report is made from.

    Parameters
    ----------
    data_path
        A panel file accepted by :func:`fzanalysis.panel.load_for_cli`; ``None``
        or ``""`` loads the embedded synthetic demo panel
        (:func:`fzanalysis.demo.load`, every row ``synthetic=True``).

    Returns
    -------
    pandas.DataFrame
        The tidy panel (columns per ``docs/design.md``).
    """
    return load_for_cli(data_path).frame


def is_synthetic(panel: pd.DataFrame) -> bool:
    """True when any row of ``panel`` is synthetic demo data."""
    if "synthetic" not in panel.columns:
        return False
    return bool(panel["synthetic"].fillna(False).astype(bool).any())


def data_files(data_path: str | os.PathLike[str] | None) -> list[Path]:
    """The files a report's numbers come from (hashed into the provenance).

    ``None`` means the embedded demo panel (:func:`fzanalysis.demo.demo_path`).
    A directory means every file below it.
    """
    if data_path is None or str(data_path) == "":
        from fzanalysis import demo

        return [Path(demo.demo_path())]
    else:
        root = Path(data_path)
    if root.is_dir():
        return sorted(p for p in root.rglob("*") if p.is_file())
    if root.is_file():
        return [root]
    raise FileNotFoundError(f"data file {root} does not exist")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_commit(repo: Path = REPO_DIR) -> str:
    """``git rev-parse HEAD`` of ``repo`` (``+dirty`` if tracked files changed), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True, timeout=20,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True, timeout=20,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


# ------------------------------------------------------ helpers for notebooks


def text(code: str, lang: str = "zh", **values: Any) -> Any:
    """Markdown of the notebook sentence ``nb_text.<code>`` in ``lang``, filled with ``values``.

    The report notebooks write every heading and sentence through this, so
    the same notebook reads in Chinese or English (labels in
    ``data/labels/report.yaml``).
    """
    from IPython.display import Markdown

    return Markdown(label("nb_text", code, lang).format(**values))  # type: ignore[arg-type]


def demo_notice(panel: pd.DataFrame, lang: str = "zh") -> Any:
    """A red 演示数据 / demo data banner when ``panel`` is synthetic, else an empty string.

    Notebooks display it at the top, so every output made from demo data
    says so prominently.
    """
    from IPython.display import HTML

    if not is_synthetic(panel):
        return HTML("")
    return HTML(
        '<div style="background:#b71c1c;color:#fff;padding:10px 16px;font-size:18px;'
        f'font-weight:bold;border-radius:4px">⚠ {_html.escape(label("report", "demo_banner", lang))}</div>'
    )


def coverage_table(
    panel: pd.DataFrame, catalog: pd.DataFrame, *, year: int, lang: str = "zh"
) -> pd.DataFrame:
    """What arrived: one row per catalogue indicator, with the panel's coverage.

    Columns: ``domain_label, indicator, name, department, first_year, last_year,
    n_years`` (distinct years with a non-missing district value),
    ``reported`` (a non-missing district value for ``year``), ``n_towns``
    (towns with a value for ``year``), ``sexes`` (sex codes with a value for
    ``year``).  Indicators in the panel but not in the catalogue are listed
    too, with an empty name, so nothing is dropped silently.
    """
    need = {"indicator", "year", "value"}
    missing = need - set(panel.columns)
    if missing:
        raise ValueError(f"panel lacks column(s) {sorted(missing)}")
    p = panel.copy()
    p["area"] = p["area"].astype(str) if "area" in p.columns else DISTRICT
    p["sex"] = p["sex"].astype(str) if "sex" in p.columns else "T"
    p = p[p["value"].notna()]
    dist = p[p["area"] == DISTRICT]
    now = p[p["year"] == year]
    name_col = "name_zh" if lang == "zh" else "name_en"
    ids = list(catalog["id"]) + sorted(set(p["indicator"]) - set(catalog["id"]))
    cat = catalog.set_index("id")
    rows = []
    for ind in ids:
        d = dist[dist["indicator"] == ind]
        n = now[now["indicator"] == ind]
        known = ind in cat.index
        rows.append({
            "domain_label": domain_label(str(cat.at[ind, "domain"]), lang) if known else "",
            "indicator": ind,
            "name": cat.at[ind, name_col] if known else "",
            "department": cat.at[ind, "department"] if known and "department" in cat.columns else "",
            "first_year": int(d["year"].min()) if len(d) else pd.NA,
            "last_year": int(d["year"].max()) if len(d) else pd.NA,
            "n_years": int(d["year"].nunique()),
            "reported": bool(((n["area"] == DISTRICT)).any()),
            "n_towns": int(n.loc[n["area"] != DISTRICT, "area"].nunique()),
            "sexes": ";".join(sorted(n["sex"].unique())),
        })
    out = pd.DataFrame(rows)
    for col in ("first_year", "last_year"):
        out[col] = out[col].astype("Int64")
    return out


def text_block(markdown: str) -> Any:
    """Markdown display object of a ready string (e.g. :func:`fzanalysis.narrative.as_markdown`)."""
    from IPython.display import Markdown

    return Markdown(markdown)


def show_figure(obj: Any) -> None:
    """Display a matplotlib Figure (or the Figure of an Axes) now, then close it.

    Used in loops so each chart appears under its own heading instead of all
    at the end of the cell.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    fig = getattr(obj, "figure", None) if not hasattr(obj, "savefig") else obj
    if fig is None:
        raise TypeError(f"show_figure expects a matplotlib Figure or Axes, got {type(obj).__name__}")
    display(fig)
    plt.close(fig)


def kind_label(kind: str, lang: str = "zh") -> str:
    """年度监测报告 / 中期评估报告 / 终期评估报告 (and English)."""
    return label("report", f"kind_{kind}", lang)  # type: ignore[arg-type]


def area_name(code: Any, lang: str = "zh") -> str:
    """Town or district name of a gazetteer code (``data/towns.csv``)."""
    from fzanalysis import gazetteer

    return gazetteer.name(str(code), lang)  # type: ignore[arg-type]


def status_counts(headline: pd.DataFrame, lang: str = "zh") -> str:
    """``已达标 12项，未达标 5项 …`` from the ``status`` column of a headline table."""
    counts = headline["status"].value_counts()
    if lang == "zh":
        return "，".join(f"{_label_or(('status',), k, lang)}{int(n)}项" for k, n in counts.items())
    return ", ".join(f"{int(n)} {_label_or(('status',), k, lang)}" for k, n in counts.items())


def town_table(assessed: pd.DataFrame, *, lang: str = "zh") -> pd.DataFrame:
    """Town rows of an assessment for display: town, indicator, value, target, gap, status, interval flag."""
    name_col = "name_zh" if lang == "zh" else "name_en"
    out = pd.DataFrame({
        "area_name": [area_name(a, lang) for a in assessed["area"]],
        "name": assessed[name_col],
        "sex": [_sex_word(x, lang) for x in assessed["sex"]],
        "value": assessed["value"],
        "unit": [unit_label(u, lang) for u in assessed["unit"]],
        "target": [_target_words(c, t, u, lang) for c, t, u in
                   zip(assessed["comparator"], assessed["target"], assessed["unit"])],
        "gap": assessed["gap"],
        "status_label": [_label_or(("status",), s, lang) for s in assessed["status"]],
    })
    if "too_wide" in assessed.columns:
        out["too_wide"] = assessed["too_wide"].to_numpy()
    return out.sort_values(["name", "area_name"], kind="stable").reset_index(drop=True)


def projection_table(projected: pd.DataFrame, catalog: pd.DataFrame, *, lang: str = "zh") -> pd.DataFrame:
    """Projection rows for display: indicator name, last value, 2030 projection and interval, p_meet, warnings."""
    names = catalog.set_index("id")["name_zh" if lang == "zh" else "name_en"]
    out = pd.DataFrame({
        "name": [names.get(i, i) for i in projected["indicator"]],
        "sex": [_sex_word(x, lang) for x in projected["sex"]],
        "last_year": projected["last_year"],
        "value": projected["last_value"],
        "projected_2030": projected["projected"],
        "projected_lower": projected["lower"],
        "projected_upper": projected["upper"],
        "p_meet": projected["p_meet"],
        "warnings_label": [_warnings_label(w, lang) for w in projected["warnings"]],
    })
    return out.reset_index(drop=True)


def evaluation_table(assessed: pd.DataFrame, *, lang: str = "zh") -> pd.DataFrame:
    """Evaluation view of an assessment: baseline, current value, target, status, category, verdict.

    Rows in the plan's order (:func:`plan_order`).
    """
    assessed = assessed.loc[plan_order(assessed)]
    name_col = "name_zh" if lang == "zh" else "name_en"
    verdict_col = "verdict_zh" if lang == "zh" else "verdict_en"
    out = pd.DataFrame({
        "domain_label": [domain_label(d, lang) for d in assessed["domain"]],
        "name": assessed[name_col],
        "sex": [_sex_word(x, lang) for x in assessed["sex"]],
        "baseline_value": assessed["baseline_value"],
        "value": assessed["value"],
        "unit": [unit_label(u, lang) for u in assessed["unit"]],
        "target": [_target_words(c, t, u, lang) for c, t, u in
                   zip(assessed["comparator"], assessed["target"], assessed["unit"])],
        "status_label": [_label_or(("status",), s, lang) for s in assessed["status"]],
        "category_label": [_label_or(("category",), c, lang) for c in assessed["category"]],
        "verdict": assessed[verdict_col],
    })
    return out.reset_index(drop=True)


def attainment_table(attainment: pd.DataFrame, *, lang: str = "zh") -> pd.DataFrame:
    """Output of :func:`fzanalysis.assess.attainment` with domain names and rates in percent."""
    out = attainment.copy()
    out.insert(0, "domain_label", [
        ("全部领域" if lang == "zh" else "All domains") if d == "all" else domain_label(str(d), lang)
        for d in out["domain"]
    ])
    for col in ("attainment_rate", "attainment_rate_all"):
        if col in out.columns:
            out[col] = [("—" if _isna(v) else f"{100 * float(v):.0f}%") for v in out[col]]
    return out.drop(columns=[c for c in ("domain", "domain_zh", "domain_en") if c in out.columns])


def fan_chart_for(
    paths: pd.DataFrame,
    catalog: pd.DataFrame,
    *,
    indicator: str,
    area: str = DISTRICT,
    sex: str = "T",
    lang: str = "zh",
    level: float = 0.8,
) -> Any:
    """Fan chart of one series (:func:`fzanalysis.plots.fan_chart`) with its catalogue target and baseline.

    ``paths`` is :func:`fzanalysis.trend.project_paths` output; the target,
    unit, name and (where the plan gives one) baseline come from ``catalog``.
    """
    from fzanalysis import plots

    one = paths[(paths["indicator"] == indicator) & (paths["area"].astype(str) == str(area))
                & (paths["sex"] == sex)]
    if one.empty:
        raise ValueError(f"no projection path for {indicator} area {area} sex {sex}")
    row = catalog.set_index("id").loc[indicator]
    baseline = None
    if not _isna(row.get("baseline_value")) and not _isna(row.get("baseline_year")):
        baseline = (int(row["baseline_year"]), float(row["baseline_value"]))
    target = None if _isna(row.get("target")) else float(row["target"])
    name = str(row["name_zh" if lang == "zh" else "name_en"])
    return plots.fan_chart(None, one, target=target, baseline=baseline, lang=lang, level=level,  # type: ignore[arg-type]
                           unit=str(row["unit"]), title=name)


def _sex_word(sex: Any, lang: str) -> str:
    """女/男 for F/M, empty for T (total / not applicable)."""
    if _isna(sex) or str(sex) == "T":
        return ""
    return label("sex", str(sex), lang)  # type: ignore[arg-type]


def _target_words(comparator: Any, target: Any, unit: Any, lang: str) -> str:
    if _isna(comparator):
        return ""
    return format_target(str(comparator), target, str(unit), lang=lang)


def assessment_year(panel: pd.DataFrame, year: int) -> int:
    """The year a report assesses: ``year`` if the panel has values for it, else the latest earlier year.

    A report for 2025 run before the 2025 figures have arrived assesses the
    latest year with data (and says so); a year after every data year is not
    an error, a year before all of them is.
    """
    years = pd.to_numeric(panel.loc[panel["value"].notna(), "year"])
    earlier = years[years <= int(year)]
    if earlier.empty:
        raise ReportError(f"the data have no values in or before {year} (years {years.min()}-{years.max()})")
    return int(earlier.max())


def year_note(panel: pd.DataFrame, year: int, lang: str = "zh") -> Any:
    """An alert when ``year`` has no data and the report assesses an earlier year (else empty)."""
    from IPython.display import HTML

    data_year = assessment_year(panel, year)
    if data_year == int(year):
        return HTML("")
    years = pd.to_numeric(panel["year"])
    text = label("report", "no_data_for_year", lang).format(  # type: ignore[arg-type]
        year=year, first=int(years.min()), last=data_year)
    return HTML('<div style="background:#ffebee;border:2px solid #b71c1c;padding:8px 12px;margin:6px 0">'
                f"{_html.escape(text)}</div>")


def series_name(indicator: str, sex: str, catalog: pd.DataFrame, *, lang: str = "zh") -> str:
    """Indicator name from the catalogue, with the sex in brackets for F/M series."""
    names = catalog.set_index("id")["name_zh" if lang == "zh" else "name_en"]
    name = str(names.get(indicator, indicator))
    if sex in ("F", "M"):
        word = label("sex", sex, lang)  # type: ignore[arg-type]
        name += f"（{word}）" if lang == "zh" else f" ({word.lower()})"
    return name


def gender_gap_table(gaps: pd.DataFrame, catalog: pd.DataFrame, *, lang: str = "zh") -> pd.DataFrame:
    """Output of :func:`fzanalysis.assess.gender_gap` for display: name, both values, difference, ratio."""
    names = catalog.set_index("id")["name_zh" if lang == "zh" else "name_en"]
    return pd.DataFrame({
        "name": [str(names.get(i, i)) for i in gaps["indicator"]],
        "unit": [unit_label(u, lang) for u in gaps["unit"]],
        "value_f": gaps["value_f"].round(2),
        "value_m": gaps["value_m"].round(2),
        "difference": gaps["difference"].round(2),
        "difference_lower": gaps["difference_lower"].round(2),
        "difference_upper": gaps["difference_upper"].round(2),
        "ratio": gaps["ratio"].round(3),
    }).reset_index(drop=True)


def table(frame: pd.DataFrame, lang: str = "zh", *, precision: int = 2) -> Any:
    """A table for the report: localised column headings, no index, floats to ``precision`` digits.

    Text columns are left-aligned, numbers right-aligned.  Returns a pandas
    ``Styler`` (rendered as HTML in the notebook and the report).
    """
    shown = localize_columns(frame, lang).reset_index(drop=True)
    yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
    for col in shown.columns:  # booleans as words, not True/False
        if pd.api.types.is_bool_dtype(shown[col]):
            shown[col] = [("" if _isna(v) else yes if v else no) for v in shown[col]]
    text_cols = [c for c in shown.columns if not pd.api.types.is_numeric_dtype(shown[c])]
    # no thousands separator: years must read 2024, not 2,024
    styler = shown.style.hide(axis="index").format(precision=precision, na_rep="—")
    if text_cols:
        styler = styler.set_properties(subset=text_cols, **{"text-align": "left"})
    return styler.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])


def drafts_markdown(drafts: pd.DataFrame, *, lang: str = "zh", by_domain: bool = True) -> Any:
    """Narrative drafts (:func:`fzanalysis.narrative.draft`) as Markdown in the plan's order.

    With ``by_domain`` each domain gets a ``###`` heading with its name.
    """
    from IPython.display import Markdown

    if drafts.empty:
        return Markdown("")
    ordered = drafts.loc[plan_order(drafts)]
    parts: list[str] = []
    for domain, rows in ordered.groupby("domain", sort=False):
        if by_domain:
            parts.append(f"### {domain_label(str(domain), lang)}")
        parts.extend(f"- {t}" for t in rows["text"])
    return Markdown("\n".join(parts))


def localize_columns(table: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Rename columns to their ``report_column`` labels for display (unknown names kept)."""
    names = labels_kind("report_column")
    return table.rename(columns={c: names[c][lang] for c in table.columns if c in names})


def labels_kind(kind: str) -> dict[str, dict[str, str]]:
    """All labels of one kind (``{code: {"zh": …, "en": …}}``)."""
    from fzanalysis.config import label_table as labels

    return labels().get(kind, {})


# ------------------------------------------------------------------------ params


@dataclass(frozen=True)
class Job:
    """One notebook execution: source notebook, output stem and parameters."""

    source: Path
    stem: str
    parameters: dict[str, Any]


def params_file(year: int, kind: str = "annual", *, params_dir: Path | None = None) -> Path:
    """Path of ``params/<year>_<kind>.yaml``."""
    return Path(params_dir or PARAMS_DIR) / f"{int(year)}_{kind}.yaml"


def read_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a params YAML.

    The file holds ``year`` (int), ``kind`` (annual|midterm|final), an optional
    ``description`` and ``notebooks``: a list of entries, each with
    ``notebook`` (file name under ``notebooks/`` or an absolute path),
    optional ``parameters`` (mapping) and optional ``foreach`` (mapping of one
    parameter name to a list of values: the notebook runs once per value).

    Raises
    ------
    ReportError
        Naming the file, the entry and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"params file {path} does not exist")
    try:
        content = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise ReportError(f"{path}: not valid YAML: {exc}") from exc
    return validate_params(content, source=str(path))


def validate_params(content: Any, *, source: str = "<params>") -> dict[str, Any]:
    """Validate a params mapping (see :func:`read_params`); return it unchanged."""
    if not isinstance(content, Mapping):
        raise ReportError(f"{source}: expected a mapping with keys year, kind, notebooks")
    unknown = set(content) - _TOP_KEYS
    if unknown:
        raise ReportError(f"{source}: unknown key(s) {sorted(unknown)}; allowed {sorted(_TOP_KEYS)}")
    if not isinstance(content.get("year"), int):
        raise ReportError(f"{source}: 'year' must be an integer, got {content.get('year')!r}")
    if content.get("kind") not in KINDS:
        raise ReportError(f"{source}: 'kind' must be one of {KINDS}, got {content.get('kind')!r}")
    entries = content.get("notebooks")
    if not isinstance(entries, list) or not entries:
        raise ReportError(f"{source}: 'notebooks' must be a non-empty list")
    for i, entry in enumerate(entries, start=1):
        where = f"{source}: notebooks entry {i}"
        if not isinstance(entry, Mapping) or "notebook" not in entry:
            raise ReportError(f"{where}: expected a mapping with a 'notebook' key, got {entry!r}")
        bad = set(entry) - _ENTRY_KEYS
        if bad:
            raise ReportError(f"{where}: unknown key(s) {sorted(bad)}; allowed {sorted(_ENTRY_KEYS)}")
        if not isinstance(entry["notebook"], str) or not entry["notebook"].endswith(".ipynb"):
            raise ReportError(f"{where}: 'notebook' must be a .ipynb file name, got {entry['notebook']!r}")
        params = entry.get("parameters", {}) or {}
        if not isinstance(params, Mapping):
            raise ReportError(f"{where}: 'parameters' must be a mapping, got {params!r}")
        clash = set(params) & set(COMMON_PARAMETERS)
        if clash:
            raise ReportError(
                f"{where}: {sorted(clash)} are set by the runner (--year/--lang/--data), not in the params file"
            )
        foreach = entry.get("foreach")
        if foreach is not None:
            if (not isinstance(foreach, Mapping) or len(foreach) != 1
                    or not isinstance(next(iter(foreach.values())), list)
                    or not next(iter(foreach.values()))):
                raise ReportError(
                    f"{where}: 'foreach' must map one parameter name to a non-empty list, got {foreach!r}"
                )
    return dict(content)


def plan_jobs(
    params: Mapping[str, Any],
    *,
    year: int,
    lang: str,
    data_path: str | None,
    notebooks_dir: Path | None = None,
) -> list[Job]:
    """Expand a validated params mapping into :class:`Job` objects.

    Every job gets the common parameters ``year``, ``lang``, ``data_path``;
    a ``foreach`` entry yields one job per value, with output stem
    ``<notebook stem>-<value>``.
    """
    folder = Path(notebooks_dir or NOTEBOOKS_DIR)
    jobs: list[Job] = []
    for entry in params["notebooks"]:
        source = Path(entry["notebook"])
        if not source.is_absolute():
            source = folder / source
        if not source.is_file():
            raise ReportError(f"notebook {source} (listed in the params file) does not exist")
        base = {"year": int(year), "lang": lang, "data_path": data_path or ""}
        base.update(dict(entry.get("parameters") or {}))
        foreach = entry.get("foreach")
        if foreach:
            (name, values), = foreach.items()
            for value in values:
                jobs.append(Job(source, f"{source.stem}-{value}", {**base, name: value}))
        else:
            jobs.append(Job(source, source.stem, base))
    stems = [j.stem for j in jobs]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ReportError(f"two notebooks would write the same output {dup}; use foreach or rename")
    return jobs


def check_parameters(notebook: str | os.PathLike[str], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Raise :class:`ReportParameterError` for parameters the notebook does not declare.

    The declared parameters are those papermill finds in the cell tagged
    ``parameters`` (:func:`papermill.inspect_notebook`).  Papermill itself
    only warns about unknown parameters; a misspelt parameter would then be
    silently ignored, which is why the report treats it as an error.
    """
    import papermill

    declared = papermill.inspect_notebook(str(notebook))
    if not declared:
        raise ReportParameterError(
            f"{notebook}: no cell tagged 'parameters' (or it declares nothing); "
            f"cannot pass {sorted(parameters)}"
        )
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ReportParameterError(
            f"{notebook}: parameter(s) {unknown} not declared in its parameters cell; "
            f"declared: {sorted(declared)}"
        )
    return declared


def output_folder_name(year: int, kind: str = "annual", lang: str = "zh") -> str:
    """Folder name under ``reports/``: ``2024``, ``2025-midterm``, ``2024-en`` …"""
    name = str(int(year))
    if kind != "annual":
        name += f"-{kind}"
    if lang != "zh":
        name += f"-{lang}"
    return name


# ---------------------------------------------------------------------- kernel


def kernel_name() -> str:
    """Name of the Jupyter kernel that runs the current interpreter.

    ``FZANALYSIS_KERNEL`` wins when set.  Otherwise the kernelspec
    ``fzanalysis`` (installed by ``make install``) is used when its
    interpreter is this one, else ``python3``, which jupyter_client starts
    with ``sys.executable`` when its argv names a bare ``python``.
    """
    env = os.environ.get("FZANALYSIS_KERNEL")
    if env:
        return env
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        specs = KernelSpecManager().find_kernel_specs()
        if "fzanalysis" in specs:
            spec = json.loads((Path(specs["fzanalysis"]) / "kernel.json").read_text("utf-8"))
            exe = Path(spec["argv"][0])
            if exe.is_absolute() and exe.resolve() == Path(sys.executable).resolve():
                return "fzanalysis"
    except Exception:  # noqa: BLE001 - any problem: fall back to python3
        pass
    return "python3"


# ------------------------------------------------------------------- execution


def _banner_html(provenance: Mapping[str, Any], lang: str, *, title: str | None = None,
                 compact: bool = False) -> str:
    """The provenance (and demo-data) banner put at the top of every HTML page.

    ``compact`` writes the demo-data warning as a bold red line instead of a
    large box (the report notebooks show the large box themselves).
    """
    esc = _html.escape
    parts = []
    if provenance.get("synthetic") and compact:
        parts.append(f'<div style="color:#b71c1c;font-weight:bold;font-size:14px">⚠ '
                     f'{esc(label("report", "demo_banner", lang))}</div>')
    elif provenance.get("synthetic"):
        parts.append(
            '<div class="fz-demo" style="background:#b71c1c;color:#fff;padding:10px 16px;'
            'font-size:18px;font-weight:bold;border-radius:4px;margin-bottom:6px">'
            f'⚠ {esc(label("report", "demo_banner", lang))}</div>'
        )
    files = "; ".join(
        f"{esc(f['path'])} sha256 {esc(f['sha256'][:16])}…" for f in provenance.get("data_files", [])
    )
    rows = [
        (label("report", "prov_generated", lang), provenance.get("generated_utc", "")),
        (label("report", "prov_package", lang),
         f"fzanalysis {provenance.get('package_version', '')} · git {provenance.get('git_commit', '')}"),
        (label("report", "prov_data", lang), files),
        (label("report", "prov_parameters", lang),
         json.dumps(provenance.get("parameters", {}), ensure_ascii=False, sort_keys=True)),
    ]
    body = "".join(
        f"<div><b>{esc(k)}</b>: <code style='font-size:11px'>{esc(str(v))}</code></div>" for k, v in rows
    )
    head = f"<div style='font-weight:bold'>{esc(title)}</div>" if title else ""
    return (
        '<div class="fz-provenance" style="font-family:sans-serif;font-size:12px;color:#333;'
        'background:#f5f5f5;border-bottom:1px solid #ccc;padding:8px 16px">'
        f"{''.join(parts)}{head}{body}</div>"
    )


def _inject_banner(html_text: str, banner: str) -> str:
    match = re.search(r"<body[^>]*>", html_text)
    if match is None:
        return banner + html_text
    return html_text[: match.end()] + banner + html_text[match.end():]


def notebook_to_html(nb_path: Path, html_path: Path, banner: str) -> None:
    """Convert an executed notebook to HTML without code cells, with ``banner`` on top."""
    import nbformat
    from nbconvert import HTMLExporter

    from traitlets.config import Config

    nb = nbformat.read(str(nb_path), as_version=4)
    config = Config()
    # cells tagged "report-hide" (e.g. the notebook's own title for JupyterLab users) stay out of the HTML
    config.TagRemovePreprocessor.remove_cell_tags = {HIDE_TAG}
    config.TagRemovePreprocessor.enabled = True
    exporter = HTMLExporter(config=config, exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    html_path.write_text(_inject_banner(body, banner), encoding="utf-8")


def execute_job(
    job: Job,
    *,
    out_dir: Path,
    kernel: str,
    provenance: Mapping[str, Any],
    lang: str,
    cell_timeout: int | None = 1800,
) -> dict[str, Any]:
    """Execute one notebook with papermill, save it and its HTML; never raise.

    Returns
    -------
    dict
        ``stem, source, parameters, ok, error, ipynb, html, seconds``.  On a
        failure papermill has already saved the notebook up to and including
        the failing cell (with its traceback); the HTML is made from it.
    """
    import nbformat
    import papermill

    start = time.monotonic()
    ipynb = out_dir / f"{job.stem}.ipynb"
    html_path = out_dir / f"{job.stem}.html"
    error: str | None = None
    # ipykernel warns on every start that its local TCP sockets are unencrypted; the kernels
    # here only talk to this process on localhost, so keep the console for real errors
    extra = ["--IPKernelApp.log_level=ERROR"] if kernel in ("python3", "fzanalysis") else []
    try:
        papermill.execute_notebook(
            str(job.source), str(ipynb), parameters=dict(job.parameters),
            kernel_name=kernel, progress_bar=False, cwd=str(job.source.parent),
            execution_timeout=cell_timeout, extra_arguments=extra,
        )
    except Exception as exc:  # noqa: BLE001 - every failure is reported, not raised
        error = _short_error(exc)
    html_ok = False
    try:
        if ipynb.is_file():
            nb = nbformat.read(str(ipynb), as_version=4)
            nb.metadata.setdefault("fzanalysis", {})
            nb.metadata["fzanalysis"]["provenance"] = {**provenance, "parameters": dict(job.parameters)}
            nb.metadata["fzanalysis"]["failed"] = error is not None
            nbformat.write(nb, str(ipynb))
        else:  # papermill failed before writing anything: keep a notebook that says why
            nb = nbformat.v4.new_notebook()
            nb.cells.append(nbformat.v4.new_markdown_cell(f"**Failed before execution:**\n\n```\n{error}\n```"))
            nbformat.write(nb, str(ipynb))
        banner = _banner_html({**provenance, "parameters": dict(job.parameters)}, lang,
                              title=chapter_title(job.stem, lang), compact=True)
        notebook_to_html(ipynb, html_path, banner)
        html_ok = True
    except Exception as exc:  # noqa: BLE001
        error = (error + "\n" if error else "") + "HTML conversion failed: " + _short_error(exc)
    return {
        "stem": job.stem,
        "source": str(job.source),
        "parameters": dict(job.parameters),
        "ok": error is None,
        "error": error,
        "ipynb": ipynb.name,
        "html": html_path.name if html_ok else None,
        "seconds": round(time.monotonic() - start, 1),
    }


def _short_error(exc: BaseException) -> str:
    ename = getattr(exc, "ename", None)
    if ename:  # PapermillExecutionError
        return f"{ename}: {getattr(exc, 'evalue', '')} (cell {getattr(exc, 'exec_count', '?')})"
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[-2000:]


# --------------------------------------------------------------- headline table


def headline_table(
    panel: pd.DataFrame,
    *,
    year: int,
    lang: str = "zh",
    assessed: pd.DataFrame | None = None,
    projected: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Status by indicator for the district as a whole: the report's headline table.

    Joins :func:`fzanalysis.assess` (status, gap, category) and
    :func:`fzanalysis.project` (projection to 2030, ``p_meet``, warnings) on
    ``indicator, area, sex`` and keeps the district rows (area ``440117``),
    sorted by domain and indicator.  Label columns (``*_label``) are in
    ``lang``.  Pass ``assessed``/``projected`` when already computed.
    """
    if assessed is None:
        from fzanalysis.assessment import assess

        assessed = assess(panel, year=year)
    if projected is None:
        from fzanalysis.trend import project

        projected = project(panel[panel["year"] <= year])
    keys = ["indicator", "area", "sex"]
    proj_cols = keys + ["projected", "lower", "upper", "p_meet", "warnings"]
    proj = projected[proj_cols].rename(
        columns={"lower": "projected_lower", "upper": "projected_upper"}
    )
    table = assessed.merge(proj, on=keys, how="left", validate="one_to_one")
    table = table[table["area"].astype(str) == DISTRICT]
    name_col = "name_zh" if lang == "zh" else "name_en"
    out = pd.DataFrame({
        "domain": table["domain"],
        "domain_label": [domain_label(d, lang) for d in table["domain"]],
        "indicator": table["indicator"],
        "name": table[name_col],
        "sex": table["sex"],
        "year": table["year"],
        "value": table["value"],
        "unit": table["unit"],
        "comparator": table["comparator"],
        "target": table["target"],
        "gap": table["gap"],
        "status": table["status"],
        "status_label": [_label_or(("status",), s, lang) for s in table["status"]],
        "category": table["category"],
        "category_label": [_label_or(("category",), c, lang) for c in table["category"]],
        "projected_2030": table["projected"],
        "projected_lower": table["projected_lower"],
        "projected_upper": table["projected_upper"],
        "p_meet": table["p_meet"],
        "warnings": table["warnings"].fillna(""),
        "warnings_label": [_warnings_label(w, lang) for w in table["warnings"]],
        "synthetic": table["synthetic"] if "synthetic" in table else False,
    })
    return out.loc[plan_order(out)].reset_index(drop=True)


def plan_order(frame: pd.DataFrame) -> pd.Index:
    """Index of ``frame`` in the plan's order: domains as in ``data/domains.csv``, indicators as in
    the catalogue, then sex T, F, M, then area (district first).  Needs ``domain, indicator``."""
    from fzanalysis import catalog as _catalog

    dom_order = {d: i for i, d in enumerate(_catalog.domains().sort_values("order").index)}
    ind_order = {i: k for k, i in enumerate(_catalog.load()["id"])}
    sex_order = {"T": 0, "F": 1, "M": 2}
    key = pd.DataFrame({
        "d": frame["domain"].map(dom_order).fillna(len(dom_order)).to_numpy(),
        "i": frame["indicator"].map(ind_order).fillna(len(ind_order)).to_numpy(),
        "s": (frame["sex"].map(sex_order).fillna(3).to_numpy() if "sex" in frame else 0),
        "a": (frame["area"].astype(str).to_numpy() if "area" in frame else ""),
    }, index=frame.index)
    return key.sort_values(["d", "i", "s", "a"], kind="stable").index


def _label_or(kinds: Sequence[str], code: Any, lang: str) -> str:
    if code is None or (isinstance(code, float) and pd.isna(code)) or code is pd.NA:
        return ""
    for kind in kinds:
        try:
            return label(kind, str(code), lang)  # type: ignore[arg-type]
        except KeyError:
            continue
    return str(code)


def _warnings_label(codes: Any, lang: str) -> str:
    if codes is None or (isinstance(codes, float) and pd.isna(codes)) or codes is pd.NA or not str(codes):
        return ""
    sep = "；" if lang == "zh" else "; "
    return sep.join(label("report_warning", c, lang) for c in str(codes).split(";") if c)  # type: ignore[arg-type]


# ------------------------------------------------------------------ index page


def render_index(
    *,
    year: int,
    kind: str,
    lang: str,
    runs: Sequence[Mapping[str, Any]],
    status: pd.DataFrame | None,
    status_error: str | None,
    provenance: Mapping[str, Any],
) -> str:
    """Render ``index.html`` (jinja2 template ``templates/index.html.j2``)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    template = env.get_template("index.html.j2")

    def t(code: str) -> str:
        return label("report", code, lang)  # type: ignore[arg-type]

    rows = []
    if status is not None:
        previous_domain = None
        for rec in status.to_dict("records"):
            rows.append({
                **rec,
                "new_domain": rec.get("domain") != previous_domain,
                "value_fmt": format_value(rec.get("value"), rec.get("unit"), lang=lang),
                "target_fmt": ("" if _isna(rec.get("comparator")) else
                               format_target(rec["comparator"], rec.get("target"), rec["unit"], lang=lang)),
                "projected_fmt": _fmt_projection(rec, lang),
                "p_meet_fmt": "" if _isna(rec.get("p_meet")) else f"{100 * float(rec['p_meet']):.0f}%",
                "sex_label": _label_or(("sex",), rec.get("sex"), lang) if rec.get("sex") != "T" else "",
                "unit_label": unit_label(rec.get("unit"), lang),
            })
            previous_domain = rec.get("domain")
    runs = [{**r, "title": chapter_title(r["stem"], lang)} for r in runs]
    counts: dict[str, int] = {}
    if status is not None:
        for code, n in status["status"].value_counts().items():
            counts[_label_or(("status",), code, lang)] = int(n)
    return template.render(
        t=t, year=year, kind=kind, kind_label=t(f"kind_{kind}"), lang=lang, runs=runs, rows=rows,
        status_error=status_error, counts=counts,
        banner=_banner_html(provenance, lang),
        n_failed=sum(1 for r in runs if not r["ok"]),
        data_note=_data_note(year, provenance, lang),
        ok=all(r["ok"] for r in runs) and status_error is None,
    )


def chapter_title(stem: str, lang: str = "zh") -> str:
    """Human title of an output stem: ``02_domain-health`` -> ``领域分析：健康``."""
    base, _, value = stem.partition("-")
    try:
        title = label("report", f"nb_{base}", lang)  # type: ignore[arg-type]
    except KeyError:
        title = base
    if value:
        sep = "：" if lang == "zh" else ": "
        try:
            title += sep + domain_label(value, lang)
        except KeyError:
            title += sep + value
    return title


def _isna(x: Any) -> bool:
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _data_note(year: int, provenance: Mapping[str, Any], lang: str) -> str:
    """A warning when the report year is later than the latest year in the data."""
    years = provenance.get("data_years")
    if not years or int(year) <= int(years[1]):
        return ""
    # the report then assesses the latest year with data (assessment_year)
    return label("report", "no_data_for_year", lang).format(  # type: ignore[arg-type]
        year=year, first=years[0], last=years[1])


def _fmt_projection(rec: Mapping[str, Any], lang: str) -> str:
    """``96.4% (95.2–97.3)``: projection with its interval, NaN-safe."""
    mid, lo, hi, unit = (rec.get("projected_2030"), rec.get("projected_lower"),
                         rec.get("projected_upper"), rec.get("unit"))
    if _isna(mid):
        return "—"
    text = format_value(mid, unit, lang=lang)
    if not _isna(lo) and not _isna(hi):
        text += f" ({_fmt_num(lo)}–{_fmt_num(hi)})"
    return text


def _fmt_num(x: Any) -> str:
    if _isna(x):
        return "—"
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.1f}" if abs(x) >= 1 else f"{x:.2f}"


# ---------------------------------------------------------------------- runner


@dataclass
class ReportResult:
    """What :func:`run_report` did.

    Attributes
    ----------
    year, kind, lang
        The report asked for.
    ok
        True when every notebook ran and the headline table was built.
    out_dir
        ``reports/<folder>/`` on success; the kept ``reports/.failed-…``
        folder on failure.
    runs
        One record per notebook (see :func:`execute_job`).
    status
        The headline table (None if it could not be built).
    provenance
        What was written to ``provenance.json``.
    """

    year: int
    kind: str
    lang: str
    ok: bool
    out_dir: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    status: pd.DataFrame | None = None
    status_error: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 on success, 1 when any notebook or the headline table failed."""
        return 0 if self.ok else 1

    @property
    def failed(self) -> list[str]:
        """Output stems of the notebooks that failed."""
        return [r["stem"] for r in self.runs if not r["ok"]]


def _restore_interrupted_swap(root: Path, folder: str) -> None:
    """If a crash left ``reports/.old-<folder>-*`` and no ``reports/<folder>``, put it back."""
    final = root / folder
    if final.exists():
        return
    pid = re.compile(re.escape(f".old-{folder}-") + r"\d+$")  # not ".old-2024-en-…" for "2024"
    olds = sorted((p for p in root.iterdir() if pid.match(p.name)), key=lambda p: p.stat().st_mtime)
    if olds:
        os.rename(olds[-1], final)


def _swap_into_place(tmp: Path, final: Path) -> None:
    """Replace ``final`` by ``tmp``; the old ``final`` survives until the swap succeeded."""
    old = final.parent / f".old-{final.name}-{os.getpid()}"
    had_old = final.exists()
    if had_old:
        os.rename(final, old)
    try:
        os.rename(tmp, final)
    except BaseException:
        if had_old:
            os.rename(old, final)
        raise
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


def run_report(
    year: int | None = None,
    *,
    kind: str = "annual",
    lang: str = "zh",
    data: str | os.PathLike[str] | None = None,
    jobs: int = 1,
    out_root: str | os.PathLike[str] | None = None,
    progress: bool = True,
    params: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    notebooks_dir: str | os.PathLike[str] | None = None,
    cell_timeout: int | None = 1800,
) -> ReportResult:
    """Run the report for one year and kind; see the module docstring for the rules.

    Parameters
    ----------
    year
        Report year; ``None`` = latest year in the data.
    kind
        ``annual``, ``midterm`` or ``final``.
    lang
        ``zh`` (default) or ``en``: language of narrative, labels and index.
    data
        Panel file (:func:`fzanalysis.panel.load_for_cli`); ``None`` = the demo panel.
    jobs
        Notebooks executed at once, each in its own process (``jobs=1`` runs
        them one after another in this process).
    out_root
        Parent of the report folders (default :func:`fzanalysis.paths.reports_dir`).
    progress
        Show a tqdm progress bar on stderr.
    params
        Override of ``params/<year>_<kind>.yaml``: another YAML path or an
        already-parsed mapping (used by tests to run one notebook).
    notebooks_dir
        Where relative notebook names are resolved (default ``notebooks/``).
    cell_timeout
        Seconds any single cell may run before it is failed (None = no limit).

    Returns
    -------
    ReportResult
        ``result.exit_code`` is 0 only when everything succeeded.

    Raises
    ------
    ReportError, ReportParameterError
        Setup errors (bad params, undeclared parameter, missing notebook),
        raised before anything is executed or written.
    """
    if kind not in KINDS:
        raise ReportError(f"kind must be one of {KINDS}, got {kind!r}")
    if lang not in ("zh", "en"):
        raise ReportError(f"lang must be 'zh' or 'en', got {lang!r}")
    if jobs < 1:
        raise ReportError(f"jobs must be >= 1, got {jobs}")
    data_arg = None if data is None or str(data) == "" else str(Path(data).resolve())
    panel: pd.DataFrame | None = None
    if year is None:  # the latest year in the data
        panel = load_data(data_arg)
        year = int(pd.to_numeric(panel["year"]).max())
    year = int(year)

    # set-up errors surface before the (slow) data loading and before anything is written
    if params is None:
        path = params_file(year, kind)
        spec = read_params(path)
        params_source = str(path)
    elif isinstance(params, Mapping):
        spec = validate_params(params, source="<params override>")
        params_source = "<params override>"
    else:
        spec = read_params(params)
        params_source = str(params)
    if spec["year"] != year or spec["kind"] != kind:
        raise ReportError(
            f"{params_source}: is for year {spec['year']} kind {spec['kind']}, "
            f"but the report asked for year {year} kind {kind}"
        )
    nb_dir = Path(notebooks_dir) if notebooks_dir else NOTEBOOKS_DIR
    job_list = plan_jobs(spec, year=year, lang=lang, data_path=data_arg, notebooks_dir=nb_dir)
    defaults: dict[str, dict[str, str]] = {}
    for job in job_list:
        declared = check_parameters(job.source, job.parameters)
        defaults[job.stem] = {k: v["default"] for k, v in declared.items() if k not in job.parameters}
    if panel is None:
        panel = load_data(data_arg)

    from fzanalysis import __version__

    root = Path(out_root) if out_root is not None else reports_dir()
    root.mkdir(parents=True, exist_ok=True)
    folder = output_folder_name(year, kind, lang)
    _restore_interrupted_swap(root, folder)
    tmp = root / f".tmp-{folder}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()

    files = data_files(data_arg)
    synthetic = is_synthetic(panel)
    provenance: dict[str, Any] = {
        "report": {"year": year, "kind": kind, "lang": lang, "folder": folder},
        "package": "fzanalysis",
        "package_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "kernel": kernel_name(),
        "params_file": params_source,
        "parameters": {"year": year, "kind": kind, "lang": lang, "data": data_arg or "demo", "jobs": jobs},
        "data_kind": "demo" if synthetic else "official",
        "data_years": [int(pd.to_numeric(panel["year"]).min()), int(pd.to_numeric(panel["year"]).max())],
        "synthetic": synthetic,
        "data_files": [
            {"path": _rel(p), "sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files
        ],
        "generated_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

    runs: list[dict[str, Any]] = []
    status: pd.DataFrame | None = None
    status_error: str | None = None
    try:
        runs = _execute_all(job_list, out_dir=tmp, kernel=provenance["kernel"], provenance=provenance,
                            lang=lang, jobs=jobs, progress=progress, cell_timeout=cell_timeout)
        try:
            status = headline_table(panel, year=assessment_year(panel, year), lang=lang)
            _write_status(status, tmp, provenance, lang)
        except Exception as exc:  # noqa: BLE001 - reported in the index and exit code
            status = None
            status_error = "".join(traceback.format_exception(exc))[-3000:]
        provenance["notebooks"] = [
            {**{k: r[k] for k in ("stem", "source", "parameters", "ok", "error", "seconds")},
             "defaults": defaults.get(r["stem"], {})} for r in runs
        ]
        (tmp / "provenance.json").write_text(
            json.dumps(provenance, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        (tmp / "index.html").write_text(
            render_index(year=year, kind=kind, lang=lang, runs=runs, status=status,
                         status_error=status_error, provenance=provenance),
            encoding="utf-8",
        )
    except BaseException:
        # interrupted (Ctrl-C) or a bug in the runner: keep the partial output, never the final folder
        failed = root / f".failed-{folder}-{_stamp()}"
        if tmp.exists():
            os.rename(tmp, failed)
            (failed / "INTERRUPTED.txt").write_text(traceback.format_exc(), encoding="utf-8")
        raise

    ok = status_error is None and all(r["ok"] for r in runs)
    if ok:
        final = root / folder
        _swap_into_place(tmp, final)
        out_dir = final
    else:
        out_dir = root / f".failed-{folder}-{_stamp()}"
        os.rename(tmp, out_dir)
        prune_failed(root, folder, keep=KEEP_FAILED)
    return ReportResult(year=year, kind=kind, lang=lang, ok=ok, out_dir=out_dir, runs=runs,
                        status=status, status_error=status_error, provenance=provenance)


def prune_failed(root: Path, folder: str, *, keep: int = 5) -> list[Path]:
    """Delete all but the ``keep`` newest ``.failed-<folder>-*`` folders; return the deleted ones.

    The time stamp in the name sorts chronologically, so the newest are kept.
    """
    # the suffix must be a time stamp, so ".failed-2024-…" never matches ".failed-2024-en-…"
    stamp = re.compile(re.escape(f".failed-{folder}-") + r"\d{8}T\d+Z$")
    failed = sorted((p for p in root.iterdir() if stamp.match(p.name)), key=lambda p: p.name)
    gone = failed[: max(0, len(failed) - keep)]
    for path in gone:
        shutil.rmtree(path, ignore_errors=True)
    return gone


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_DIR))
    except ValueError:
        return str(path)


def _execute_all(
    job_list: Sequence[Job], *, out_dir: Path, kernel: str, provenance: Mapping[str, Any],
    lang: str, jobs: int, progress: bool, cell_timeout: int | None,
) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm

    kwargs = dict(out_dir=out_dir, kernel=kernel, provenance=dict(provenance), lang=lang,
                  cell_timeout=cell_timeout)
    order = {job.stem: i for i, job in enumerate(job_list)}
    results: list[dict[str, Any]] = []
    bar = tqdm(total=len(job_list), desc="notebooks", unit="nb", disable=not progress, file=sys.stderr)
    try:
        if jobs == 1 or len(job_list) == 1:
            for job in job_list:
                bar.set_postfix_str(job.stem)
                results.append(execute_job(job, **kwargs))
                bar.update(1)
        else:
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(jobs, len(job_list)), mp_context=ctx) as pool:
                futures = {pool.submit(execute_job, job, **kwargs): job for job in job_list}
                for fut in as_completed(futures):
                    job = futures[fut]
                    try:
                        results.append(fut.result())
                    except Exception as exc:  # noqa: BLE001 - e.g. a worker process died
                        results.append({
                            "stem": job.stem, "source": str(job.source), "parameters": dict(job.parameters),
                            "ok": False, "error": f"worker process failed: {_short_error(exc)}",
                            "ipynb": None, "html": None, "seconds": 0.0,
                        })
                    bar.set_postfix_str(job.stem)
                    bar.update(1)
    finally:
        bar.close()
    return sorted(results, key=lambda r: order[r["stem"]])


def _write_status(status: pd.DataFrame, out_dir: Path, provenance: Mapping[str, Any], lang: str) -> None:
    """Write ``status.csv`` (UTF-8 with BOM so Excel opens Chinese) and ``status.xlsx``.

    Both carry the data kind and a provenance string in every row (CSV) or in
    a ``provenance`` sheet (XLSX).
    """
    prov = (
        f"fzanalysis {provenance['package_version']}; git {provenance['git_commit']}; "
        f"data sha256 {', '.join(f['sha256'][:16] for f in provenance['data_files'])}; "
        f"generated {provenance['generated_utc']}"
    )
    table = status.copy()
    table["data_kind"] = label("data_kind", provenance["data_kind"], lang)  # type: ignore[arg-type]
    table["provenance"] = prov
    table.to_csv(out_dir / "status.csv", index=False, encoding="utf-8-sig")
    flat = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
            for k, v in provenance.items()}
    with pd.ExcelWriter(out_dir / "status.xlsx", engine="openpyxl") as writer:
        table.drop(columns=["provenance"]).to_excel(writer, sheet_name="status", index=False)
        pd.DataFrame({"key": list(flat), "value": [str(v) for v in flat.values()]}).to_excel(
            writer, sheet_name="provenance", index=False
        )


# ------------------------------------------------------------------------- CLI


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fzanalysis report``."""
    p = subparsers.add_parser(
        "report",
        help="run the annual / mid-term / final report notebooks -> reports/<year>/",
        description="Execute the report notebooks with papermill and write reports/<year>/ "
        "(index.html, HTML per notebook, status.csv/xlsx, provenance.json). "
        "The previous report is replaced only when the new one is complete.",
    )
    p.add_argument("--year", type=int, default=None, help="report year (default: latest year in the data)")
    p.add_argument("--kind", choices=KINDS, default="annual")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--data", metavar="PATH", default=None, type=data_option, help=DATA_HELP)
    p.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel (processes)")
    p.add_argument("--params", default=None, help="params YAML instead of params/<year>_<kind>.yaml")
    p.add_argument("--out", default=None, help="parent folder of the reports (default: reports/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli)


def _cli(ns: argparse.Namespace) -> int:
    try:
        result = run_report(
            ns.year, kind=ns.kind, lang=ns.lang, data=ns.data, jobs=ns.jobs, out_root=ns.out,
            progress=not ns.no_progress, params=ns.params,
        )
    except (ReportError, FileNotFoundError, ValueError) as exc:
        print(f"fzanalysis report: error: {exc}", file=sys.stderr)
        return 2
    if result.ok:
        print(f"report written: {result.out_dir / 'index.html'}")
    else:
        what = ", ".join(result.failed) or "headline table"
        print(
            f"report FAILED ({what}); previous report left untouched; "
            f"this run's output kept in {result.out_dir}",
            file=sys.stderr,
        )
    return result.exit_code
