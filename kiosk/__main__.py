"""Runs the kiosk: `python -m kiosk --server URL --token TOKEN --printer URL [--fullscreen]`."""

import sys

from .main import main

sys.exit(main())
