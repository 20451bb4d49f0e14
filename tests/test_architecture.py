"""Import contracts that keep the architecture drawable."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_DOMAIN = (
    "PySide6", "fastapi", "starlette", "uvicorn", "sqlite3", "sqlite_utils", "serial",
    "escpos", "cv2", "pyzbar", "httpx", "websockets", "queue_server.storage",
    "queue_server.api", "devices", "kiosk", "ui",
)  # fmt: skip


def imports_of(package: Path) -> list[tuple[Path, str]]:
    found = []
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(path, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append((path, node.module))
    return found


def offenders(package: Path, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, name in imports_of(package)
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def test_domain_core_is_plain_python():
    assert offenders(ROOT / "queue_server" / "domain", FORBIDDEN_IN_DOMAIN) == []


def test_queue_server_imports_no_gui_or_clients():
    assert offenders(ROOT / "queue_server", ("PySide6", "kiosk", "ui")) == []


def test_devices_import_no_qt_and_no_server():
    assert offenders(ROOT / "devices", ("PySide6", "queue_server")) == []


def test_the_contract_check_itself_catches_an_offender(tmp_path):
    bad = tmp_path / "pkg"
    bad.mkdir()
    (bad / "m.py").write_text("import sqlite3\nfrom PySide6.QtCore import QObject\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert len(offenders(bad, FORBIDDEN_IN_DOMAIN)) == 2
    finally:
        ROOT = saved


def test_the_wire_contract_depends_on_nothing_but_the_standard_library():
    imported = {name.split(".")[0] for _, name in imports_of(ROOT / "wire")}
    assert imported <= set(sys.stdlib_module_names) | {"wire"}


@pytest.mark.parametrize("package", ["queue_server", "devices", "kiosk", "ui", "wire"])
def test_every_module_says_its_role(package):
    missing = [
        str(p.relative_to(ROOT))
        for p in (ROOT / package).rglob("*.py")
        if p.stat().st_size and ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []


def test_only_the_bus_hub_and_the_launchers_drive_devices_from_the_server():
    allowed = {"bushub.py", "cli.py", "demo.py"}  # the hub, and the launchers
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path, name in imports_of(ROOT / "queue_server")
        if (name == "devices" or name.startswith("devices.")) and path.name not in allowed
    ]
    assert found == []
