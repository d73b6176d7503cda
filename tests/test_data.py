"""Panel schema, cell parsing, jump rule, aggregation towns -> district."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fzanalysis import codes, panel
from fzanalysis.codes import PANEL_COLUMNS
from fzanalysis.exceptions import PanelError
from fzanalysis.panel import aggregate_towns, as_panel, check_district_consistency, jump_warnings
from fzanalysis.panel.read import normalise_heading, parse_number, parse_year

DISTRICT = codes.district()
TOWNS = list(panel._lookups.town_codes())


def load_panel(data, *, source=None) -> pd.DataFrame:
    return as_panel(data, source=source).frame


# ------------------------------------------------------------------------------ schema
def test_load_panel_defaults_and_dtypes() -> None:
    df = pd.DataFrame({"indicator": ["health.maternal_mortality"], "year": [2024.0], "value": ["7"]})
    p = load_panel(df)
    assert list(p.columns) == list(PANEL_COLUMNS)
    row = p.iloc[0]
    assert (row["area"], row["sex"], row["year"], row["value"]) == (DISTRICT, "T", 2024, 7.0)
    assert p["year"].dtype == "int64" and p["value"].dtype == "float64"
    assert p["area"].map(type).eq(str).all() and p["synthetic"].dtype == bool
    assert np.isnan(row["numerator"]) and not row["synthetic"]


def test_load_panel_area_codes_as_numbers_become_strings() -> None:
    df = pd.DataFrame({"indicator": ["a.b", "a.b"], "year": [2020, 2020], "area": [440117, 440117104.0],
                       "value": [1.0, 2.0]})
    assert load_panel(df)["area"].tolist() == ["440117", "440117104"]


def test_load_panel_reports_every_problem() -> None:
    df = pd.DataFrame({
        "indicator": ["health.x", "health.x", "health.x", None],
        "year": [2020, 2020, 1899, 2021.5],
        "sex": ["T", "T", "W", "F"],
        "value": [1.0, 2.0, 3.0, 4.0],
        "numerator": [1.0, -1.0, np.nan, np.nan],
        "denominator": [2.0, 2.0, np.nan, np.nan],
    })
    with pytest.raises(PanelError) as exc:
        load_panel(df, source="my.csv")
    msg = str(exc.value)
    assert msg.startswith("my.csv: the panel does not match its schema")
    text = "\n".join(exc.value.problems)
    assert "column year: expected a whole year in 1900-2100, got 2021.5" in text
    assert "got 1899" in text
    assert "column sex: expected one of F, M, T, got 'W'" in text
    assert "column numerator: expected a count >= 0, got -1" in text
    assert "column indicator: expected an indicator id, got an empty cell" in text
    assert "occurs 2 times" in text


def test_load_panel_missing_required_column() -> None:
    with pytest.raises(PanelError, match="column value: required column missing"):
        load_panel(pd.DataFrame({"indicator": ["a.b"], "year": [2020]}))


def test_load_panel_csv_round_trip(tmp_path) -> None:
    df = load_panel(pd.DataFrame({"indicator": ["a.b", "a.b"], "year": [2021, 2020], "area": ["440117", "440117001"],
                                  "sex": ["F", "T"], "value": [1 / 3, 2.5], "note": ["x", None]}))
    path = panel.write_csv(df, tmp_path / "p.csv", sort_by=list(codes.PANEL_KEYS))
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    back = load_panel(path)
    pd.testing.assert_frame_equal(back, df)
    assert back["value"].iloc[0] == 2.5 and back["value"].iloc[1] == 1 / 3  # repr floats: exact


# ------------------------------------------------------------------------------ cells
@pytest.mark.parametrize("raw, expected", [
    ("96.5%", (96.5, "%")), ("９６．５", (96.5, None)), ("９６．５％", (96.5, "%")), ("12,345", (12345.0, None)),
    ("1,234.5", (1234.5, None)), (" 7 ", (7.0, None)), (7, (7.0, None)), ("3‰", (3.0, "‰")), ("-2.5", (-2.5, None)),
    ("1e3", (1000.0, None)), ("96.5 %", (96.5, "%")), ("\u00a096.5\u3000", (96.5, None)), ("1 234", (1234.0, None)),
    ("1\u00a0234\u00a0567.5", (1234567.5, None)),
])
def test_parse_number_accepts(raw, expected) -> None:
    value, sign, err = parse_number(raw)
    assert err is None and (value, sign) == expected


@pytest.mark.parametrize("raw", [None, "", "  ", "—", "——", "-", "/", "无", "N/A", float("nan")])
def test_parse_number_missing(raw) -> None:
    assert parse_number(raw) == (None, None, None)


@pytest.mark.parametrize("raw", ["约96", "1,5", "12,34", "96..5", "abc", True, float("inf"), "9 6x",
                                 # a space inside a figure is a typo, not a digit group: never joined
                                 "8 3.2", "9 6.5%", "12 34", "1 23 456", "1,234 567", "- 5"])
def test_parse_number_rejects(raw) -> None:
    value, _sign, err = parse_number(raw)
    assert value is None and err is not None
    code, values = err
    assert code in ("not_a_number", "number_logical", "number_infinite")
    assert dict(values)["found"] == str(raw)


def test_parse_number_excel_percent_format() -> None:
    assert parse_number(0.965, number_format="0.0%") == (pytest.approx(96.5), "%", None)


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False))
@settings(max_examples=200, deadline=None)
def test_parse_number_text_round_trip(x: float) -> None:
    value, sign, err = parse_number(repr(x))
    assert err is None and sign is None and value == x


@pytest.mark.parametrize("raw, year", [(2024, 2024), ("2024", 2024), (2024.0, 2024), ("2024年", 2024), ("２０２４", 2024)])
def test_parse_year_ok(raw, year) -> None:
    assert parse_year(raw) == (year, None)


@pytest.mark.parametrize("raw", [2024.5, "1999", 2031, "二〇二四", None, "24"])
def test_parse_year_bad(raw) -> None:
    y, err = parse_year(raw)
    assert y is None and err is not None
    code, values = err
    assert code == ("year_empty" if raw is None else "year_bad")
    assert (dict(values)["lo"], dict(values)["hi"]) == (2000, 2030)


def test_heading_normalisation() -> None:
    assert normalise_heading(" 数值（%） ") == "数值"
    assert normalise_heading("Value*") == "value"


# ------------------------------------------------------------------------------ jump rule
def _series(values, years=None, ind="health.hiv_testing_pregnant"):
    years = years or list(range(2015, 2015 + len(values)))
    return pd.DataFrame({"indicator": ind, "year": years, "area": DISTRICT, "sex": "T", "value": values})


def test_jump_flagged_against_history() -> None:
    hist = _series([90.0, 91.0, 92.1, 93.0, 94.0])
    new = _series([70.0], years=[2020])
    flags = jump_warnings(new, hist)
    assert len(flags) == 1
    f = flags.iloc[0]
    assert f["previous_year"] == 2019 and f["change"] == pytest.approx(-24.0)
    assert f["median_change"] == pytest.approx(1.0)


def test_jump_not_flagged_inside_history_or_short_series() -> None:
    hist = _series([90.0, 92.0, 89.0, 93.0, 88.0])  # noisy history: MAD large
    assert jump_warnings(_series([91.0], years=[2020]), hist).empty
    assert jump_warnings(_series([10.0], years=[2018]), _series([90.0, 91.0, 92.0])).empty  # 2 changes only


def test_jump_uses_floor_for_flat_history() -> None:
    hist = _series([100.0] * 5)
    assert jump_warnings(_series([99.0], years=[2020]), hist).empty  # within 3.5 x 2 % of level
    assert len(jump_warnings(_series([90.0], years=[2020]), hist)) == 1


# ------------------------------------------------------------------------------ aggregation
def _towns_panel(ind: str, values, nums=None, dens=None, year=2024, sex="T") -> pd.DataFrame:
    return pd.DataFrame({"indicator": ind, "year": year, "area": TOWNS, "sex": sex, "value": values,
                         "numerator": nums if nums is not None else np.nan,
                         "denominator": dens if dens is not None else np.nan})


def test_aggregate_weighted_by_denominators_hand_computed() -> None:
    # two big towns at 90 %, six small ones at 50 %: plain mean 60, weighted 2*900+6*50 / 2*1000+6*100
    nums = [900, 900, 50, 50, 50, 50, 50, 50]
    dens = [1000, 1000, 100, 100, 100, 100, 100, 100]
    vals = [100 * n / d for n, d in zip(nums, dens)]
    agg = aggregate_towns(_towns_panel("health.cervical_cancer_screening", vals, nums, dens))
    assert len(agg) == 1
    row = agg.iloc[0]
    assert row["area"] == DISTRICT and row["method"] == "ratio_of_sums" and row["n_towns"] == 8
    assert row["value"] == pytest.approx(100 * 2100 / 2600)  # 80.77, not the plain mean 60
    assert (row["numerator"], row["denominator"]) == (2100, 2600)


def test_aggregate_rare_events_per_100k() -> None:
    deaths = [1, 0, 0, 0, 0, 0, 0, 0]
    births = [1500, 1500, 1200, 800, 400, 300, 1200, 1600]
    vals = [1e5 * d / b for d, b in zip(deaths, births)]
    row = aggregate_towns(_towns_panel("health.maternal_mortality", vals, deaths, births)).iloc[0]
    assert row["value"] == pytest.approx(1e5 * 1 / 8500)


def test_aggregate_counts_summed_and_rates_without_counts_refused() -> None:
    p = pd.concat([
        _towns_panel("decision.street_leadership_women", [1, 2, 1, 0, 1, 1, 3, 1]),
        _towns_panel("health.two_cancers_knowledge", [90.0] * 8),  # no numerator/denominator
        _towns_panel("health.hiv_testing_pregnant", [99.0] * 7 + [98.0],
                     [99] * 7 + [98], [100] * 8).iloc[:7],  # one town missing
    ])
    agg = aggregate_towns(p)
    # a 街道-only target (area_kinds: street): the 3 streets' figures (1 + 2 + 1), never the 镇's
    assert agg[["indicator", "value", "method", "n_towns"]].values.tolist() == [
        ["decision.street_leadership_women", 4.0, "sum", 3]]
    skipped = agg.attrs["not_aggregated"].set_index("indicator")["reason"]
    assert "lacks numerator or denominator" in skipped["health.two_cancers_knowledge"]
    assert "only 7 of 8 towns" in skipped["health.hiv_testing_pregnant"]
    partial = aggregate_towns(p, require_all_towns=False)
    assert partial.set_index("indicator").loc["health.hiv_testing_pregnant", "n_towns"] == 7


def test_check_district_consistency() -> None:
    nums = [900, 900, 50, 50, 50, 50, 50, 50]
    dens = [1000, 1000, 100, 100, 100, 100, 100, 100]
    towns = _towns_panel("health.cervical_cancer_screening", [100 * n / d for n, d in zip(nums, dens)], nums, dens)
    good = pd.DataFrame({"indicator": ["health.cervical_cancer_screening"], "year": [2024], "area": [DISTRICT],
                         "value": [80.8]})
    res = check_district_consistency(pd.concat([towns, good]))
    assert res["consistent"].tolist() == [True]
    res = check_district_consistency(pd.concat([towns, good.assign(value=60.0)]))  # the plain mean: wrong
    assert res["consistent"].tolist() == [False]
    assert res["difference"].iloc[0] == pytest.approx(60 - 100 * 2100 / 2600)
    counts = _towns_panel("decision.street_leadership_women", [1, 2, 1, 0, 1, 1, 3, 1])
    dist = pd.DataFrame({"indicator": ["decision.street_leadership_women"], "year": [2024], "area": [DISTRICT],
                         "value": [9.0]})
    assert check_district_consistency(pd.concat([counts, dist]))["consistent"].tolist() == [False]


@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 500)), min_size=8, max_size=8))
@settings(max_examples=60, deadline=None)
def test_aggregate_is_the_denominator_weighted_mean(pairs) -> None:
    nums = [min(n, d) for n, d in pairs]
    dens = [d for _n, d in pairs]
    vals = [100 * n / d for n, d in zip(nums, dens)]
    row = aggregate_towns(_towns_panel("health.cervical_cancer_screening", vals, nums, dens)).iloc[0]
    weighted = sum(v * d for v, d in zip(vals, dens)) / sum(dens)
    assert row["value"] == pytest.approx(weighted)
    assert min(vals) - 1e-9 <= row["value"] <= max(vals) + 1e-9


# ------------------------------------------------------------------------------ --data: one rule for every command
DATA_COMMANDS = (["assess"], ["project"], ["backtest"], ["report"])


def _bad_panels(tmp_path) -> dict[str, Path]:
    gap = tmp_path / "gap.csv"
    gap.write_text("indicator,year,value\nhealth.maternal_mortality,2023,7.1\nhealth.maternal_mortality,2024,\n",
                   encoding="utf-8")
    txt = tmp_path / "panel.txt"
    txt.write_text("indicator,year,value\n", encoding="utf-8")
    xlsx = tmp_path / "bad.xlsx"
    pd.DataFrame({"indicator": ["health.x"], "year": [2024], "value": ["abc"]}).to_excel(xlsx, index=False)
    return {"gap": gap, "suffix": txt, "missing": tmp_path / "nope.csv", "xlsx": xlsx}


def test_every_data_option_refuses_the_same_files_the_same_way(tmp_path, capsys) -> None:
    from fzanalysis.cli import main

    for name, path in _bad_panels(tmp_path).items():
        seen = set()
        for cmd in DATA_COMMANDS:
            with pytest.raises(SystemExit) as exc:
                main([*cmd, "--data", str(path)])
            err = capsys.readouterr().err
            assert exc.value.code == 2, (cmd, name)
            message = err.strip().splitlines()[-1].split("error: argument --data/--data: ", 1)[-1] \
                if "--data/--data" in err else err.split("error: argument --data: ", 1)[-1]
            seen.add((exc.value.code, message.strip()))
        assert len(seen) == 1, (name, seen)  # same exit code and message for every command
        code, message = seen.pop()
        with pytest.raises(PanelError) as lib:
            as_panel(path)
        assert str(lib.value).splitlines()[-1].strip() in message  # the library's own message
        # the clerk's language leads (--lang is not parsed yet: both), a missing file is not
        # called a schema problem
        first = err.split("error: argument --data: ", 1)[-1]
        assert first.startswith("找不到数据文件" if name == "missing" else "数据文件"), first
        assert name != "missing" or "schema" not in first


def test_every_data_option_accepts_the_same_files(tmp_path) -> None:
    from fzanalysis.cli import build_parser

    good_csv = tmp_path / "good.csv"
    pd.DataFrame({"indicator": ["health.maternal_mortality"] * 2, "year": [2023, 2024],
                  "value": [7.1, 6.9]}).to_csv(good_csv, index=False)
    good_xlsx = tmp_path / "good.xlsx"
    pd.read_csv(good_csv).to_excel(good_xlsx, index=False)
    good_parquet = tmp_path / "good.parquet"
    pd.read_csv(good_csv).to_parquet(good_parquet)
    parser = build_parser()
    for path in (good_csv, good_xlsx, good_parquet):
        for cmd in DATA_COMMANDS:
            ns = parser.parse_args([*cmd, "--data", str(path)])
            assert ns.data == str(path)
            assert panel.load_for_cli(ns.data).frame["value"].tolist() == [7.1, 6.9]
    assert panel.load_for_cli(None).synthetic  # no --data: the demo panel


def test_assess_and_project_run_on_a_good_file(tmp_path, capsys) -> None:
    from fzanalysis.cli import main

    good = tmp_path / "good.csv"
    pd.DataFrame({"indicator": ["health.maternal_mortality"] * 6, "year": range(2019, 2025),
                  "value": [9.0, 8.5, 8.1, 7.9, 7.4, 7.0]}).to_csv(good, index=False)
    assert main(["assess", "--data", str(good), "--format", "csv"]) == 0
    assert "health.maternal_mortality" in capsys.readouterr().out
    assert main(["project", "--data", str(good), "--format", "csv"]) == 0
    assert "health.maternal_mortality" in capsys.readouterr().out
