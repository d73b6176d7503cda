"""The tiny parameterised notebooks the report tests write (tests/ is on sys.path under pytest)."""
from __future__ import annotations

from pathlib import Path

import nbformat


def write_notebook(path: Path, body: str, *, params: str) -> Path:
    """A notebook at ``path``: a cell tagged ``parameters`` holding ``params``, then ``body``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, str(path))
    return path
