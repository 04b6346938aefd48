"""The layering, checked: ARCHITECTURE.md's table of layers is the rule (issue 18).

Each product layer imports what its row says -- the layers under "May import", the third-party libraries
under "Libraries", and the standard library -- and nothing else. Imports are read from the source, at any
depth (function-local ones included). The strongest rules are also checked transitively, by importing the
package in a fresh interpreter and looking at what got loaded: flows/ load no Celery, domain/ no I/O library.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("config", "domain", "clients", "store", "flows", "tasks", "worker", "ingest", "cli")
IO_LIBRARIES = (
    "redis",
    "requests",
    "urllib3",
    "httpx",
    "gql",
    "celery",
    "kombu",
    "starlette",
    "uvicorn",
    "socket",
)
DEV_TOOLS = ("sandbox", "bench", "tests")
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


def layer_table() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """ARCHITECTURE.md's table: layer -> (the product modules or packages it may import, its libraries)."""
    rows: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        folder = re.fullmatch(r"`(\w+)/`", cells[0]) if len(cells) == 4 else None
        if folder is None or folder.group(1) not in PRODUCT:
            continue
        may = {
            m.removesuffix(".py").replace("/", ".").strip(".") for m in re.findall(r"`([\w/.]+)`", cells[2])
        }
        libraries = {name.split("(")[0].strip() for name in cells[3].split(",")} - {"", "(none)"}
        rows[folder.group(1)] = (frozenset(may), frozenset(libraries))
    return rows


TABLE = layer_table()


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (function-local imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from config import tracing` imports the module config.tracing, not all of config/
            package = ROOT / node.module.replace(".", "/")
            submodules = [a.name for a in node.names if (package / f"{a.name}.py").exists()]
            found.update(f"{node.module}.{name}" for name in submodules)
            if len(submodules) < len(node.names):
                found.add(node.module)
    return found


def product_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def allowed(package: str, module: str) -> bool:
    """May a module of `package` import `module`? Its own package, the standard library, and its row."""
    layers, libraries = TABLE[package]
    top = module.split(".")[0]
    if top == package or top in STDLIB or top in libraries:
        return True
    return any(module == layer or module.startswith(layer + ".") for layer in layers)


def violations(package: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in product_files(package)
        for module in sorted(imports_of(path))
        if not allowed(package, module)
    ]


def test_the_table_names_every_product_layer_and_only_them() -> None:
    assert set(TABLE) == set(PRODUCT)
    for package, (layers, _) in TABLE.items():
        assert {layer.split(".")[0] for layer in layers} <= set(PRODUCT), package
        assert not set(DEV_TOOLS) & {layer.split(".")[0] for layer in layers}, package


@pytest.mark.parametrize("package", PRODUCT)
def test_every_import_is_one_the_table_allows(package: str) -> None:
    assert product_files(package), f"no sources found for {package}/"
    assert violations(package) == []


@pytest.mark.parametrize("package", PRODUCT)
def test_the_product_imports_its_own_modules_at_the_top(package: str) -> None:
    """A function-local import of a product module hides a dependency (and once hid a cycle): none is left."""
    local = []
    for path in product_files(package):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    module = inner.module if isinstance(inner, ast.ImportFrom) else None
                    if isinstance(inner, ast.Import):
                        module = inner.names[0].name
                    if module and module.split(".")[0] in PRODUCT:
                        local.append(f"{path.relative_to(ROOT)}:{inner.lineno} {module}")
    assert local == []


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    """The checker itself: a flow that imports Celery inside a function is reported, and so is an ingest
    module reaching a vendor adapter; domain may read the settings model but no other part of config/."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from celery import shared_task\n    import tasks.calls\n")
    assert imports_of(bad) == {"celery", "tasks.calls"}
    assert not allowed("flows", "celery") and not allowed("flows", "tasks.calls")
    assert not allowed("ingest", "clients.errors") and allowed("ingest", "flows.errors")
    assert allowed("domain", "config.integration") and not allowed("domain", "config.settings")
    assert not allowed("config", "domain.envelope") and allowed("store", "config.settings")


def loaded_after_import(*modules: str) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {list(modules)!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout))


def _modules(package: str) -> list[str]:
    return [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in product_files(package)
    ]


def test_flows_and_domain_load_no_celery_and_domain_no_io_even_transitively() -> None:
    flows_loaded = loaded_after_import(*_modules("flows"))
    assert not {"celery", "kombu", "tasks", "worker", *DEV_TOOLS} & flows_loaded
    domain_loaded = loaded_after_import(*_modules("domain"))
    # (the stdlib's `socket` is loaded by other stdlib modules pydantic uses; domain/ itself never imports it)
    assert not ({*IO_LIBRARIES, "store", "clients", *DEV_TOOLS} - {"socket"}) & domain_loaded


def test_the_whole_product_loads_nothing_from_the_development_tools() -> None:
    loaded = loaded_after_import(*(m for package in PRODUCT for m in _modules(package)))
    assert not set(DEV_TOOLS) & loaded
