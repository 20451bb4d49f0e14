"""Imports python-escpos without its side effects; imported before anything uses escpos.

Two things python-escpos 3.1 does on import are undone here:

* it caches its printer-capabilities pickle in a brand-new `mkdtemp()` folder, leaving
  one temp folder behind per process (even when ESCPOS_CAPABILITIES_PICKLE_DIR is set, in
  3.1); the cache goes to a fixed folder under the user's cache directory instead;
* it calls `logging.basicConfig()`, which would make the application's own logging set-up
  silently do nothing; the handler it adds to the root logger is removed again.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path


def user_cache_dir() -> Path:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "BranchQ" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "BranchQ"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "branchq"


def _pickle_dir() -> str:
    for folder in (
        user_cache_dir() / "escpos",
        # A read-only home (locked-down kiosk account): one fixed folder, reused.
        Path(tempfile.gettempdir()) / f"branchq-escpos-{getattr(os, 'getuid', lambda: 0)()}",
    ):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return str(folder)
    raise OSError("no writable folder for python-escpos's capabilities cache")


def _import_escpos(pickle_dir: str) -> None:
    # python-escpos 3.1 reads the variable as `environ.get(NAME, mkdtemp())`: the default
    # is evaluated, so a temp folder is created even when the variable is set. mkdtemp is
    # pointed at the cache folder for the length of the import only.
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", pickle_dir)
    real_mkdtemp = tempfile.mkdtemp

    def cache_folder(*args: object, **kwargs: object) -> str:
        return os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"]

    root = logging.getLogger()
    handlers_before = list(root.handlers)
    tempfile.mkdtemp = cache_folder  # type: ignore[assignment]
    try:
        import escpos.printer  # noqa: F401
    finally:
        tempfile.mkdtemp = real_mkdtemp
        for handler in root.handlers[:]:
            if handler not in handlers_before:
                root.removeHandler(handler)


if "escpos" not in sys.modules:
    _import_escpos(os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR") or _pickle_dir())

__all__ = ["user_cache_dir"]
