"""Hostile-input checks of a branch server: API fuzzing, request limits, event-stream floods."""
