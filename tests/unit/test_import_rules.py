"""The layering, checked (issue 12; README "How it is built", ARCHITECTURE.md).

- domain/ is pure: no I/O library, none of the service's I/O layers.
- flows/ hold the logic without Celery: tasks/ are the only Celery entry points into them.
- store/ and clients/ do not know each other (collaborators meet through clients' Protocols) nor the layers above.
- ingest/ never imports tasks/ or worker/ (it enqueues messages, it does not run Celery).
- No product package imports sandbox/, bench/ or tests/ (development tools stay out of production).

Direct imports are read from the source (function-local ones included); the strongest rules are also checked
transitively, by importing the package in a fresh interpreter and looking at what got loaded.
"""

from __future__ import annotations

import ast
import json
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

# package -> top-level names it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "domain": (*IO_LIBRARIES, "store", "clients", "flows", "tasks", "worker", "ingest", "cli"),
    "flows": ("celery", "kombu", "tasks", "worker", "ingest", "cli"),
    "store": ("clients", "flows", "tasks", "worker", "ingest", "cli", "celery"),
    "clients": ("store", "flows", "tasks", "worker", "ingest", "cli", "celery", "redis"),
    "ingest": ("tasks", "worker", "cli", "celery"),
    "config": ("store", "clients", "flows", "tasks", "worker", "ingest", "cli"),
    "cli": ("tasks", "worker", "ingest"),
}
# domain may read the per-integration settings model (pure pydantic), nothing else of config/
DOMAIN_CONFIG_ALLOWED = {"config.integration"}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (function-local imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def product_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def violations(package: str) -> list[str]:
    banned = FORBIDDEN.get(package, ()) + DEV_TOOLS
    out = []
    for path in product_files(package):
        for module in sorted(imports_of(path)):
            top = module.split(".")[0]
            if top in banned or (
                package == "domain" and top == "config" and module not in DOMAIN_CONFIG_ALLOWED
            ):
                out.append(f"{path.relative_to(ROOT)} imports {module}")
    return out


@pytest.mark.parametrize("package", PRODUCT)
def test_direct_imports_follow_the_layers(package: str) -> None:
    assert product_files(package), f"no sources found for {package}/"
    assert violations(package) == []


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    """The checker itself: a flow that imports Celery inside a function is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from celery import shared_task\n    import tasks.calls\n")
    assert imports_of(bad) == {"celery", "tasks.calls"}


def loaded_after_import(*modules: str) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {list(modules)!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=True)  # fmt: skip
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
