"""Every device URL scheme is documented and routed to exactly one driver package."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from devices.registry import KINDS, all_schemes, kind_of

ROOT = Path(__file__).resolve().parents[2]


def test_every_scheme_has_a_description_with_an_example():
    schemes = all_schemes()
    assert {kind for kind, _ in schemes.values()} == set(KINDS)
    for scheme, (_, description) in schemes.items():
        assert "://" in description and len(description) > 20, scheme


def test_every_scheme_is_documented_in_some_module_of_its_package():
    for scheme, (kind, _) in all_schemes().items():
        docs = [
            ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or ""
            for p in (ROOT / "devices" / kind).rglob("*.py")
        ]
        assert any(f"{scheme}://" in d for d in docs), f"no module documents {scheme}://"


def test_each_package_offers_a_probe():
    for kind in KINDS:
        assert callable(importlib.import_module(f"devices.{kind}").probe)


def test_unknown_schemes_are_a_clear_error():
    with pytest.raises(ValueError, match="no driver for teleport://"):
        kind_of("teleport://somewhere")
