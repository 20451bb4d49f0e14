"""Tests of the pure domain core (a package so its conftest never shadows tests/conftest.py)."""
