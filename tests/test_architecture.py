"""The pure modules (conditions, questions, flow, rules, terms, outcome, wording, regulatory) import no web or database library;
the whole package type-checks (mypy)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "questionnaire"
PURE = ("conditions", "questions", "flow", "rules", "terms", "outcome", "wording", "regulatory")
FORBIDDEN = ("flask", "wtforms", "sqlalchemy", "flask_babel", "flask_wtf", "flask_sqlalchemy", "flask_migrate",
             "werkzeug", "jinja2", "alembic", "babel")

# Import the pure modules in a fresh interpreter without running questionnaire/__init__.py (which
# builds the Flask app): a bare package object stands in for it, so only their own imports count.
PROBE = f"""
import importlib, json, sys, types
package = types.ModuleType("questionnaire")
package.__path__ = [{str(PACKAGE)!r}]
sys.modules["questionnaire"] = package
for name in {PURE!r}:
    importlib.import_module("questionnaire." + name)
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_pure_modules_loads_no_web_or_database_library() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, check=True,
                         timeout=120)
    loaded = json.loads(out.stdout)
    assert {f"questionnaire.{name}" for name in PURE} <= set(loaded)
    assert [m for m in loaded if m.split(".")[0] in FORBIDDEN] == []


def test_the_probe_does_see_a_forbidden_import() -> None:
    probe = PROBE.replace("print(json.dumps", "import flask\nprint(json.dumps")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True,
                         timeout=120)
    assert "flask" in json.loads(out.stdout)


def imports_of(name: str) -> list[tuple[int, str]]:
    """(level, module) for every import statement in a module; relative imports name the module they reach."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level and node.module is None:       # from . import flow
                found += [(node.level, alias.name) for alias in node.names]
            else:
                found.append((node.level, node.module or ""))
    return found


@pytest.mark.parametrize("name", PURE)
def test_a_pure_module_imports_only_the_standard_library_yaml_and_other_pure_modules(name: str) -> None:
    allowed_third_party = {"yaml"}
    for level, module in imports_of(name):
        root = module.split(".")[0]
        if level:
            assert level == 1 and root in PURE, f"{name} imports .{module}"
        else:
            assert root not in FORBIDDEN and root != "questionnaire", f"{name} imports {module}"
            assert root in sys.stdlib_module_names or root in allowed_third_party or root == "__future__", \
                f"{name} imports {module}"


def test_mypy_finds_no_error_in_the_package() -> None:
    """The whole package type-checks with the settings in setup.cfg (strict for the pure modules).
    About 10 s from cold on two cores, under a second with mypy's cache."""
    out = subprocess.run([sys.executable, "-m", "mypy", "questionnaire"], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.returncode == 0, f"mypy found errors:\n{out.stdout}{out.stderr}"
