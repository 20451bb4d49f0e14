"""Runs the kiosk: `python -m kiosk --server URL --token TOKEN --printer URL [--fullscreen]`."""

import sys

# Absolute, so PyInstaller can run this file as the bundle's entry script (kiosk.spec).
from kiosk.main import main

sys.exit(main())
