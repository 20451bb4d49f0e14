"""Runs the manager console: `python -m ui.manager --server URL --token TOKEN`."""

import sys

from ui.manager.main import main

sys.exit(main())
