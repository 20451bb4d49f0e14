"""Runs the counter app: `python -m ui.counter --server URL --token TOKEN --counter N`."""

import sys

from ui.counter.main import main

sys.exit(main())
