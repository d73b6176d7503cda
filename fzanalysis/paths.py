"""Where the workbench finds its reference data and writes its output.

The reference data (catalogue, gazetteer, boundaries, demo panel) live in the
repository's ``data/`` folder.  Set ``FZANALYSIS_DATA`` to use another copy,
for example an evaluation group's own edited catalogue.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

__all__ = ["PACKAGE_DIR", "REPO_DIR", "data_dir", "data_path", "reports_dir"]

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent


@lru_cache(maxsize=8)
def _data_dir(env: str | None, repo_dir: Path) -> Path:
    if env:
        return Path(env).expanduser().resolve()
    repo = repo_dir / "data"
    if (repo / "indicators.yaml").is_file():
        return repo
    return PACKAGE_DIR / "_data"


def data_dir() -> Path:
    """Return the folder holding the reference data.

    In order: ``$FZANALYSIS_DATA``; the repository's ``data/`` (a clone or an editable
    install); the copy shipped inside the wheel (``fzanalysis/_data``, a plain ``pip install``).
    """
    return _data_dir(os.environ.get("FZANALYSIS_DATA") or None, REPO_DIR)


def data_path(*parts: str) -> Path:
    """Path of a reference file below :func:`data_dir`."""
    return data_dir().joinpath(*parts)


def reports_dir(default: Path | None = None) -> Path:
    """Default output folder for generated reports: ``$FZANALYSIS_REPORTS``, else ``default``
    (the command's ``<workdir>/reports``), else the repository's ``reports/``."""
    env = os.environ.get("FZANALYSIS_REPORTS")
    if env:
        return Path(env).expanduser().resolve()
    return default if default is not None else REPO_DIR / "reports"
