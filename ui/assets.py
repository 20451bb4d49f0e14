"""Where BranchQ's shared files (catalogs, theme, icons, demo branch) are at run time.

From the source tree they are `<repo>/assets/`. In the PyInstaller kiosk bundle
(`kiosk.spec`) the code has no source tree around it: the spec copies `assets/` into the
bundle's data folder, which the frozen program finds as `sys._MEIPASS`.
"""

from __future__ import annotations

import sys
from pathlib import Path


def assets_dir() -> Path:
    """The `assets/` folder, whether running from source or from the frozen bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "assets"
    return Path(__file__).resolve().parent.parent / "assets"


ASSETS = assets_dir()
