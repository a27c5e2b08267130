"""The two faces depend on the core and not on each other (one exception: the CLI starts the API)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# (importing module, imported module) allowed across the faces
ALLOWED = {("reports_cli.app", "reports_http.server")}


def imports(package: str) -> list[tuple[str, str]]:
    """(module, imported name) for every import statement of every module of ``package``."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(module, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found += [(module, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def allowed(module: str, name: str) -> bool:
    return any(module == m and name.startswith(a + ".") for m, a in ALLOWED)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("reports_core", ("reports_cli", "reports_http")),
        ("reports_cli", ("reports_http",)),
        ("reports_http", ("reports_cli",)),
    ],
)
def test_a_layer_imports_no_layer_it_must_not(package: str, forbidden: tuple[str, ...]) -> None:
    crossing = {
        (module, name)
        for module, name in imports(package)
        if name.split(".")[0] in forbidden and not allowed(module, name)
    }
    assert crossing == set()


def test_the_check_sees_imports() -> None:
    """The walker finds the one allowed crossing, so an empty result above means something."""
    assert ("reports_cli.app", "reports_http.server.serve") in imports("reports_cli")
    assert ("reports_http.routes", "reports_core.formats") in imports("reports_http")
