"""Report kinds and their parameters: which notebooks a report runs, with which values.

A report kind is a template (``params/<kind>.yaml``): ``annual`` for any plan year, ``midterm``
for 2025 and ``final`` for 2030 (the plan orders a mid-term and a final evaluation without
fixing their years: 2025 is the mid-point of its period, 2030 its target year; key ``years``).  A
per-year file ``params/<year>_<kind>.yaml`` exists only where one year really differs; it
replaces the template for that year.  Lists the data files own are never repeated here: a
``foreach`` over ``domains`` runs the notebook once per domain of ``data/domains.csv`` that the
active plan's catalogue has targets in, in the plan's order (:func:`plan_domains`).

File layout::

    kind: annual                       # annual | midterm | final
    description: ...                   # free text
    years: [2025]                      # optional: the years this kind is for (default: any)
    notebooks:
      - notebook: 01_overview.ipynb    # under notebooks/ (or an absolute path)
        parameters: {level: 0.8}       # optional: declared in the notebook's parameters cell
      - notebook: 02_domain.ipynb
        foreach: {domain: domains}     # one run per value: a list, or a list the data own
      - notebook: 03_towns.ipynb
        when: towns                    # only for a plan whose area has towns (CONDITIONS)

The runner passes :data:`COMMON_PARAMETERS` (``year, kind, lang, data_path``) to every
notebook, and :data:`RUNNER_PARAMETERS` (``results_path``: the run's results store) to every
notebook that declares them; a params file may set neither.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fzanalysis import catalog, labels, plan
from fzanalysis.exceptions import ReportError
from fzanalysis.paths import PACKAGE_DIR, REPO_DIR

__all__ = [
    "COMMON_PARAMETERS",
    "CONDITIONS",
    "RUNNER_PARAMETERS",
    "DATA_LISTS",
    "KINDS",
    "LANGS",
    "NOTEBOOKS_DIR",
    "PARAMS_DIR",
    "PLAN_YEARS",
    "Job",
    "ReportParameterError",
    "check_parameters",
    "kind_label",
    "output_folder_name",
    "params_file",
    "plan_jobs",
    "read_params",
    "resolve_params",
    "validate_params",
]

#: Report kinds (the folder suffix of a report is its kind, except for ``annual``).
KINDS: tuple[str, ...] = ("annual", "midterm", "final")
#: Languages of a report.
LANGS: tuple[str, ...] = ("zh", "en")
#: Years of the plan.
PLAN_YEARS: tuple[int, ...] = tuple(range(2021, 2031))
#: Parameters the runner passes to every notebook (each notebook declares them).
COMMON_PARAMETERS: tuple[str, ...] = ("year", "kind", "lang", "data_path")
#: Parameters the runner passes to the notebooks that declare them (a researcher's own chapter
#: need not): ``results_path``, the run's results store (:mod:`fzanalysis.report.results`).
RUNNER_PARAMETERS: tuple[str, ...] = ("results_path",)
#: Named lists a ``foreach`` may use instead of writing the values out.
def plan_domains() -> tuple[str, ...]:
    """The domains the active plan's catalogue has targets in, in the plan's order."""
    present = set(catalog.load()["domain"])
    return tuple(d for d in labels.domain_order() if d in present)


DATA_LISTS: dict[str, Callable[[], tuple[str, ...]]] = {"domains": plan_domains}

#: Conditions an entry's ``when`` may name: the notebook runs only when the active plan has it.
CONDITIONS: dict[str, Callable[[], bool]] = {"towns": lambda: plan.active().has_towns}


def _shipped(name: str) -> Path:
    """``<repo>/<name>`` in a clone; the copy inside the wheel (``fzanalysis/_<name>``) otherwise."""
    repo = REPO_DIR / name
    return repo if repo.is_dir() else PACKAGE_DIR / f"_{name}"


#: The report notebooks.
NOTEBOOKS_DIR: Path = _shipped("notebooks")
#: The report kinds (``<kind>.yaml``) and per-year exceptions (``<year>_<kind>.yaml``).
PARAMS_DIR: Path = _shipped("params")

_ENTRY_KEYS = {"notebook", "parameters", "foreach", "when"}
_TOP_KEYS = {"year", "kind", "years", "notebooks", "description", "max_data_lag"}


class ReportParameterError(ReportError, ValueError):
    """A parameter is not declared in the notebook's ``parameters`` cell."""


@dataclass(frozen=True)
class Job:
    """One notebook execution: source notebook, output stem and parameters."""

    source: Path
    stem: str
    parameters: dict[str, Any]


def kind_label(kind: str, lang: labels.Lang = "zh") -> str:
    """年度监测报告 / 中期评估报告 / 终期评估报告 (and English).

    Examples
    --------
    >>> kind_label("midterm")
    '中期评估报告'
    """
    return labels.label("report", f"kind_{kind}", lang)


def params_file(year: int, kind: str = "annual", *, params_dir: str | os.PathLike[str] | None = None) -> Path:
    """The file that defines the report of ``year`` and ``kind``.

    ``params/<year>_<kind>.yaml`` when that year differs from its kind, else the kind's template
    ``params/<kind>.yaml``.

    Raises
    ------
    ReportError
        If ``kind`` is not one of :data:`KINDS`.
    """
    if kind not in KINDS:
        raise ReportError(f"kind must be one of {KINDS}, got {kind!r}")
    folder = Path(params_dir) if params_dir is not None else PARAMS_DIR
    special = folder / f"{int(year)}_{kind}.yaml"
    return special if special.is_file() else folder / f"{kind}.yaml"


def read_params(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate a params YAML (module docstring for the layout).

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


def resolve_params(
    year: int,
    kind: str = "annual",
    *,
    params: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    params_dir: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, Any], str]:
    """The validated parameters of one report, with its year filled in.

    Parameters
    ----------
    year : int
        Report year.
    kind : {"annual", "midterm", "final"}
    params : path or mapping, optional
        Instead of :func:`params_file`: another YAML file, or an already-parsed mapping.
    params_dir : path, optional
        Folder of the kinds (default :data:`PARAMS_DIR`).

    Returns
    -------
    (dict, str)
        The parameters (``year`` set) and where they came from.

    Raises
    ------
    ReportError
        If the file is invalid, is for another kind, or the kind is not for ``year``
        (a mid-term report is for 2025, a final one for 2030).
    """
    if isinstance(params, Mapping):
        spec, source = validate_params(params, source="<params override>"), "<params override>"
    else:
        path = Path(params) if params is not None else params_file(year, kind, params_dir=params_dir)
        spec, source = read_params(path), str(path)
    if spec["kind"] != kind:
        raise ReportError(f"{source}: is for kind {spec['kind']!r}, but the report asked for {kind!r}")
    if "year" in spec and spec["year"] != int(year):
        raise ReportError(f"{source}: is for year {spec['year']}, but the report asked for {year}")
    allowed = spec.get("years")
    if allowed is not None and int(year) not in allowed:
        raise ReportError(
            f"{source}: a {kind} report is for year(s) {allowed}, not {year}: run it with --year "
            f"{allowed[0]} (or write params/{year}_{kind}.yaml, or pass --params, for an exception)"
        )
    return {**spec, "year": int(year)}, source


def validate_params(content: Any, *, source: str = "<params>") -> dict[str, Any]:
    """Validate a params mapping (module docstring); return a copy.

    Raises
    ------
    ReportError
        Naming ``source``, the entry and what was expected.
    """
    if not isinstance(content, Mapping):
        raise ReportError(f"{source}: expected a mapping with keys kind, notebooks")
    unknown = set(content) - _TOP_KEYS
    if unknown:
        raise ReportError(f"{source}: unknown key(s) {sorted(unknown)}; allowed {sorted(_TOP_KEYS)}")
    if "year" in content and not isinstance(content["year"], int):
        raise ReportError(f"{source}: 'year' must be an integer, got {content['year']!r}")
    if content.get("kind") not in KINDS:
        raise ReportError(f"{source}: 'kind' must be one of {KINDS}, got {content.get('kind')!r}")
    years = content.get("years")
    if years is not None and (not isinstance(years, list) or not all(isinstance(y, int) for y in years)):
        raise ReportError(f"{source}: 'years' must be a list of integers, got {years!r}")
    lag = content.get("max_data_lag")
    if lag is not None and (isinstance(lag, bool) or not isinstance(lag, int) or lag < 0):
        raise ReportError(f"{source}: 'max_data_lag' must be a whole number of years >= 0, got {lag!r}")
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
        clash = set(params) & {*COMMON_PARAMETERS, *RUNNER_PARAMETERS}
        if clash:
            raise ReportError(
                f"{where}: {sorted(clash)} are set by the runner (--year/--kind/--lang/--data), "
                "not in the params file"
            )
        if "when" in entry and entry["when"] not in CONDITIONS:
            raise ReportError(f"{where}: 'when' must be one of {sorted(CONDITIONS)}, got {entry['when']!r}")
        foreach = entry.get("foreach")
        if foreach is not None:
            values = next(iter(foreach.values())) if isinstance(foreach, Mapping) and len(foreach) == 1 else None
            if not ((isinstance(values, list) and values) or values in DATA_LISTS):
                raise ReportError(
                    f"{where}: 'foreach' must map one parameter name to a non-empty list or to one of "
                    f"{sorted(DATA_LISTS)}, got {foreach!r}"
                )
    return dict(content)


def plan_jobs(
    params: Mapping[str, Any],
    *,
    year: int,
    lang: str,
    data_path: str | None,
    notebooks_dir: str | os.PathLike[str] | None = None,
) -> list[Job]:
    """Expand a validated params mapping into :class:`Job` objects.

    Every job gets :data:`COMMON_PARAMETERS`; a ``foreach`` entry yields one job per value, with
    output stem ``<notebook stem>-<value>``.

    Raises
    ------
    ReportError
        A listed notebook is missing, or two jobs would write the same output.
    """
    folder = Path(notebooks_dir) if notebooks_dir is not None else NOTEBOOKS_DIR
    jobs: list[Job] = []
    for entry in params["notebooks"]:
        if "when" in entry and not CONDITIONS[entry["when"]]():
            continue  # e.g. the town chapter of a plan whose area has no towns (the national outline)
        source = Path(entry["notebook"])
        if not source.is_absolute():
            source = folder / source
        if not source.is_file():
            raise ReportError(f"notebook {source} (listed in the params file) does not exist")
        base = {"year": int(year), "kind": params["kind"], "lang": lang, "data_path": data_path or ""}
        base.update(dict(entry.get("parameters") or {}))
        foreach = entry.get("foreach")
        if foreach:
            (name, values), = foreach.items()
            if isinstance(values, str):
                values = list(DATA_LISTS[values]())
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

    The declared parameters are those papermill finds in the cell tagged ``parameters``
    (:func:`papermill.inspect_notebook`).  Papermill itself only warns about unknown
    parameters; a misspelt parameter would then be silently ignored.

    Returns
    -------
    dict
        papermill's description of each declared parameter.
    """
    import papermill  # heavy (starts Jupyter machinery): loaded only when a report runs

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
    """Folder name of a report: ``2024``, ``2025-midterm``, ``2024-en`` …

    Examples
    --------
    >>> output_folder_name(2030, "final", "en")
    '2030-final-en'
    """
    name = str(int(year))
    active = plan.active().id
    if active != plan.DEFAULT:  # another plan's reports never replace Conghua's
        name += f"-{active}"
    if kind != "annual":
        name += f"-{kind}"
    if lang != "zh":
        name += f"-{lang}"
    return name
