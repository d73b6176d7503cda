"""docs/design.md's tour matches the tree: every module it names exists, every module is named."""
from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import fzanalysis

DESIGN = Path(__file__).resolve().parents[1] / "docs" / "design.md"


def _layers_text() -> str:
    text = DESIGN.read_text("utf-8")
    return text[text.index("## Layers"):text.index("## Files")]


def test_every_public_module_is_placed_in_a_layer():
    text = _layers_text()
    for m in pkgutil.iter_modules(fzanalysis.__path__):
        if m.name.startswith("_"):
            continue
        assert f"`fzanalysis.{m.name}`" in text, f"fzanalysis.{m.name} is missing from docs/design.md's layers"


def test_every_module_the_design_names_exists():
    text = _layers_text()
    names = set(re.findall(r"`fzanalysis\.([a-z_]+)`", text))
    top = {m.name for m in pkgutil.iter_modules(fzanalysis.__path__)}
    assert names <= top, f"docs/design.md names modules that do not exist: {sorted(names - top)}"
    for sub in ("panel", "trend", "report"):
        pkg = __import__(f"fzanalysis.{sub}", fromlist=["_"])
        row = next(line for line in text.splitlines() if f"`fzanalysis.{sub}`" in line)
        for m in pkgutil.iter_modules(pkg.__path__):
            if not m.name.startswith("_"):
                assert f"`{m.name}`" in row, f"fzanalysis.{sub}.{m.name} is missing from its row in docs/design.md"
