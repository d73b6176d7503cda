"""environment.yml (conda) and pyproject.toml (pip) list the same dependencies."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_REQ = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse(specs: list[str]) -> dict[str, str]:
    out = {}
    for spec in specs:
        m = _REQ.match(spec)
        assert m, spec
        out[_norm(m.group(1))] = m.group(2).replace(" ", "")
    return out


def _pyproject() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    specs = list(meta["dependencies"]) + list(meta["optional-dependencies"]["dev"])
    return _parse(specs)


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text("utf-8"))
    specs: list[str] = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            specs += [p for p in dep["pip"] if not p.startswith("-e")]
        else:
            specs.append(dep)
    parsed = _parse(specs)
    parsed.pop("python")
    parsed.pop("pip")
    return parsed


def test_same_packages_and_lower_bounds():
    assert _pyproject() == _environment()


def test_python_floor_agrees():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text("utf-8"))
    assert f"python{meta['requires-python']}" in env["dependencies"]
