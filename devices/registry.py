"""Which package handles which device URL scheme; used by `branchq devices probe` and docs."""

from __future__ import annotations

import importlib
from types import ModuleType

from devices.url import parse_device_url

KINDS = ("printer", "idcard", "scanner", "bus", "audio")


def _package(kind: str) -> ModuleType:
    return importlib.import_module(f"devices.{kind}")


def all_schemes() -> dict[str, tuple[str, str]]:
    """scheme → (device kind, one-line description with an example URL)."""
    out: dict[str, tuple[str, str]] = {}
    for kind in KINDS:
        schemes: dict[str, str] = _package(kind).SCHEMES
        for scheme, description in schemes.items():
            if scheme in out:
                raise RuntimeError(f"scheme {scheme} claimed by {out[scheme][0]} and {kind}")
            out[scheme] = (kind, description)
    return out


def kind_of(url: str) -> str:
    scheme = parse_device_url(url).scheme
    found = all_schemes().get(scheme)
    if found is None:
        known = ", ".join(sorted(all_schemes()))
        raise ValueError(f"no driver for {scheme}:// (known: {known})")
    return found[0]


def probe(url: str) -> str:
    """A field diagnostic: what the device at this URL answers, in words."""
    report: str = _package(kind_of(url)).probe(url)
    return report
