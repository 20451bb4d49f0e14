"""House rules a linter does not check: every module says its role.

What may import what is checked by import-linter's contracts (pyproject.toml,
[tool.importlinter]), which `make lint` runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", ["queue_server", "devices", "kiosk", "ui", "tools"])
def test_every_module_says_its_role(package):
    missing = [
        str(p.relative_to(ROOT))
        for p in (ROOT / package).rglob("*.py")
        if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []
