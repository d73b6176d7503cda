"""Fixtures shared by the report tests."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def small_panel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic panel of three catalogue indicators, 2016-2024 (headline table input)."""
    from fzanalysis import catalog

    cat = catalog.load()
    ids = list(cat[cat["unit"] == "percent"]["id"].iloc[:3])
    rows = []
    for k, ind in enumerate(ids):
        for y in range(2016, 2025):
            rows.append({"indicator": ind, "year": y, "area": "440117", "sex": "T",
                         "value": 60.0 + 2 * k + 0.8 * (y - 2016), "synthetic": True})
    path = tmp_path_factory.mktemp("panel") / "panel.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
