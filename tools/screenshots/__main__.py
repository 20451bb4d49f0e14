"""`python -m tools.screenshots`: the Qt screens, as `python -m tools.screenshots.qt` draws them.

Also where a script that looks for the registry finds it: `all_screens()` lists every
registered screen with its `sizes` (and `size`, the first of them).
"""

from __future__ import annotations

import sys

from tools.screenshots.qt import all_screens, main

__all__ = ["all_screens", "main"]

if __name__ == "__main__":
    sys.exit(main())
