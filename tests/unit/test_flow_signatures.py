"""No `Any` at the seams of flows (issue 18): a flow function takes and returns real types -- the flow
`run_flow` runs, the lock `activity_lock` gives, a vendor adapter (or the Protocol of what a flow needs of
it) -- so mypy checks what crosses. A vendor's JSON stays `dict[str, Any]`: only a bare `Any` is refused."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bare_any(path: Path, root: Path = ROOT) -> list[str]:
    """`name:line` of each parameter or return of a function annotated as plain `Any`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        a = node.args
        params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *(p for p in (a.vararg, a.kwarg) if p is not None)]
        annotated = [(f"{node.name}({p.arg})", p.annotation) for p in params]
        for where, annotation in [*annotated, (f"{node.name} returns", node.returns)]:
            if isinstance(annotation, ast.Name) and annotation.id == "Any":
                found.append(f"{path.relative_to(root)}:{node.lineno} {where}")
    return found


def test_no_flow_function_takes_or_returns_bare_any() -> None:
    assert [hit for path in sorted((ROOT / "flows").rglob("*.py")) for hit in bare_any(path)] == []


def test_the_check_sees_parameters_returns_and_keywords(tmp_path: Path) -> None:
    source = tmp_path / "flows_like.py"
    source.write_text(
        "from typing import Any\n"
        "def f(a: Any, b: dict[str, Any]) -> Any: ...\n"
        "def g(**changes: Any) -> int: ...\n"
    )
    assert [hit.split(" ", 1)[1] for hit in bare_any(source, tmp_path)] == ["f(a)", "f returns", "g(changes)"]
