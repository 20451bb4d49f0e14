"""The domain core is plain Python: no web framework, database, Qt or serial port."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import queue_server.domain

DOMAIN = Path(queue_server.domain.__file__).parent
FORBIDDEN = (
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "sqlite3",
    "sqlite_utils",
    "PySide6",
    "serial",
    "httpx",
    "websockets",
    "kiosk",
    "ui",
    "devices",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_domain_modules_import_only_the_standard_library():
    files = sorted(DOMAIN.glob("*.py"))
    assert {f.name for f in files} >= {"branch.py", "model.py", "policy.py", "day.py"}
    for path in files:
        imported = _imports(path)
        # `wire` is the dependency-free protocol package (the final states are defined there).
        assert imported <= set(sys.stdlib_module_names) | {"wire"}, path.name
        assert not imported & set(FORBIDDEN), path.name


def test_importing_the_domain_loads_no_framework():
    probe = (
        "import sys, queue_server.domain\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == ""
