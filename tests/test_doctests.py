"""Every Examples section of the library runs, on the embedded demo data where it needs data."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import fzanalysis

matplotlib.use("Agg")  # examples that draw do so off-screen

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(fzanalysis.__path__, "fzanalysis.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_examples_exist_for_the_functions_researchers_call() -> None:
    """Every function of the top-level API (``fzanalysis.__all__``) has the numpydoc sections
    Parameters, Returns and Examples, and its examples run (the README says so); its classes
    document their attributes."""
    import inspect

    finder = doctest.DocTestFinder()
    names = [n for n in fzanalysis.__all__ if inspect.isfunction(getattr(fzanalysis, n))]
    functions = [getattr(fzanalysis, n) for n in names]
    assert set(names) >= {"assess", "evaluate", "project", "backtest", "attainment",
                                               "gender_gap", "load_catalog", "load_panel", "as_panel"}
    for obj in functions:
        doc = inspect.getdoc(obj) or ""
        for section in ("Parameters", "Returns", "Examples"):
            assert f"{section}\n---" in doc, f"{obj.__module__}.{obj.__name__}: no {section} section"
        assert any(t.examples for t in finder.find(obj)), f"{obj.__module__}.{obj.__name__} has no Examples"
    for name in ("Evaluation", "Panel"):
        assert "Attributes\n---" in (inspect.getdoc(getattr(fzanalysis, name)) or ""), name
