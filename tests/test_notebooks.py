"""The report notebooks: sources without outputs, documented parameters, and executed on the demo data.

The default suite runs ONE notebook (the overview) end to end through ``run_report``; the
full set (every notebook for one year, annual and mid-term, Chinese and English) is marked slow
(``make test-all``).
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill
import pytest

from fzanalysis import report

NOTEBOOKS = sorted(report.NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = ["00_data_quality", "01_overview", "02_domain", "03_towns", "04_projections", "05_evaluation"]


def test_the_six_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_sources_are_committed_without_outputs(path: Path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_typed_and_documented(path: Path):
    """papermill finds every parameter with a type and a help text (``papermill --help-notebook``)."""
    nb = nbformat.read(str(path), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    params = papermill.inspect_notebook(str(path))
    assert {"year", "kind", "lang", "data_path"} <= set(params)
    for name, p in params.items():
        assert p["inferred_type_name"] != "None", f"{path.name}: {name} has no type"
        assert p["help"], f"{path.name}: {name} has no comment"


def _errors(nb) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def _check_run(res: report.ReportResult) -> None:
    assert res.ok, ([(r["stem"], r["ok"], r["error"]) for r in res.runs if not r["ok"]], res.status_error)
    for run in res.runs:
        nb = nbformat.read(str(res.out_dir / run["ipynb"]), as_version=4)
        assert not _errors(nb), (run["stem"], _errors(nb))
        html = (res.out_dir / run["html"]).read_text("utf-8")
        assert "演示数据" in html or "DEMO DATA" in html
        assert "<table" in html or "image/png" in html, f"{run['stem']}: no table or figure"
        # a figure is shown as a picture, never as its text repr
        assert "Figure size" not in html, f"{run['stem']}: a figure was not rendered"
        assert "report.setup(" not in html  # code cells are not in the HTML
        # offline: no script or stylesheet from the internet (require.js, MathJax, mermaid, CDNs)
        assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?(https?:)?//", html), run["stem"]
        assert html.count('class="fz-provenance"') == 1  # one banner per page, put in by the template


def test_overview_end_to_end_on_demo_data(tmp_path: Path):
    """The overview notebook alone through run_report on the demo panel."""
    res = report.run_report(
        2024, out_root=tmp_path, progress=False,
        params={"year": 2024, "kind": "annual", "notebooks": [{"notebook": "01_overview.ipynb"}]},
    )
    _check_run(res)
    assert res.out_dir == tmp_path / "2024"
    html = (res.out_dir / "01_overview.html").read_text("utf-8")
    # the headline table, the attainment table and the narrative drafts are in the HTML
    assert "各指标状态" in html and "各领域达标率" in html and "文字稿" in html
    assert html.count("data:image/png;base64") >= 1  # the status heatmap, as a picture
    assert re.search(r"2024年[^<]{2,40}为[0-9.]+", html), "no narrative sentence"
    index = (res.out_dir / "index.html").read_text("utf-8")
    assert "各指标达标状态" in index and "妇女与健康" in index
    # the index leads with the attainment sentence, counted once per indicator
    assert re.search(r"规划87项监测目标中，\d+项已达标", index)
    assert index.count('<td class="status st-') == len(res.status)
    assert res.provenance["synthetic"] is True
    # one number per fact: the Word report, status.xlsx and the index say what status.csv says
    from fzanalysis.report.crosscheck import crosscheck

    assert crosscheck(res.out_dir) == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["annual", "midterm"])
def test_every_notebook_for_one_year(tmp_path: Path, kind: str):
    """All notebooks of the annual (2024) and mid-term (2025) reports on the demo data (13 or 14 runs)."""
    year = 2024 if kind == "annual" else 2025
    res = report.run_report(year, kind=kind, out_root=tmp_path, progress=False, jobs=2)
    _check_run(res)
    stems = [r["stem"] for r in res.runs]
    assert len([s for s in stems if s.startswith("02_domain-")]) == 8
    assert ("05_evaluation" in stems) == (kind == "midterm")
    index = (res.out_dir / "index.html").read_text("utf-8")
    for stem in stems:
        assert f'href="{stem}.html"' in index
    size = sum(p.stat().st_size for p in res.out_dir.iterdir())
    assert size <= 15 * 2**20, f"report folder {size / 2**20:.1f} MB"
    # chapter headings name the year of the figures (the mid-term for 2025 reads 2024's figures:
    # "2025年监测总览" above them read as 2025's, a reader's finding)
    data_year = res.provenance["assessed_year"]
    overview = (res.out_dir / "01_overview.html").read_text("utf-8")
    assert f"{data_year}年监测总览" in overview
    if data_year != year:
        assert f"{year}年监测总览" not in overview


@pytest.mark.slow
def test_english_overview_and_projections(tmp_path: Path):
    res = report.run_report(
        2024, lang="en", out_root=tmp_path, progress=False, jobs=2,
        params={"year": 2024, "kind": "annual",
                "notebooks": [{"notebook": "01_overview.ipynb"}, {"notebook": "04_projections.ipynb"}]},
    )
    _check_run(res)
    assert res.out_dir == tmp_path / "2024-en"
    html = (res.out_dir / "01_overview.html").read_text("utf-8")
    assert "Status by indicator" in html and "DEMO DATA" in html
