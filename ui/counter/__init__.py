"""The teller's counter caller app: `session` decides what is shown and allowed, `window` shows it.

`ui.counter.session` is plain Python (no Qt, not even through `ui.client`), so the rules a
teller meets hundreds of times a day are tested without a screen; this package's
`__init__` imports nothing for the same reason.
"""
