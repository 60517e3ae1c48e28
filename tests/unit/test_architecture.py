"""The layers, as folders of the package, and the contracts between them:

- core (the questionnaire definition, conditions, flow, rules, wording, mappings) imports nothing from
  the other layers and no web or database library: plain data in, plain data out;
- data (models, migrations, the store, crypto) imports the core, never the web, operations or CLI;
- operations (each action with its audit row, and what follows one) import core and data, never web;
- the patient pages load nothing of the staff side;
- no module imports another module's underscore names, or reaches into them;
- no module is over 500 lines.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "questionnaire"
FORBIDDEN = (
    "flask",
    "wtforms",
    "sqlalchemy",
    "flask_babel",
    "flask_wtf",
    "flask_sqlalchemy",
    "flask_migrate",
    "werkzeug",
    "jinja2",
    "alembic",
    "babel",
    "flask_limiter",
    "limits",
    "redis",
    "psycopg",
)
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "versions" not in p.parts)
STAFF_SIDE = (
    "questionnaire.web.staff",
    "questionnaire.web.staff_admin",
    "questionnaire.web.staff_session",
    "questionnaire.web.auth",
    "questionnaire.web.interop",
    "questionnaire.operations.staff_accounts",
    "questionnaire.operations.submissions",
    "questionnaire.operations.sign_in",
    "questionnaire.cli.staff",
)
# What each layer may import from the package (besides itself).
ALLOWED = {
    "core": set(),
    "data": {"core", "extensions"},
    "operations": {"core", "data", "extensions", "config"},
    "web": {"core", "data", "operations", "extensions", "config"},
    "cli": {"core", "data", "operations", "web", "extensions", "config"},
}


def dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def package_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every import of the package's own modules in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = dotted(path)
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.split(".")[0] == "questionnaire"]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = here.split(".")[: len(here.split(".")) - node.level + (1 if path.name == "__init__.py" else 0)]
                module = ".".join(base + ([module] if module else []))
            if module.split(".")[0] == "questionnaire":
                found.append((module, [a.name for a in node.names]))
    return found


# Import the core in a fresh interpreter without running questionnaire/__init__.py (which builds the
# Flask app): a bare package object stands in for it, so only the core's own imports count.
CORE = sorted(dotted(p) for p in MODULES if layer(dotted(p)) == "core")
PROBE = f"""
import importlib, json, sys, types
package = types.ModuleType("questionnaire")
package.__path__ = [{str(PACKAGE)!r}]
sys.modules["questionnaire"] = package
for name in {CORE!r}:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def test_importing_the_core_loads_no_web_or_database_library() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, check=True, timeout=120
    )
    loaded = json.loads(out.stdout)
    assert set(CORE) <= set(loaded) and "questionnaire.core.rules" in CORE
    assert [m for m in loaded if m.split(".")[0] in FORBIDDEN] == []


def test_the_probe_does_see_a_forbidden_import() -> None:
    probe = PROBE.replace("print(json.dumps", "import flask\nprint(json.dumps")
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True, timeout=120
    )
    assert "flask" in json.loads(out.stdout)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: dotted(p))
def test_each_layer_imports_only_the_layers_below_it(path: Path) -> None:
    here = layer(dotted(path))
    if here not in ALLOWED:
        return  # the package root: create_app() wires the layers together
    for module, _names in package_imports(path):
        there = layer(module)
        assert there == here or there in ALLOWED[here], f"{dotted(path)} ({here}) imports {module} ({there})"
    if here == "core":
        tree = ast.parse(path.read_text(encoding="utf-8"))
        roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        roots |= {
            (n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level
        }
        assert not roots & set(FORBIDDEN), f"{dotted(path)} imports {roots & set(FORBIDDEN)}"


def test_the_patient_pages_load_nothing_of_the_staff_side() -> None:
    seen: set[str] = set()
    todo = ["questionnaire.web.patient"]
    by_name = {dotted(p): p for p in MODULES}
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        for module, names in package_imports(by_name[name]):
            todo += [module] + [f"{module}.{n}" for n in names]
    assert not seen & set(STAFF_SIDE), sorted(seen & set(STAFF_SIDE))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: dotted(p))
def test_no_module_uses_another_modules_underscore_names(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()  # local names bound to the package's modules
    for module, names in package_imports(path):
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{dotted(path)} imports {private} from {module}"
        modules.update(names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            attr = node.attr
            assert not (attr.startswith("_") and not attr.startswith("__")), (
                f"{dotted(path)} uses {node.value.id}.{attr}"
            )


# The questionnaire definition is data: one page after another, in its own file (the issue allows it).
DATA_MODULES = {"questionnaire.core.definition"}


@pytest.mark.parametrize("path", [p for p in MODULES if dotted(p) not in DATA_MODULES], ids=lambda p: dotted(p))
def test_no_module_is_over_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 500, f"{dotted(path)} has {lines} lines: split it along its seams"
