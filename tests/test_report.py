"""The report runner: params, undeclared parameters, failures that never cost the last good report.

The notebooks here are tiny ones written by the tests (one prints, one raises), so the
behaviour of the runner is tested in seconds; the real notebooks are in test_notebooks.py.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from toy_notebooks import write_notebook

from fzanalysis import labels, narrative, report
from fzanalysis.report import folders, runner, tables
from fzanalysis.report import html as report_html

PARAMS_CELL = (
    'year: int = 2024  # report year\n'
    'kind: str = "annual"  # report kind\n'
    'lang: str = "zh"  # language\n'
    'data_path: str = ""  # panel file, empty: demo data\n'
    'greeting: str = "hello"  # what the notebook prints'
)


def _write_nb(path: Path, body: str, *, params: str = PARAMS_CELL) -> Path:
    return write_notebook(path, body, params=params)


@pytest.fixture
def toy(tmp_path: Path) -> dict[str, Path]:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    ok = _write_nb(nbs / "ok.ipynb", 'print(greeting, year, lang)\nimport pandas as pd\npd.DataFrame({"a": [1]})')
    bad = _write_nb(nbs / "bad.ipynb", 'raise RuntimeError("deliberate failure for the test")')
    return {"dir": nbs, "ok": ok, "bad": bad, "out": tmp_path / "reports"}


def _params(*entries: dict) -> dict:
    return {"year": 2024, "kind": "annual", "notebooks": list(entries)}


# --------------------------------------------------------------------- params files


def test_report_kinds_are_templates_and_every_year_resolves():
    """One file per kind; annual for every plan year, midterm for 2025, final for 2030."""
    assert sorted(p.name for p in report.PARAMS_DIR.glob("*.yaml")) == ["annual.yaml", "final.yaml", "midterm.yaml"]
    from fzanalysis.labels import domain_order

    plan = [(year, "annual") for year in report.PLAN_YEARS] + [(2025, "midterm"), (2030, "final")]
    for year, kind in plan:
        spec, source = report.resolve_params(year, kind)
        assert spec["year"] == year and spec["kind"] == kind and source.endswith(f"{kind}.yaml")
        jobs = report.plan_jobs(spec, year=year, lang="zh", data_path=None)
        for job in jobs:
            report.check_parameters(job.source, job.parameters)
            assert job.parameters["kind"] == kind
        stems = [j.stem for j in jobs]
        # the domains come from data/domains.csv, in the plan's order
        assert [s.removeprefix("02_domain-") for s in stems if s.startswith("02_domain-")] == list(domain_order())
        assert ("05_evaluation" in stems) == (kind != "annual")
    with pytest.raises(report.ReportError, match=r"midterm report is for year\(s\) \[2025\], not 2022"):
        report.resolve_params(2022, "midterm")
    with pytest.raises(report.ReportError, match="kind must be one of"):
        report.params_file(2024, "yearly")


def test_a_per_year_file_replaces_the_kind_only_for_its_year(tmp_path: Path):
    for name in ("annual.yaml", "midterm.yaml"):
        (tmp_path / name).write_text((report.PARAMS_DIR / name).read_text("utf-8"), encoding="utf-8")
    (tmp_path / "2024_midterm.yaml").write_text(
        "kind: midterm\nyear: 2024\nnotebooks:\n  - notebook: 01_overview.ipynb\n", encoding="utf-8")
    assert report.params_file(2024, "midterm", params_dir=tmp_path).name == "2024_midterm.yaml"
    assert report.params_file(2023, "annual", params_dir=tmp_path).name == "annual.yaml"
    spec, _ = report.resolve_params(2024, "midterm", params=report.params_file(2024, "midterm", params_dir=tmp_path))
    assert [e["notebook"] for e in spec["notebooks"]] == ["01_overview.ipynb"]


def test_bad_params_file_names_file_and_entry(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text("year: 2024\nkind: annual\nnotebooks:\n  - notebook: a.ipynb\n  - note: b.ipynb\n")
    with pytest.raises(report.ReportError, match=r"p\.yaml: notebooks entry 2"):
        report.read_params(path)
    path.write_text("year: 2024\nkind: yearly\nnotebooks: []\n")
    with pytest.raises(report.ReportError, match="'kind' must be one of"):
        report.read_params(path)
    with pytest.raises(report.ReportError, match="set by the runner"):
        report.validate_params(_params({"notebook": "a.ipynb", "parameters": {"year": 2023}}))


def test_undeclared_parameter_is_an_error_not_a_warning(toy):
    with pytest.raises(report.ReportParameterError, match=r"\['greting'\] not declared"):
        report.check_parameters(toy["ok"], {"year": 2024, "greting": "typo"})
    # through run_report: raised before anything is executed or written
    with pytest.raises(report.ReportParameterError, match="greting"):
        report.run_report(2024, out_root=toy["out"], progress=False, notebooks_dir=toy["dir"],
                          params=_params({"notebook": "ok.ipynb", "parameters": {"greting": "x"}}))
    assert not toy["out"].exists() or not any(toy["out"].iterdir())


def test_notebook_without_parameters_cell_is_rejected(toy):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("year = 2024")]
    path = toy["dir"] / "untagged.ipynb"
    nbformat.write(nb, str(path))
    with pytest.raises(report.ReportParameterError, match="no cell tagged 'parameters'"):
        report.check_parameters(path, {"year": 2024})


def test_foreach_expands_and_common_parameters_are_added(toy):
    jobs = report.plan_jobs(
        _params({"notebook": "ok.ipynb", "foreach": {"greeting": ["hi", "ciao"]}}),
        year=2024, lang="en", data_path=None, notebooks_dir=toy["dir"],
    )
    assert [j.stem for j in jobs] == ["ok-hi", "ok-ciao"]
    assert jobs[1].parameters == {"year": 2024, "kind": "annual", "lang": "en", "data_path": "", "greeting": "ciao"}


def test_output_folder_names():
    assert report.output_folder_name(2024) == "2024"
    assert report.output_folder_name(2025, "midterm") == "2025-midterm"
    assert report.output_folder_name(2030, "final", "en") == "2030-final-en"


# ------------------------------------------------------------------ atomic replace


def test_swap_keeps_old_until_new_is_in_place(tmp_path: Path):
    final, tmp = tmp_path / "2024", tmp_path / ".tmp-2024-1"
    final.mkdir()
    (final / "index.html").write_text("old")
    tmp.mkdir()
    (tmp / "index.html").write_text("new")
    folders.put_in_place(tmp, final)
    assert (final / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024"]


def test_crash_between_renames_is_repaired(tmp_path: Path):
    (tmp_path / ".old-2024-en-998").mkdir()  # another report's leftover is not taken
    old = tmp_path / ".old-2024-999"
    old.mkdir()
    (old / "index.html").write_text("last good")
    folders.repair(tmp_path / "2024")
    assert (tmp_path / "2024" / "index.html").read_text() == "last good"


# -------------------------------------------------------------- end-to-end (toy nbs)


def test_failed_notebook_keeps_previous_report(toy, small_panel):
    """One notebook raises: the others run, it is marked failed, exit code 1, last good report intact."""
    out = toy["out"]
    good = report.run_report(2024, data=small_panel, out_root=out, progress=False, notebooks_dir=toy["dir"],
                             params=_params({"notebook": "ok.ipynb"}))
    assert good.ok and good.exit_code == 0, good.runs
    assert good.out_dir == out / "2024"
    before = {p.name: p.read_bytes() for p in (out / "2024").iterdir()}
    assert {"ok.ipynb", "ok.html", "index.html", "status.csv", "status.xlsx", "provenance.json"} <= set(before)

    res = report.run_report(2024, data=small_panel, out_root=out, progress=False, notebooks_dir=toy["dir"],
                            jobs=2, params=_params({"notebook": "ok.ipynb", "parameters": {"greeting": "again"}},
                                                   {"notebook": "bad.ipynb"}))
    assert not res.ok and res.exit_code == 1
    assert res.failed == ["bad"]
    # the previous report is untouched, byte for byte
    assert {p.name: p.read_bytes() for p in (out / "2024").iterdir()} == before
    # the failed run is kept for diagnosis
    assert res.out_dir.name.startswith(".failed-2024-") and res.out_dir.is_dir()
    index = (res.out_dir / "index.html").read_text("utf-8")
    assert "失败" in index and "deliberate failure" in index
    bad_nb = nbformat.read(str(res.out_dir / "bad.ipynb"), as_version=4)
    errors = [o for c in bad_nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "RuntimeError"
    assert bad_nb.metadata["fzanalysis"]["failed"] is True
    assert "deliberate failure" in (res.out_dir / "bad.html").read_text("utf-8")
    # the notebook that did not fail still ran, with its parameter
    ok_nb = nbformat.read(str(res.out_dir / "ok.ipynb"), as_version=4)
    assert "again 2024 zh" in "".join(o.get("text", "") for o in ok_nb.cells[-1].outputs)
    # the CLI reports the failure with a non-zero exit code
    from fzanalysis.cli import main

    code = main(["report", "--year", "2024", "--data", str(small_panel), "--out", str(out), "--no-progress",
                 "--params", str(_yaml(toy["dir"] / "fail.yaml", toy["bad"]))])
    assert code == 1
    assert {p.name: p.read_bytes() for p in (out / "2024").iterdir()} == before


def _yaml(path: Path, notebook: Path) -> Path:
    path.write_text(f"year: 2024\nkind: annual\nnotebooks:\n  - notebook: {notebook}\n", encoding="utf-8")
    return path


def test_successful_run_replaces_report_and_records_provenance(toy, small_panel):
    out = toy["out"]
    (out / "2024").mkdir(parents=True)
    (out / "2024" / "stale.txt").write_text("from an older run")
    res = report.run_report(2024, data=small_panel, out_root=out, progress=False, notebooks_dir=toy["dir"],
                            params=_params({"notebook": "ok.ipynb"}))
    assert res.ok
    assert not (out / "2024" / "stale.txt").exists()
    # no tmp/old folders left; the results store and chapter cache live in .cache beside the reports
    assert sorted(p.name for p in out.iterdir()) == [".cache", ".lock-.cache", ".lock-2024", "2024"]
    prov = json.loads((out / "2024" / "provenance.json").read_text("utf-8"))
    assert prov["package_version"] and prov["git_commit"]
    assert prov["data_files"][0]["sha256"] == runner.sha256_file(small_panel)
    assert prov["synthetic"] is True and prov["data_kind"] == "demo"
    assert prov["notebooks"][0]["parameters"] == {"year": 2024, "kind": "annual", "lang": "zh",
                                                  "data_path": str(small_panel.resolve())}
    assert prov["notebooks"][0]["defaults"] == {"greeting": '"hello"'}  # the notebook's own default, recorded
    html = (out / "2024" / "ok.html").read_text("utf-8")
    assert "演示数据" in html and prov["data_files"][0]["sha256"][:16] in html
    assert "print(greeting" not in html  # code cells are excluded
    index = (out / "2024" / "index.html").read_text("utf-8")
    assert "演示数据" in index and 'href="ok.html"' in index
    # the headline table's warnings cells keep each warning's words on one line on screen
    from fzanalysis import catalog as catalog_mod

    assert index.count('<td class="warnings">') == len(catalog_mod.load())
    assert "table.headline td.warnings { word-break: keep-all; }" in index
    assert (out / "2024" / "status.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads Chinese
    status = pd.read_csv(out / "2024" / "status.csv", encoding="utf-8-sig")
    # every catalogue indicator is listed; the three in the panel have a status, the rest "no_data"
    from fzanalysis import catalog

    assert set(status["indicator"]) == set(catalog.load()["id"])
    assert (status["status"] != "no_data").sum() == 3
    assert set(status["status"]) <= {"met", "not_met", "cannot_judge", "no_data"}
    assert status["provenance"].str.contains(prov["git_commit"][:7], regex=False).all()
    xlsx = pd.read_excel(out / "2024" / "status.xlsx", sheet_name=None)
    assert list(xlsx) == ["状态", "代码", "长表（数据透视用）", "来源"] and len(xlsx["状态"]) == len(status)
    assert {"2024-report.docx", "status.xlsx", "status.csv"} <= set(prov["outputs"])


def test_report_reads_the_one_judgement_table(small_panel):
    """The report's judgement is fzanalysis.evaluate's: one row per indicator, the judged figure."""
    from fzanalysis import catalog

    ctx = report.setup(year=2024, data_path=small_panel, show=False)
    j = ctx.judgement
    assert j["indicator"].tolist() == catalog.load()["id"].tolist()
    assert ctx.assessed["judged"].sum() == len(j)
    present = j[j["status"] != "no_data"]
    assert len(present) == 3 and present["probability"].between(0, 1).all() and present["projected"].notna().all()
    # the three series rise 0.8 a year: the change on the previous year is 0.8
    assert present["change_1y"].round(6).eq(0.8).all()


def test_kernel_name_env_override(monkeypatch):
    monkeypatch.setenv("FZANALYSIS_KERNEL", "mykernel")
    assert runner.kernel_name() == "mykernel"
    monkeypatch.delenv("FZANALYSIS_KERNEL")
    assert runner.kernel_name() in {"fzanalysis", "python3"}


def test_assessment_year_falls_back_to_latest_year_with_data():
    panel = pd.DataFrame({"indicator": ["a"] * 3, "year": [2022, 2023, 2024], "value": [1.0, 2.0, None]})
    assert report.assessment_year(panel, 2023) == 2023
    assert report.assessment_year(panel, 2024) == 2023  # 2024 row has no value
    assert report.assessment_year(panel, 2025) == 2023
    with pytest.raises(report.ReportError, match="no values in or before 2021"):
        report.assessment_year(panel, 2021)
    note = report_html._data_note(2025, {"data_years": [2015, 2024]}, "zh")
    assert "2025年数据尚未报送" in note and "最近年份2024年" in note
    assert report_html._data_note(2024, {"data_years": [2015, 2024]}, "zh") == ""


def test_interrupted_run_keeps_previous_report(toy, small_panel, monkeypatch):
    """Ctrl-C during execution: the partial output goes to .failed-…, the last good report stays."""
    out = toy["out"]
    (out / "2024").mkdir(parents=True)
    (out / "2024" / "index.html").write_text("last good report")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_execute_all", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.run_report(2024, data=small_panel, out_root=out, progress=False, notebooks_dir=toy["dir"],
                          params=_params({"notebook": "ok.ipynb"}))
    assert (out / "2024" / "index.html").read_text() == "last good report"
    failed = [p for p in out.iterdir() if p.name.startswith(".failed-2024-")]
    assert len(failed) == 1 and (failed[0] / "INTERRUPTED.txt").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]


def test_drafts_markdown_groups_by_domain_in_plan_order():
    drafts = pd.DataFrame({
        "indicator": ["decision.x", "health.life_expectancy"], "area": ["440117"] * 2, "sex": ["T"] * 2,
        "domain": ["decision", "health"], "text": ["决策句。", "健康句。"],
    })
    md = tables.drafts_markdown(drafts, lang="zh").data
    assert md == "### 妇女与健康\n- 健康句。\n### 妇女参与决策和管理\n- 决策句。"
    assert tables.drafts_markdown(drafts, lang="zh", by_domain=False).data == "- 健康句。\n- 决策句。"


def test_coverage_table_lists_every_indicator_and_unknown_ones():
    from fzanalysis import catalog

    cat = catalog.load()
    first = cat["id"].iloc[0]
    panel = pd.DataFrame({
        "indicator": [first, first, first, "health.not_in_catalogue"],
        "year": [2023, 2024, 2024, 2024],
        "area": ["440117", "440117", "440117001", "440117"],
        "sex": ["T", "T", "T", "T"],
        "value": [1.0, 2.0, 3.0, 4.0],
    })
    cov = tables.coverage_table(panel, cat, year=2024, lang="zh")
    assert len(cov) == len(cat) + 1  # nothing dropped: the unknown indicator is listed too
    row = cov.set_index("indicator").loc[first]
    assert row["reported"] and row["n_towns"] == 1 and row["n_years"] == 2 and row["first_year"] == 2023
    assert cov.set_index("indicator").loc["health.not_in_catalogue", "name"] == ""
    assert int(cov["reported"].sum()) == 2
    styled = tables.table(cov.head(3), "zh").to_html()
    assert "2023" in styled and "2,023" not in styled and "是" in styled


def test_only_the_newest_failed_runs_are_kept(tmp_path: Path):
    for stamp in ["20240101T000000Z", "20240102T000000Z", "20240103T000000Z"]:
        (tmp_path / f".failed-2024-{stamp}").mkdir()
    (tmp_path / ".failed-2024-en-20240101T000000Z").mkdir()
    gone = runner.prune_failed(tmp_path, "2024", keep=2)
    assert [p.name for p in gone] == [".failed-2024-20240101T000000Z"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".failed-2024-20240102T000000Z", ".failed-2024-20240103T000000Z", ".failed-2024-en-20240101T000000Z"]


@pytest.mark.slow
def test_china_plan_report_runs_on_the_official_figures(tmp_path):
    """`fzanalysis report --plan china` runs the whole pipeline on real national figures."""
    from fzanalysis.cli import main

    code = main(["report", "--plan", "china", "--year", "2024", "--workdir", str(tmp_path), "--jobs", "2",
                 "--no-progress"])
    assert code == 0
    out = tmp_path / "reports" / "2024-china"
    status = pd.read_csv(out / "status.csv", dtype={"area": str}, encoding="utf-8-sig")
    assert set(status["area"]) == {"100000"} and not status["synthetic"].any()
    assert "演示数据" not in (out / "index.html").read_text("utf-8")
    assert (out / "2024-report.docx").is_file()
    # the national outline's area has no towns: no page speaks of towns (镇街) or of "the district"
    pages = {p.name: p.read_text("utf-8") for p in out.glob("*.html")}
    assert len(pages) > 3
    assert not [name for name, html in pages.items() if "镇街" in html or "全区" in html]


def test_projection_table_shows_each_targets_judged_figure():
    """The projections chapter lists one row per target, the figure the target is about: never
    the men's row of a women's target judged against the women's target (issue 11)."""
    from fzanalysis.report import tables

    ctx = report.setup(year=2024, show=False)   # the demo data: F, M and T rows for some targets
    j = ctx.judgement
    shown = tables.projection_table(j)
    assert len(shown) == len(j) == j["indicator"].nunique()
    women = (j["subject_sex"] == "F").to_numpy()
    assert women.any() and (shown["sex"][women] == "女").all() and (shown["sex"][~women] == "").all()
    district = ctx.projected[ctx.projected["area"].astype(str) == ctx.district]
    assert (district["sex"] == "M").any()   # the men's rows exist and are left out
    # a target without any figure (the national outline's cervical screening) leaves the year empty;
    # the other years still read 2020, not 2020.00 (a float column)
    no_figure = j.assign(year=j["year"].where(j.index != j.index[0]), value=j["value"].where(j.index != j.index[0]))
    html = tables.table(tables.projection_table(no_figure), "zh").to_html()
    years = sorted({str(int(y)) for y in no_figure["year"].dropna()})
    assert all(f">{y}<" in html for y in years) and not any(f"{y}.0" in html for y in years)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_check_tables_show_names_never_codes(lang):
    """The data-quality chapter's jump and district-consistency tables name indicators, towns and
    aggregation methods; no indicator id, area code or English column name is left in Chinese."""
    import re

    from fzanalysis import catalog, demo, labels
    from fzanalysis import panel as fzpanel

    cat = catalog.load()
    frame = fzpanel.as_panel(demo.load(), catalog=cat).frame
    jumps = fzpanel.jump_warnings(frame[frame["year"] == 2024], frame[frame["year"] < 2024])
    assert len(jumps) > 0  # the demo data carry flagged jumps (district and town rows)
    # a district that disagrees with its towns: change one district count
    cons_in = frame[frame["year"] == 2024].copy()
    compared = fzpanel.check_district_consistency(cons_in, cat)
    assert len(compared) > 0
    first = compared.iloc[0]
    row = cons_in.index[(cons_in["indicator"] == first["indicator"]) & (cons_in["sex"] == first["sex"])
                        & (cons_in["area"] == "440117")][0]
    cons_in.loc[row, "value"] += 5 + 10 * abs(first["submitted"])
    cons = fzpanel.check_district_consistency(cons_in, cat)
    bad = cons[~cons["consistent"]]
    assert len(bad) >= 1
    for found in (jumps, bad):
        shown = tables.check_table(found, cat, lang=lang)
        assert {"indicator", "area", "sex"}.isdisjoint(shown.columns)
        names = set(cat[f"name_{lang}"])
        assert all(any(str(n).startswith(k) for k in names) for n in shown["name"])
        html = tables.table(shown, lang).to_html()
        assert not re.search(r"\b[a-z_]+\.[a-z_]{3,}\b", html.split("<tbody>")[1])  # no indicator ids
        assert "44011" not in html
        if lang == "zh":
            assert ">scale<" not in html and ">method<" not in html and ">tolerance<" not in html
    shown = tables.check_table(bad, cat, lang=lang)
    assert set(shown["method"]) <= {labels.label("aggregation_method", m, lang) for m in ("sum", "ratio_of_sums")}
    # figures in the indicator's digits: a count jumping from 1 to 3 is 1 → 3, not 1.00 → 3.00
    counts = tables.check_table(jumps[jumps["indicator"].map(cat.set_index("id")["unit"])
                                      .isin(["count", "count_per_year"])], cat, lang=lang)
    assert len(counts)
    assert all("." not in str(v) for c in ("value", "previous_value", "change") for v in counts[c])
    assert all(str(v).count(".") == 1 for v in counts["scale"])


def test_english_coverage_table_has_no_chinese():
    """The English data-quality page listed '卫健局' and 'Total、Female、Male' in its coverage table."""
    import re

    from fzanalysis import demo, plan
    from fzanalysis import panel as fzpanel

    for pid in ("conghua", "china"):
        with plan.use(pid) as p:
            cat = p.catalog()
            frame = fzpanel.as_panel(p.panel() if pid == "china" else demo.load(), catalog=cat).frame
            shown = tables.coverage_table(frame, cat, year=2024, lang="en").drop(columns=["name", "indicator"])
            html = tables.table(shown, "en").to_html()
            assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", html), pid
            assert "Total; Female; Male" in html or pid == "china"
            zh = tables.coverage_table(frame, cat, year=2024, lang="zh")
            assert set(zh["department"]) - {""} <= set(cat["department"])  # the Chinese page keeps the names


def test_a_plan_without_towns_runs_no_town_chapter_and_writes_no_town_section(tmp_path):
    """The national report had a 镇街差距 chapter and a 二、镇街目标实现情况 section saying there were no town data."""
    from docx import Document

    from fzanalysis import plan
    from fzanalysis.report import docx as report_docx
    from fzanalysis.report import params as report_params

    for kind in ("annual", "midterm", "final"):
        spec = report_params.read_params(report_params.params_file(2025, kind))
        stems = {j.stem for j in report_params.plan_jobs(spec, year=2025, lang="zh", data_path=None)}
        assert "03_towns" in stems
        with plan.use("china"):
            stems = {j.stem for j in report_params.plan_jobs(spec, year=2025, lang="zh", data_path=None)}
        assert "03_towns" not in stems and "01_overview" in stems
    with pytest.raises(report.ReportError, match="'when' must be one of"):
        report_params.validate_params({"kind": "annual", "notebooks": [{"notebook": "a.ipynb", "when": "provinces"}]},
                                      source="x.yaml")
    with plan.use("china"):
        doc = Document(str(report_docx.write_docx(report.setup(year=2024, show=False), tmp_path / "r.docx")))
    heads = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert heads[:2] == ["一、各领域目标实现情况", "二、预警指标"] and not any("镇街" in h for h in heads)


def test_coverage_table_counts_towns_only_for_a_plan_with_towns():
    """The national data-quality page had a 镇街数 (towns) column, all zeros: the outline's area has no towns."""
    from fzanalysis import catalog, demo, labels, plan
    from fzanalysis import panel as fzpanel

    with plan.use("china") as p:
        cat = p.catalog()
        frame = fzpanel.as_panel(p.panel(), catalog=cat).frame
        assert "n_towns" not in tables.coverage_table(frame, cat, year=2024).columns
        assert labels.label("xlsx_area_level", "district", "en") == "National"   # {Plan_whole}, capitalised
        assert labels.label("xlsx_role", "judged", "en") == "Judged figure (national)"
    cat = catalog.load()
    shown = tables.coverage_table(demo.load(), cat, year=2024)
    assert shown["n_towns"].max() == 8
    assert labels.label("xlsx_area_level", "district", "en") == "District"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_chapter_is_named_in_the_index_as_its_heading_names_it(lang):
    """The index's chapter list and the chapter's own heading use the same name (镇街差距 /
    Gaps between towns on both), so a reader following a link finds the chapter they clicked."""
    headings = {"00_data_quality": "dq_title", "01_overview": "ov_title", "03_towns": "towns_title",
                "04_projections": "proj_title"}
    for notebook, heading in headings.items():
        name = labels.label("report", f"nb_{notebook}", lang)
        assert name in labels.label("nb_text", heading, lang), (notebook, name)


def test_english_counts_agree_with_their_number():
    """'1 target is met', never '1 are met' / '1 targets': a count in an English sentence takes the
    singular for 1 (labels.fill, the ``{n:one|other}`` choice), on every page that counts targets."""
    one_each = pd.DataFrame({"status": ["met", "not_met", "no_data"]})
    sentence = tables.attainment_sentence(one_each, lang="en")
    assert "1 is met" in sentence and "or has no data" in sentence, sentence
    assert "1 is met" in tables.attainment_sentence(one_each, lang="en", domain=True)
    counted = {("docx", "domain_missing"): dict(n=1, names="x"),
               ("docx", "warnings_intro"): dict(n=1),
               ("docx", "overall_warnings"): dict(n=1, at_risk=1),
               ("nb_text", "dom_towns_link"): dict(n=1),
               ("nb_text", "towns_maps"): dict(n=1),
               ("nb_text", "dq_summary"): dict(n_ind=1, n_rep=1, n_miss=1, n_rows=1, y0=1, y1=2,
                                               year=2024)}
    bad = re.compile(r"\b1 (are|have|targets|indicators|rows|carry|show)\b|\(s\)")
    for (kind, code), values in counted.items():
        text = labels.fill(labels.label(kind, code, "en"), **values)
        assert not bad.search(text), (kind, code, text)
        assert labels.fill(labels.label(kind, code, "zh"), **values)
    assert labels.fill("{n} {n:target is|targets are} met", n=2) == "2 targets are met"


def test_gender_gap_table_follows_the_plan_and_writes_values_as_every_page_does():
    """The 性别差距 table listed indicators by id (65岁… before 妇女人均预期寿命) and wrote 82.95
    where every other page writes 83.0: rows in the catalogue's order, values in the unit's format."""
    cat = pd.DataFrame({"id": ["health.b_life", "health.a_exercise"], "name_zh": ["预期寿命", "锻炼比例"],
                        "name_en": ["Life", "Exercise"]})
    gaps = pd.DataFrame({"indicator": ["health.a_exercise", "health.b_life"], "unit": ["percent", "years"],
                         "value_f": [41.684, 82.95], "value_m": [36.14, 77.43], "difference": [5.544, 5.52],
                         "difference_lower": [0.68, float("nan")], "difference_upper": [10.37, float("nan")],
                         "ratio": [1.1534, 1.0713]})
    shown = tables.gender_gap_table(gaps, cat, lang="zh")
    assert list(shown["name"]) == ["预期寿命", "锻炼比例"]
    assert list(shown["value_f"]) == [labels.format_value(82.95, "years").rstrip("岁"),
                                      labels.format_value(41.684, "percent").rstrip("%")]


def test_gender_gap_table_names_the_pooled_window_and_does_not_compare_few_events_as_precise():
    """The table showed the 2024 female figure (1.2/10万) beside the judged 2020–2024 pooled one
    (1.3/10万) with no word on the window or on the ten events behind it."""
    from fzanalysis import catalog, demo, evaluate, gender_gap

    panel = demo.load()
    gaps = gender_gap(panel[panel["year"] <= 2024])
    gaps = gaps[(gaps["year"] == 2024) & (gaps["area"] == "440117")]
    judged = evaluate(panel, year=2024).targets.set_index("indicator")
    cat = catalog.load()
    for lang in ("zh", "en"):
        shown = tables.gender_gap_table(gaps, cat, lang=lang).set_index("name")
        name = cat.set_index("id").at["economy.occupational_disease_female", f"name_{lang}"]
        row = shown.loc[name + labels.pooled_note("2020–2024", lang)]
        ref = judged.loc["economy.occupational_disease_female"]
        assert row["value_f"] == "1.3"  # the judged figure, as the status table writes it
        assert labels.format_value(ref["value"], ref["unit"], lang=lang).startswith(row["value_f"])
        assert row["gap_note"] == labels.label("gap_note", "not_comparable", lang)
        assert (shown["gap_note"] == "").sum() == len(shown) - 1
    odd = gaps.assign(note="windows_differ", rankable=pd.array([pd.NA] * len(gaps), dtype="boolean"))
    assert set(tables.gender_gap_table(odd, cat, lang="en")["gap_note"]) == {
        labels.label("gap_note", "windows_differ", "en")}


def test_gender_gap_table_says_how_each_gap_moved_since_the_baseline():
    """methods 4.1: beside this year's gap, the baseline gap with its year and the change of the
    gap's size in words with its interval; 不作比较 where the methods compare nothing."""
    from fzanalysis import catalog, demo, gender_gap
    from fzanalysis.assessment import gap_change

    gaps = gender_gap(demo.load())
    district = gaps[gaps["area"] == "440117"]
    now = district[district["year"] == 2024]
    change = gap_change(district, year=2024)
    cat = catalog.load()
    zh = tables.gender_gap_table(now, cat, lang="zh", change=change).set_index("name")
    en = tables.gender_gap_table(now, cat, lang="en", change=change)
    assert {"baseline_difference", "gap_change"} <= set(en.columns)
    ins = zh.loc[cat.set_index("id").at["social_security.medical_insurance_female", "name_zh"]]
    assert ins["baseline_difference"] == "0.8（2020年）"
    assert ins["gap_change"] == "扩大0.4（95%区间0.2–0.7）"
    few = zh.loc[cat.set_index("id").at["economy.occupational_disease_female", "name_zh"]
                 + labels.pooled_note("2020–2024", "zh")]
    assert few["gap_change"] == labels.label("gap_change", "not_comparable", "zh")
    assert not en["gap_change"].str.contains(r"[\u4e00-\u9fff]").any()
    unclear = change.set_index("indicator").loc["health.health_literacy"]
    assert unclear["gap_change"] == "no_clear_change"
    shown = zh.loc[cat.set_index("id").at["health.health_literacy", "name_zh"], "gap_change"]
    assert shown.startswith("无明显变化") and "-11.5" in shown and "+1.6" in shown


def test_a_final_evaluation_on_figures_six_years_old_is_refused(tmp_path):
    """`report --kind final --year 2030` on data ending in 2024 wrote a 2030年终期评估报告 whose
    headline was the 2024 annual one word for word.  The params' max_data_lag (1 for the mid-term
    and final evaluations) refuses it before anything is written, saying what to run instead; the
    mid-term for 2025 on 2024 figures stays allowed.  A kind asked for another year says --year."""
    with pytest.raises(report.ReportError, match=r"latest figures are for 2024.*--kind annual --year 2024"):
        report.run_report(2030, kind="final", out_root=tmp_path / "reports", progress=False)
    assert not (tmp_path / "reports" / "2030-final").exists()
    from fzanalysis.report import params as report_params

    with pytest.raises(report.ReportError, match="run it with --year 2025"):
        report_params.resolve_params(2024, "midterm")
    with pytest.raises(report.ReportError, match="max_data_lag"):
        report_params.validate_params({"kind": "final", "max_data_lag": -1, "notebooks": []}, source="x.yaml")


def test_midterm_word_domain_chart_draws_the_tables_rate_all(tmp_path, monkeypatch):
    """The mid-term Word report's domain chart drew the rate over judged targets beside a table
    (and a ranking sentence) on the rate over every target with data: its bars are the table's
    达标率（含无法判定） column and its axis is titled with that column's label."""
    from docx import Document

    from fzanalysis.report import docx as report_docx

    drawn = []
    real = report_docx._attainment_figure

    def spy(*args, **kwargs):
        fig = real(*args, **kwargs)
        drawn.append(fig)
        return fig

    monkeypatch.setattr(report_docx, "_attainment_figure", spy)
    ctx = report.setup(year=2025, kind="midterm", show=False)
    doc = Document(str(report_docx.write_docx(ctx, tmp_path / "r.docx")))
    assert len(drawn) == 1
    ax = drawn[0].axes[0]
    col_all, col_judged, col_domain = (labels.label("docx", c) for c in ("col_rate_all", "col_rate", "col_domain"))
    assert ax.get_xlabel() == col_all
    table = next(t for t in doc.tables if col_all in [c.text for c in t.rows[0].cells])
    head = [c.text for c in table.rows[0].cells]
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    names = [r[head.index(col_domain)] for r in rows]
    shown_all = [r[head.index(col_all)] for r in rows]
    shown_judged = [r[head.index(col_judged)] for r in rows]
    # bars are drawn bottom-up: reversed, they are the table's rows
    bars = [p.get_width() for p in ax.patches][::-1]
    assert [t.get_text() for t in ax.get_yticklabels()][::-1] == names
    assert [labels.format_share(b / 100) for b in bars] == shown_all
    # the figure beside each bar is the table's (it printed 31% beside 30.8%)
    assert [t.get_text() for t in ax.texts][::-1] == shown_all
    # the Word report says which model every probability rests on
    assert narrative.method_note() in [p.text for p in doc.paragraphs]
    att = ctx.evaluation.attainment().set_index("domain")["attainment_rate_all"]
    dom = {labels.domain_label(d): d for d in att.index if d in labels.domain_order()}
    assert bars == pytest.approx([100 * att[dom[n]] for n in names])
    assert shown_all != shown_judged  # the demo has targets that cannot be judged: the two rates differ


def test_midterm_measures_say_why_each_target_is_named(tmp_path):
    """对策建议 read 「…等N项目标差距较大、预计难以如期实现或难以保持」 over targets whose verdict is
    已实现 (街道家庭教育指导服务中心数: met, projected to slip).  Each item now groups its targets by
    the one reason rule (tables.problem_kind): a target is under 差距较大 only if its verdict is."""
    from docx import Document

    from fzanalysis.report import docx as report_docx
    from fzanalysis.report import tables

    ctx = report.setup(year=2025, kind="midterm", show=False)
    doc = Document(str(report_docx.write_docx(ctx, tmp_path / "r.docx")))
    texts = [p.text for p in doc.paragraphs]
    j = ctx.judgement
    kind = tables.problem_kind(j)
    assert set(kind.dropna()) >= {"large_gap", "slipping", "at_risk"}
    start = texts.index(next(t for t in texts if t.endswith(labels.label("docx", "h_measures"))))
    items = [t for t in texts[start:] if t.startswith("（") and "建议由" in t]
    assert items
    body = "".join(items)
    for code, clause in (("large_gap", "差距较大的有"), ("slipping", "目前已达标但预计难以保持的有")):
        for name in j.loc[kind == code, "name_zh"]:
            # the target is named in the clause of its own reason
            assert any(clause in t and name in t.split(clause, 1)[1].split("。")[0] for t in items), (code, name)
    achieved = set(j.loc[j["verdict"] == "achieved", "name_zh"])
    for t in items:
        if "差距较大的有" in t:
            named = t.split("差距较大的有", 1)[1].split("。")[0]
            assert not [n for n in achieved if n in named]
    assert "差距较大、预计难以如期实现或难以保持" not in body


def test_the_report_command_honours_fzanalysis_reports(tmp_path, monkeypatch):
    """$FZANALYSIS_REPORTS was read by the library (paths.reports_dir) and ignored by the command,
    which wrote to <workdir>/reports.  Order: --out, then the variable, then <workdir>/reports."""
    from fzanalysis.report import cli as report_cli

    seen = []
    class Done:  # a run that succeeded, as run_reports returns it
        runs, ok, out_dir, failed, exit_code = [], True, tmp_path, [], 0

    monkeypatch.setattr(report_cli, "run_reports", lambda batch, **kw: seen.append(kw["out_root"]) or [Done()])
    monkeypatch.setenv("FZANALYSIS_REPORTS", str(tmp_path / "env"))
    from fzanalysis.cli import main

    assert main(["report", "--year", "2024", "--workdir", str(tmp_path), "--no-progress"]) == 0
    assert main(["report", "--year", "2024", "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    monkeypatch.delenv("FZANALYSIS_REPORTS")
    assert main(["report", "--year", "2024", "--workdir", str(tmp_path), "--no-progress"]) == 0
    assert seen == [tmp_path / "env", tmp_path / "o", tmp_path / "reports"]
