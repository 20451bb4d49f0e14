"""The branch manager's console: `console` decides what is shown (no Qt), `window` shows it.

`ui.manager.console` is plain Python (no Qt, not even through `ui.client`), so the rules the
manager relies on at a glance (colours against target, window counts, advice moves) are
tested without a screen; this package's `__init__` imports nothing for the same reason.
"""
