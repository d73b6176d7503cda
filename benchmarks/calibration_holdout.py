#!/usr/bin/env python3
"""Build the *holdout* sources of the calibration corpus from verbatim copies (issue 11).

The dev / validation split of ``data/calibration`` was read from the first part (countries A-F
or A-G) of each public file.  After five follow-ups had each looked at the validation part once,
a fresh held-out part was read from the REST of the same files, never used for any choice before
the one comparison fixed in ``docs/methods.md`` 8.9 (sixth follow-up).

Inputs: directories of verbatim chunks ``chunk_<offset>.txt`` of the public files (each chunk is
the text the stored-file reader returned from that character offset; consecutive chunks overlap
by 1,000 characters and must agree there), kept in ``data/calibration/sources/raw_holdout/<key>``.
Outputs: ``data/calibration/sources/*_holdout.txt`` in the compact format read by
``benchmarks/calibration.py`` (``geo,first_year,tokens``; ``YYYY:v`` jumps to a year), with a
``# split: holdout`` header; and ``statsmodels_fertility_holdout.csv`` (the remaining country rows
of the statsmodels copy of WDI fertility, byte for byte).

Rules (mechanical, fixed before anything was forecast): every complete row after the last
country of the original read, in file order; WDI aggregates dropped by ``calibration.py``; the
same year ranges and minimum counts as the original families (applied by ``build_corpus``).

Usage::

    .venv/bin/python benchmarks/calibration_holdout.py      # rewrite the *_holdout sources
"""
from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "data" / "calibration" / "sources"
RAW = SRC / "raw_holdout"

GAPMINDER = "open-numbers/ddf--gapminder--systema_globalis"
# key -> (output file, repository, path, commit, indicator line, last geo of the original read,
#         kind, first year kept in the compact file, CRLF line ends)
SPECS = {
    "dtp3": ("gapminder_dtp3_holdout.txt", GAPMINDER,
             "countries-etc-datapoints/ddf--datapoints--dtp3_immunized_percent_of_one_year_olds--by--geo--time.csv",
             "76a31f00dd0e8929e4ca0b3ae3a8d873a59e4f6d",
             "dtp3_immunized_percent_of_one_year_olds (WHO/UNICEF estimates of DTP3 coverage, = WDI SH.IMM.IDPT), integers",
             "cyp", "long", 1980, False),
    "mcv": ("gapminder_mcv_holdout.txt", GAPMINDER,
            "countries-etc-datapoints/ddf--datapoints--mcv_immunized_percent_of_one_year_olds--by--geo--time.csv",
            "16e61346da05fe7355398f8b0b458aa1d504dcd6",
            "mcv_immunized_percent_of_one_year_olds (WHO/UNICEF estimates of measles-containing-vaccine first-dose coverage, = WDI SH.IMM.MEAS), integers",
            "cod", "long", 1990, False),
    "gpi": ("gapminder_gpi_prim_sec_holdout.txt", GAPMINDER,
            "countries-etc-datapoints/ddf--datapoints--ratio_of_girls_to_boys_in_primary_and_secondary_education_perc--by--geo--time.csv",
            "05afdf9b4a8cb1bb0e975da3b14d7475434c229c",
            "ratio of girls to boys in primary and secondary education (= WDI SE.ENR.PRSC.FM.ZS / 100, gender parity index of gross enrolment), UNESCO UIS",
            "fji", "long", 1990, False),
    "parl": ("wdi_parliament_holdout.txt", "saghirb/WiP-rdatatable", "data/WB-WiP.csv",
             "f673ec099644d180cbf6330f32318f0546431ef6",
             "SG.GEN.PARL.ZS Proportion of seats held by women in national parliaments (%) (IPU, as of 1 January), WDI download \"Last Updated Date\" 2019-03-21",
             "GHA", "wdi", 1997, True),
}
WDI_FIRST_YEAR, WDI_YEARS = 1960, 59  # WB-WiP.csv: 4 text columns, 1960..2018, a trailing empty field
FERTILITY_AFTER = "FSM"  # last country row of statsmodels_fertility_subset.csv


def assemble(chunk_dir: Path, *, crlf: bool = False, min_overlap: int = 500) -> tuple[int, str]:
    """Join verbatim chunks into one text, checking that every overlap agrees.

    ``crlf``: the file has CRLF line ends; the reader's offsets count the ``\r`` but its text
    has ``\n`` only, so each chunk's line ends are restored before the offsets are applied.
    Returns the file offset of the first character and the text from there to the end.
    """
    chunks = []
    for p in sorted(chunk_dir.glob("chunk_*.txt")):
        t = p.read_text(encoding="utf-8")
        chunks.append((int(p.stem.split("_")[1]), t.replace("\n", "\r\n") if crlf else t))
    if not chunks:
        raise SystemExit(f"{chunk_dir}: no chunk_*.txt files")
    start, text = chunks[0]
    for off, t in chunks[1:]:
        end = start + len(text)
        if off > end:
            raise SystemExit(f"{chunk_dir}: gap before chunk {off} (text ends at {end})")
        overlap = text[off - start:]
        # an offset between "\r" and "\n" starts the chunk at a bare "\n"
        candidates = [t] + ([t[1:]] if crlf and t.startswith("\r\n") else [])
        t = next((c for c in candidates if c[:len(overlap)] == overlap), None)
        if t is None or len(overlap) < min_overlap:
            raise SystemExit(f"{chunk_dir}: chunk {off} disagrees with the previous chunk on their overlap")
        text = text[:off - start] + t
    return start, text


def _complete_lines(text: str) -> list[str]:
    """The lines of a text that starts mid-file: the first (partial) line is dropped; the text
    must reach the end of the file, so its last line is complete."""
    lines = text.split("\n")[1:]
    return [ln.rstrip("\r") for ln in lines if ln.strip()]


def parse_long(text: str, after: str) -> dict[str, dict[int, str]]:
    """Gapminder datapoints ``geo,time,value``: the geos after ``after`` in file order."""
    data: dict[str, dict[int, str]] = {}
    for ln in _complete_lines(text):
        geo, year, value = ln.split(",")
        if geo <= after:  # the datapoints are sorted by geo
            continue
        if data and geo < next(reversed(data)):
            raise SystemExit(f"{after}..: geo {geo} out of order (expected sorted datapoints)")
        data.setdefault(geo, {})[int(year)] = value
    return data


def parse_wdi(text: str, after: str) -> dict[str, dict[int, str]]:
    """WDI download rows ``"name","code","indicator","indicator code","v1960",...,"v2018",``."""
    data: dict[str, dict[int, str]] = {}
    for row in csv.reader(io.StringIO("\n".join(_complete_lines(text)))):
        code = row[1]
        if code <= after:  # the download is sorted by code
            continue
        if data and code < next(reversed(data)):
            raise SystemExit(f"WB-WiP.csv: row {code} out of order (expected rows sorted by code)")
        values = row[4:]
        if len(values) not in (WDI_YEARS, WDI_YEARS + 1) or (len(values) > WDI_YEARS and values[-1]):
            raise SystemExit(f"WB-WiP.csv row {code}: {len(values)} value fields, expected {WDI_YEARS} and a trailing empty one")
        data[code] = {WDI_FIRST_YEAR + j: v for j, v in enumerate(values[:WDI_YEARS]) if v != ""}
    return data


def compact(data: dict[str, dict[int, str]], first_year: int) -> list[str]:
    """``geo,first_year,tokens`` lines; a gap is written as a ``YYYY:v`` jump."""
    out = []
    for geo, values in data.items():
        years = sorted(y for y in values if y >= first_year)
        if not years:
            continue
        toks, prev = [], None
        for y in years:
            v = values[y]
            float(v)  # a copy error that is not a number stops the build here
            toks.append(v if prev is not None and y == prev + 1 else (v if prev is None else f"{y}:{v}"))
            prev = y
        out.append(f"{geo},{years[0]},{' '.join(toks)}")
    return out


def source_text(key: str) -> str:
    """The compact holdout source of ``key`` (a key of :data:`SPECS`), from its raw chunks."""
    out_name, repo, path, commit, indicator, after, kind, first_year, crlf = SPECS[key]
    start, text = assemble(RAW / key, crlf=crlf)
    data = parse_wdi(text, after) if kind == "wdi" else parse_long(text, after)
    geos = list(data)
    header = [f"# source: {repo}", f"# path: {path}", f"# commit: {commit}", f"# indicator: {indicator}",
              f"# rows read: characters {start}-end of the file (verbatim chunks in raw_holdout/{key}); "
              f"kept: every complete row after {after} (the last row of the original read), "
              f"{geos[0]} .. {geos[-1]}, years >= {first_year}",
              "# format: geo,first_year,tokens; a token \"v\" is the next year's value, \"YYYY:v\" jumps to year YYYY",
              "# split: holdout"]
    return "\n".join(header + compact(data, first_year)) + "\n"


def fertility_text() -> str:
    """The statsmodels copy of WDI fertility: the country rows after the original subset, verbatim."""
    import statsmodels.datasets.fertility as fert

    src = Path(fert.__file__).with_name("fertility.csv")
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    codes = [next(csv.reader([ln]))[1] for ln in lines[1:]]
    with open(SRC / "statsmodels_fertility_subset.csv", newline="", encoding="utf-8") as fh:
        original = {r[1] for r in csv.reader(fh)}
    # rows after the original subset's last row that it does not already hold (the file is
    # sorted by code except for a few countries listed out of order, e.g. COD after ZAF)
    i = codes.index(FERTILITY_AFTER) + 1
    kept = [ln for c, ln in zip(codes[i:], lines[1 + i:]) if c not in original]
    return lines[0] + "".join(kept)


#: output file of each holdout source
OUTPUTS = {**{k: v[0] for k, v in SPECS.items()}, "fertility": "statsmodels_fertility_holdout.csv"}


def holdout_texts() -> dict[str, str]:
    """Every holdout source file's text, keyed by its output file name."""
    texts = {OUTPUTS[k]: source_text(k) for k in SPECS}
    texts[OUTPUTS["fertility"]] = fertility_text()
    return texts


def main() -> int:
    for name, text in holdout_texts().items():
        (SRC / name).write_text(text, encoding="utf-8", newline="")
        print("wrote", (SRC / name).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
