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
    """The entry points a researcher calls first carry runnable examples."""
    finder = doctest.DocTestFinder()
    for obj in (fzanalysis.assess, fzanalysis.evaluate, fzanalysis.load_catalog, fzanalysis.as_panel):
        tests = finder.find(obj)
        assert any(t.examples for t in tests), f"{obj.__module__}.{obj.__name__} has no Examples"
