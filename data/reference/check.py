"""Check the reference data in data/reference/ and the plans in data/plans/.

Run from anywhere:  python data/reference/check.py
Pure pandas + pyyaml. Exits 1 and lists every problem when a check fails.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
AREAS = {"100000", "440000", "440100"}
SEXES = {"F", "M", "T"}
#: Chinese characters and full-width punctuation (an English locator holds none).
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
PANEL_COLS = ["indicator", "year", "area", "sex", "value", "unit", "source_id", "locator", "locator_en",
              "note"]
SOURCE_COLS = ["source_id", "publisher", "title", "publisher_en", "title_en", "date", "read_at", "note"]
CATALOG_COLS = ["id", "name_zh", "name_en", "unit", "domain", "conghua_id"]
REVISION_COLS = ["indicator", "year", "area", "sex", "value", "source_id", "superseded_by", "note"]


def _read(name: str, cols: list[str], problems: list[str]) -> pd.DataFrame:
    df = pd.read_csv(HERE / name, dtype=str, keep_default_na=False)
    if list(df.columns) != cols:
        problems.append(f"{name}: columns {list(df.columns)}, expected {cols}")
    return df


def _catalog_ids(path: Path) -> list[str]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [row["id"] for row in doc["indicators"]]


def check() -> list[str]:
    problems: list[str] = []
    sources = _read("sources.csv", SOURCE_COLS, problems)
    panel = _read("panel.csv", PANEL_COLS, problems)
    catalog = _read("catalog.csv", CATALOG_COLS, problems)
    revisions = _read("revisions.csv", REVISION_COLS, problems)
    units = pd.read_csv(DATA / "units.csv", dtype=str, keep_default_na=False)
    domains = pd.read_csv(DATA / "domains.csv", dtype=str, keep_default_na=False)
    unit_keys = set(units["key"])
    conghua_yaml = DATA / "indicators.yaml"
    conghua_ids = set(_catalog_ids(conghua_yaml))

    # sources: unique ids, complete citations, ISO dates
    dup = sources["source_id"][sources["source_id"].duplicated()]
    problems += [f"sources.csv: duplicate source_id {s}" for s in dup]
    for col in ("publisher", "title", "date", "read_at"):
        for sid in sources.loc[sources[col].str.strip() == "", "source_id"]:
            problems.append(f"sources.csv: {sid}: empty {col}")
    for col in ("publisher_en", "title_en"):
        for sid, text in zip(sources["source_id"], sources[col], strict=True):
            if text.strip() == "" or CJK.search(text):
                problems.append(f"sources.csv: {sid}: {col} {text!r} must be English (no Chinese characters)")
    bad_date = pd.to_datetime(sources["date"], format="%Y-%m-%d", errors="coerce").isna()
    problems += [f"sources.csv: {s}: date not YYYY-MM-DD" for s in sources.loc[bad_date, "source_id"]]
    bad_url = ~sources["read_at"].str.match(r"^https?://")
    problems += [f"sources.csv: {s}: read_at is not http(s)" for s in sources.loc[bad_url, "source_id"]]

    # catalog: unique ids, units, domains, conghua ids, id rule
    problems += [f"catalog.csv: duplicate id {i}" for i in catalog["id"][catalog["id"].duplicated()]]
    for _, c in catalog.iterrows():
        if c["unit"] not in unit_keys:
            problems.append(f"catalog.csv: {c['id']}: unit {c['unit']!r} is not a key of units.csv")
        if c["domain"] not in set(domains["id"]):
            problems.append(f"catalog.csv: {c['id']}: domain {c['domain']!r} not in domains.csv")
        if c["conghua_id"]:
            if c["conghua_id"] not in conghua_ids:
                problems.append(f"catalog.csv: {c['id']}: conghua_id {c['conghua_id']} not in indicators.yaml")
            if c["id"] != c["conghua_id"]:
                problems.append(f"catalog.csv: {c['id']}: id must equal conghua_id when that is set")
        elif not c["id"].startswith("ref."):
            problems.append(f"catalog.csv: {c['id']}: without conghua_id the id must be ref.<name>")
        elif f"{c['domain']}.{c['id'][4:]}" in conghua_ids:
            problems.append(f"catalog.csv: {c['id']}: its plan id {c['domain']}.{c['id'][4:]} is a "
                            "Conghua id of another statistic; rename it")

    # panel
    cat_units = dict(zip(catalog["id"], catalog["unit"]))
    for i, p in panel.iterrows():
        where = f"panel.csv line {i + 2} ({p['indicator']} {p['year']} {p['area']} {p['sex']})"
        if p["indicator"] not in cat_units:
            problems.append(f"{where}: indicator not in catalog.csv")
        elif p["unit"] != cat_units[p["indicator"]]:
            problems.append(f"{where}: unit {p['unit']} differs from catalog {cat_units[p['indicator']]}")
        if p["unit"] not in unit_keys:
            problems.append(f"{where}: unit {p['unit']!r} is not a key of units.csv")
        if p["source_id"] not in set(sources["source_id"]):
            problems.append(f"{where}: source_id {p['source_id']!r} not in sources.csv")
        if p["area"] not in AREAS:
            problems.append(f"{where}: area {p['area']!r} not one of {sorted(AREAS)}")
        if p["sex"] not in SEXES:
            problems.append(f"{where}: sex {p['sex']!r} not F, M or T")
        if not p["year"].isdigit() or int(p["year"]) < 2010:
            problems.append(f"{where}: year must be an integer >= 2010")
        if p["locator"].strip() == "":
            problems.append(f"{where}: empty locator")
        if p["locator_en"].strip() == "" or CJK.search(p["locator_en"]):
            problems.append(f"{where}: locator_en {p['locator_en']!r} must be English (no Chinese characters)")
        try:
            v = float(p["value"])
        except ValueError:
            problems.append(f"{where}: value {p['value']!r} is not a number")
            continue
        if p["unit"] in unit_keys:
            lo, hi = units.set_index("key").loc[p["unit"], ["lower_bound", "upper_bound"]]
            if (lo and v < float(lo)) or (hi and v > float(hi)):
                problems.append(f"{where}: value {v} outside the unit's bounds [{lo}, {hi}]")
    key = ["indicator", "year", "area", "sex"]
    for _, d in panel[panel.duplicated(key, keep=False)].drop_duplicates(key).iterrows():
        problems.append(f"panel.csv: duplicate {tuple(d[k] for k in key)}")

    # revisions: each superseded figure points at two known sources and a kept panel row
    kept = set(map(tuple, panel[key].values))
    for i, r in revisions.iterrows():
        where = f"revisions.csv line {i + 2}"
        for col in ("source_id", "superseded_by"):
            if r[col] not in set(sources["source_id"]):
                problems.append(f"{where}: {col} {r[col]!r} not in sources.csv")
        if tuple(r[k] for k in key) not in kept:
            problems.append(f"{where}: no panel row for {tuple(r[k] for k in key)}")
        else:
            row = panel.set_index(key).loc[tuple(r[k] for k in key)]
            if row["source_id"] != r["superseded_by"]:
                problems.append(f"{where}: panel keeps {row['source_id']}, not {r['superseded_by']}")
            d_new = sources.set_index("source_id")["date"].get(r["superseded_by"], "")
            d_old = sources.set_index("source_id")["date"].get(r["source_id"], "")
            if d_old and d_new and d_old > d_new:
                problems.append(f"{where}: superseded source is dated after the one kept")

    # plans
    china_yaml = DATA / "plans" / "china" / "indicators.yaml"
    ch = yaml.safe_load(china_yaml.read_text(encoding="utf-8"))
    cg = yaml.safe_load(conghua_yaml.read_text(encoding="utf-8"))
    if set(ch) != set(cg):
        problems.append(f"plans/china/indicators.yaml: top-level keys {sorted(ch)} != {sorted(cg)}")
    if set(ch.get("defaults", {})) != set(cg.get("defaults", {})):
        problems.append("plans/china/indicators.yaml: defaults keys differ from indicators.yaml")
    cg_keys = set().union(*(set(r) for r in cg["indicators"]))
    for row in ch["indicators"]:
        extra = set(row) - cg_keys
        if extra:
            problems.append(f"plans/china/indicators.yaml: {row.get('id')}: keys {sorted(extra)} not used in indicators.yaml")
    china_ids = [r["id"] for r in ch["indicators"]]
    problems += [f"plans/china/indicators.yaml: duplicate id {i}" for i in set(china_ids) if china_ids.count(i) > 1]
    for row in ch["indicators"]:
        rid = row["id"]
        if rid.split(".")[0] != row.get("domain"):
            problems.append(f"plans/china/indicators.yaml: {rid}: id must start with its domain")
        if row.get("unit") not in unit_keys:
            problems.append(f"plans/china/indicators.yaml: {rid}: unit {row.get('unit')!r} not in units.csv")
    for plan in ("china", "conghua"):
        pdoc = yaml.safe_load((DATA / "plans" / plan / "plan.yaml").read_text(encoding="utf-8"))
        for k in ("id", "name_zh", "name_en", "short_zh", "area_code", "area_name_zh", "base_year",
                  "target_year", "report_title_zh", "report_title_en", "catalog", "panel"):
            if k not in pdoc:
                problems.append(f"plans/{plan}/plan.yaml: missing {k}")
        for k in ("catalog", "panel"):
            if k in pdoc and not (DATA / "plans" / plan / pdoc[k]).resolve().is_file():
                problems.append(f"plans/{plan}/plan.yaml: {k} {pdoc[k]} does not exist")
    return problems


def main() -> int:
    problems = check()
    for p in problems:
        print(p)
    panel = pd.read_csv(HERE / "panel.csv", dtype=str)
    print(f"{len(problems)} problem(s); panel {len(panel)} rows, "
          f"{panel['indicator'].nunique()} indicators, years {panel['year'].min()}-{panel['year'].max()}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
