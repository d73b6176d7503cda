"""Plans as data: the Conghua plan and the national outline, and the active plan."""
from __future__ import annotations

import pytest

from fzanalysis import codes, config, labels, plan
from fzanalysis.exceptions import ConfigError
from fzanalysis.panel import as_panel


def test_both_plans_load_with_their_catalogue_and_panel():
    assert set(plan.available()) >= {"conghua", "china"}
    for pid in ("conghua", "china"):
        p = plan.load(pid)
        cat = p.catalog()
        panel = as_panel(p.panel(), catalog=cat)
        assert len(cat) > 0 and len(panel) > 0
        assert set(panel.frame["indicator"]) <= set(cat["id"])
        assert panel.synthetic == p.synthetic


def test_conghua_plan_area_is_the_gazetteer_district():
    towns = config.read_csv("towns.csv")
    assert towns.loc[towns["kind"] == "district", "code"].tolist() == [plan.load("conghua").area_code]
    assert plan.load("conghua").has_towns and not plan.load("china").has_towns


def test_active_plan_drives_the_area_code_and_its_name():
    assert codes.district() == "440117"
    with plan.use("china") as p:
        assert p.id == "china"
        assert codes.district() == "100000"
        assert labels.area_label("100000") == "全国"
        assert plan.active().title("zh").startswith("《中国妇女发展纲要")
    assert codes.district() == "440117"
    assert labels.area_label("440117", "en") == "Conghua District"


def test_unknown_plan_names_the_available_ones():
    with pytest.raises(ConfigError, match=r"unknown plan 'guangdong'; expected one of \[.*'china'.*'conghua'"):
        plan.load("guangdong")


def test_a_report_provenance_hashes_the_panel_the_plan_reads():
    """The national report's banner and provenance.json named the demo panel's file and checksum."""
    from fzanalysis import demo
    from fzanalysis.report import runner

    assert runner.data_files(None) == [demo.demo_path()]
    with plan.use("china") as p:
        files = runner.data_files(None)
        assert files[0] == p.panel_path and {f.name for f in files} == {"panel.csv", "sources.csv", "catalog.csv"}
        assert all(f.parent.name == "reference" and f.is_file() for f in files)


def test_sentences_name_the_active_plan_and_its_area_in_its_own_words():
    """The national report said 规划7项主要目标 (Conghua's word for its plan; the outline is a 纲要) and
    各指标达标状态（全区） (the whole district) for national figures."""

    counts = {"n": 7, "met": 3, "not_met": 2, "other": 2, "judged": 5, "rate": "60.0%"}
    for pid, short, whole, whole_en in (("conghua", "规划", "全区", "district"), ("china", "纲要", "全国", "national")):
        with plan.use(pid) as p:
            assert (p.short_zh, p.whole_zh, p.whole_en) == (short, whole, whole_en)
            assert labels.label("report", "attainment_sentence").format(**counts).startswith(f"{short}7项监测目标中")
            assert labels.label("report", "headline") == f"各指标达标状态（{whole}）"
            assert labels.label("report", "headline", "en") == f"Status by indicator ({whole_en})"
            assert labels.label("narrative_text", "target_lead").format(target="40%以上") == f"{short}目标为40%以上"
            assert labels.label("docx", "table_appendix") == f"{short}监测目标一览"
    # no sentence of the reports' labels is left with Conghua's words for the national outline (the
    # submission messages of data/labels/data.yaml are about Conghua's towns: the outline takes none)
    submissions = set(config.read_yaml("labels", "data.yaml"))
    with plan.use("china"):
        table = config.label_table()
        for kind, entries in table.items():
            if kind in submissions:
                continue
            for code in entries:
                text = labels.label(kind, code)
                assert "规划" not in text and "全区" not in text and "{plan_" not in text, (kind, code, text)
