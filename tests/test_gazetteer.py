"""The gazetteer: codes, figures with their sources, lookups of name variants, errors, CLI."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from fzanalysis import codes, gazetteer
from fzanalysis.exceptions import GazetteerError

#: The official code of 从化区, written here once to check that the gazetteer yields it.
DISTRICT_CODE = "440117"

OFFICIAL = {
    "440117001": "街口街道",
    "440117002": "江埔街道",
    "440117003": "城郊街道",
    "440117103": "温泉镇",
    "440117104": "良口镇",
    "440117107": "吕田镇",
    "440117111": "太平镇",
    "440117113": "鳌头镇",
}
CENSUS_2010 = {
    "440117001": 96_846, "440117002": 95_843, "440117003": 79_085, "440117103": 55_194,
    "440117104": 32_829, "440117107": 23_430, "440117111": 94_369, "440117113": 111_308,
}


def test_codes_names_kinds() -> None:
    df = gazetteer.load()
    assert df["code"].tolist() == [DISTRICT_CODE, *OFFICIAL]
    assert dict(zip(df["code"], df["name_zh"], strict=True)) == {"440117": "从化区", **OFFICIAL}
    assert (df["stat_code"] == df["code"].str.ljust(12, "0")).all()
    kinds = dict(zip(df["code"], df["kind"], strict=True))
    assert kinds["440117"] == "district"
    assert [kinds[c] for c in OFFICIAL] == ["street"] * 3 + ["town"] * 5
    assert (df.loc[df["kind"] != "district", "parent"] == DISTRICT_CODE).all()
    assert df.loc[df["code"] == "440117001", "name_en"].item() == "Jiekou Subdistrict"
    t = gazetteer.towns()
    assert t["code"].tolist() == list(OFFICIAL) and len(t) == 8
    assert gazetteer.codes() == [DISTRICT_CODE, *OFFICIAL]
    assert gazetteer.codes(include_district=False) == list(OFFICIAL)


def test_population_figures_and_sources() -> None:
    df = gazetteer.load().set_index("code")
    d = df.loc[DISTRICT_CODE]
    assert (d["population"], d["population_female"], d["population_year"]) == (717_684, 341_763, 2020)
    assert "2020" in d["population_source"]
    for code, pop in CENSUS_2010.items():
        assert df.at[code, "population"] == pop
        assert df.at[code, "population_year"] == 2010
        assert "2010" in df.at[code, "population_source"]
        # no female figure for towns: the source gives none and none is invented
        assert pd.isna(df.at[code, "population_female"])
    assert df["population"].dtype == "Int64"


def test_areas_have_sources_and_say_they_disagree() -> None:
    df = gazetteer.load()
    assert (df["area_km2"] > 0).all()
    assert (df["area_source"].str.len() > 0).all()
    towns_total = df.loc[df["kind"] != "district", "area_km2"].sum()
    district = df.loc[df["kind"] == "district", "area_km2"].item()
    # the published town areas do not add up to the district's; the file says so
    assert towns_total != pytest.approx(district, rel=0.01)
    assert "disagree" in " ".join(df["note"])


def test_seats_are_approximate_points_inside_the_district() -> None:
    df = gazetteer.load()
    assert df["seat_approximate"].all()
    assert df["seat_lon"].between(113.25, 114.10).all()
    assert df["seat_lat"].between(23.35, 24.00).all()
    # north-south order of the well-known seats: Taiping (south) < Jiekou < Liangkou < Lütian
    lat = df.set_index("code")["seat_lat"]
    assert lat["440117111"] < lat["440117001"] < lat["440117104"] < lat["440117107"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("街口街道", "440117001"), ("街口街", "440117001"), ("街口", "440117001"),
        ("Jiekou", "440117001"), ("jiekou subdistrict", "440117001"),
        ("江埔街道", "440117002"), ("江浦", "440117002"), ("江浦街道", "440117002"),
        ("Jiangbu", "440117002"), ("城郊街", "440117003"), ("溫泉鎮", "440117103"),
        ("温 泉 镇", "440117103"), ("Lütian", "440117107"), ("Lutian Town", "440117107"),
        ("lvtian", "440117107"), ("太平镇人民政府", "440117111"), ("从化区鳌头镇", "440117113"),
        ("广州市从化区良口镇", "440117104"),
        ("从化区", "440117"), ("从化", "440117"), ("Conghua District", "440117"), ("全区", "440117"),
        ("440117", "440117"), ("440117001", "440117001"), ("440117001000", "440117001"),
        ("440117000000", "440117"), ("４４０１１７１１３", "440117113"), ("　城郊街道　", "440117003"),
        (440117107, "440117107"), (440117.0, "440117"),
    ],
)
def test_lookup_variants(text: object, code: str) -> None:
    assert gazetteer.lookup(text) == code


@pytest.mark.parametrize("bad", ["街口镇x", "江口", "Jiekuo", "从花区"])
def test_lookup_failure_suggests_and_lists_valid_names(bad: str) -> None:
    with pytest.raises(LookupError) as info:
        gazetteer.lookup(bad)
    msg = str(info.value)
    assert repr(bad) in msg and "did you mean" in msg
    for code, name in OFFICIAL.items():
        assert f"{code} {name}" in msg


@pytest.mark.parametrize("bad", ["440117999", "4401170", "12345", "440118001000"])
def test_lookup_unknown_codes(bad: str) -> None:
    with pytest.raises(LookupError, match="no area of 从化区 matches.*Valid names: 440117 从化区"):
        gazetteer.lookup(bad)


def test_lookup_nothing_close() -> None:
    with pytest.raises(LookupError) as info:
        gazetteer.lookup("北京")
    assert "Valid names" in str(info.value)


def test_names() -> None:
    assert gazetteer.name("440117001") == "街口街道"
    assert gazetteer.name("440117001", "en") == "Jiekou Subdistrict"
    assert gazetteer.name("江浦", "zh", short=True) == "江埔"
    assert gazetteer.name("440117107", "en", short=True) == "Lütian"
    assert gazetteer.name("440117", "en") == "Conghua District"
    with pytest.raises(ValueError, match="lang"):
        gazetteer.name("440117", "fr")  # type: ignore[arg-type]


def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    text = gazetteer._default_path().read_text("utf-8")
    assert old in text
    p = tmp_path / "towns.csv"
    p.write_text(text.replace(old, new, 1), "utf-8")
    return p


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (",street,440117,96846", ",village,440117,96846", r"towns.csv:3: column kind: expected one of"),
        ("440117113,440117113000", "440117113,440117113001", r"towns.csv:10: column stat_code"),
        ("113.3900,23.6200", "123.3900,23.6200", r"towns.csv:10: column seat_lon: expected a longitude"),
        (",95843,,2010", ",many,,2010", r"towns.csv:4: column population: expected a whole number"),
        ("江埔街道;江埔街;江埔;江浦", "江埔街道;江埔街;江埔;街口", r"column aliases: '街口' also names"),
    ],
)
def test_bad_gazetteer_file(tmp_path: Path, old: str, new: str, expected: str) -> None:
    with pytest.raises(GazetteerError, match=expected):
        gazetteer.load(_copy_with(tmp_path, old, new))


def test_the_district_is_the_row_of_kind_district(tmp_path: Path) -> None:
    """No code is hard-wired: the district is read from the file, and its checks hold."""
    assert codes.district() == DISTRICT_CODE == gazetteer.codes()[0]
    # no district row
    with pytest.raises(GazetteerError, match=r"expected exactly one row of kind 'district'.*got 0"):
        gazetteer.load(_copy_with(tmp_path, ",district,440100,", ",town,440100,"))
    # two district rows
    with pytest.raises(GazetteerError, match=r"expected exactly one row of kind 'district'.*got 2"):
        gazetteer.load(_copy_with(tmp_path, ",street,440117,96846", ",district,440117,96846"))
    # a town whose parent is not the district
    with pytest.raises(GazetteerError, match=r"towns.csv:3: column parent: expected 440117, got '440118'"):
        gazetteer.load(_copy_with(tmp_path, ",street,440117,96846", ",street,440118,96846"))
    # another district: its code is taken from the file, towns must carry it as prefix and parent
    text = gazetteer._default_path().read_text("utf-8").replace("440117", "440118")
    other = tmp_path / "other.csv"
    other.write_text(text, "utf-8")
    assert gazetteer.codes(path=other)[:2] == ["440118", "440118001"]
    assert gazetteer.lookup("440118000000", path=other) == "440118"
    assert gazetteer.codes(include_district=False, path=other)[0] == "440118001"


def test_cli_towns(capsys: pytest.CaptureFixture[str]) -> None:
    from fzanalysis.cli import main

    assert main(["towns"]) == 0
    out = capsys.readouterr().out
    assert "440117113" in out and "鳌头镇" in out and "717,684" in out and "2010" in out
    assert main(["towns", "--format", "csv"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out), dtype={"code": str})
    assert df["code"].tolist() == [DISTRICT_CODE, *OFFICIAL]
    assert main(["towns", "--lookup", "江浦"]) == 0
    assert capsys.readouterr().out.startswith("440117002\t江埔街道\tJiangpu Subdistrict")
    assert main(["towns", "--lookup", "江口"]) == 1
    assert "did you mean" in capsys.readouterr().err
