"""House rules import-linter does not express: every module says its role, and the wire
contract depends on nothing but the standard library.

What may import what between our packages is checked by import-linter's contracts
(pyproject.toml, [tool.importlinter]), which `make lint` runs.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["queue_server", "devices", "kiosk", "ui", "wire", "tools"]


def imported_names(package: Path) -> set[str]:
    """Top-level names of every absolute import in a package's modules."""
    found: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_the_wire_contract_depends_on_nothing_but_the_standard_library():
    assert imported_names(ROOT / "wire") <= set(sys.stdlib_module_names) | {"wire"}


def test_the_import_check_sees_a_third_party_import(tmp_path):
    (tmp_path / "m.py").write_text("import json\nfrom PySide6.QtCore import QObject\n")
    assert imported_names(tmp_path) - set(sys.stdlib_module_names) == {"PySide6"}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_says_its_role(package):
    missing = [
        str(p.relative_to(ROOT))
        for p in (ROOT / package).rglob("*.py")
        if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []
