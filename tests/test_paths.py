"""Where reference data are found: env var, clone, or the copy inside the wheel."""
from __future__ import annotations

import tomllib
from pathlib import Path

from fzanalysis import paths

ROOT = Path(__file__).resolve().parents[1]


def test_clone_uses_repo_data(monkeypatch):
    monkeypatch.delenv("FZANALYSIS_DATA", raising=False)
    assert paths.data_dir() == ROOT / "data"


def test_env_var_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("FZANALYSIS_DATA", str(tmp_path))
    assert paths.data_dir() == tmp_path.resolve()


def test_installed_wheel_falls_back_to_packaged_copy(monkeypatch, tmp_path):
    monkeypatch.delenv("FZANALYSIS_DATA", raising=False)
    monkeypatch.setattr(paths, "REPO_DIR", tmp_path)  # site-packages: no data/ beside the package
    assert paths.data_dir() == paths.PACKAGE_DIR / "_data"


def test_wheel_ships_every_reference_file_the_library_reads():
    """Each reference file under data/ matches a package-data pattern of fzanalysis._data."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    assert conf["package-dir"]["fzanalysis._data"] == "data"
    patterns = conf["package-data"]["fzanalysis._data"]
    data = ROOT / "data"
    needed = [p for p in data.rglob("*") if p.is_file()
              and p.parts[len(data.parts)] not in ("raw", "processed")]
    assert needed
    missing = [p.relative_to(data).as_posix() for p in needed
               if not any(p.relative_to(data).match(pat) and
                          len(p.relative_to(data).parts) == len(Path(pat).parts)
                          for pat in patterns)]
    assert not missing, f"not shipped in the wheel: {missing}"


def test_the_wheel_lists_every_subpackage():
    """Each package under fzanalysis/ (a folder with __init__.py) is in pyproject's package list."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    pkg = ROOT / "fzanalysis"
    found = {"fzanalysis." + ".".join(p.parent.relative_to(pkg).parts) for p in pkg.rglob("__init__.py")
             if p.parent != pkg}
    assert found <= set(conf["packages"]), f"missing from the wheel: {sorted(found - set(conf['packages']))}"


def test_every_folder_that_ships_files_is_a_listed_package():
    """setuptools warns, on every fresh install, about a folder holding shipped files that is not in
    ``packages`` ("Package 'fzanalysis._data.geo' is absent from the packages configuration"): 20
    such warnings filled the screen of `make report` on a new machine. Every such folder is listed."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]
    listed = set(conf["packages"])
    roots = {"fzanalysis": ROOT / "fzanalysis",
             **{name: ROOT / d for name, d in conf["package-dir"].items()}}
    data_patterns = conf["package-data"]["fzanalysis._data"]
    needed = set()
    for name, root in roots.items():
        for f in root.rglob("*"):
            rel = f.relative_to(root)
            if not f.is_file() or len(rel.parts) < 2 or "__pycache__" in rel.parts \
                    or rel.parts[0] in ("raw", "processed"):
                continue
            if name == "fzanalysis._data" and not any(rel.match(p) and len(rel.parts) == len(Path(p).parts)
                                                      for p in data_patterns):
                continue
            needed.add(".".join((name, *rel.parts[:-1])))
    assert needed
    assert not needed - listed, f"add to [tool.setuptools] packages: {sorted(needed - listed)}"
