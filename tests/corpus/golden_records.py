"""Write ``tests/golden/corpus_records.csv``: the records every corpus file is read into.

Run by hand (``.venv/bin/python tests/corpus/golden_records.py``) after checking that a change
to the reader *should* change what a file is read into; ``tests/test_ingest.py`` compares the
records read now with this file, cell by cell, so that no row is lost, added or silently
changed by a change meant to be neutral (a faster reader, a refactoring).  The golden file of
2026-11-30 was written by the reader of commit 0db0b38, before the vectorised reader of
issue 12's last pass, and that reader reproduces it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "golden" / "corpus_records.csv"
SUFFIXES = (".csv", ".xlsx", ".xls", ".tsv", ".ods")
COLUMNS = ["name", "sheet", "row", "indicator", "year", "area", "sex", "value", "numerator", "denominator",
           "source", "note", "synthetic", "unit"]


def records(path: Path) -> pd.DataFrame:
    """The records of one corpus file as text, in the golden file's columns (file by its name)."""
    from fzanalysis.panel import read_submission  # run as a script: the package is imported on use

    rec = read_submission(path, display=path.name).records.drop(columns="file")
    rec.insert(0, "name", path.name)
    return text(rec[COLUMNS])


def text(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text a CSV round trip gives (floats in ``repr``; missing as '')."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        s = df[c]
        missing = s.isna().to_numpy()
        out[c] = ["" if m else repr(float(v)) if isinstance(v, float) else str(v)
                  for v, m in zip(s.astype(object).tolist(), missing.tolist())]
    return out.reset_index(drop=True)


def main() -> None:
    files = sorted(p for p in HERE.iterdir() if p.suffix in SUFFIXES)
    frames = [records(p) for p in files]
    pd.concat(frames, ignore_index=True).to_csv(GOLDEN, index=False, encoding="utf-8", lineterminator="\n")
    print(f"wrote {GOLDEN} ({sum(map(len, frames))} records from {len(files)} files)", file=sys.stderr)


if __name__ == "__main__":
    main()
