"""PySide6 regression: 6.12.0 on Python 3.11 drops a reference to None on every void call."""

from __future__ import annotations

import sys

import PySide6
from PySide6.QtCore import QObject


def test_pyside6_is_pinned_below_6_12():
    major, minor = (int(x) for x in PySide6.__version__.split(".")[:2])
    assert (major, minor) < (6, 12), PySide6.__version__


def test_void_qt_calls_keep_the_reference_count_of_none():
    obj = QObject()
    before = sys.getrefcount(None)
    for i in range(20_000):
        obj.setObjectName("x" if i % 2 else "y")  # a void C++ call returning None
        obj.blockSignals(False)
    after = sys.getrefcount(None)
    # Interpreter noise is a handful either way; the 6.12.0 bug loses 40,000 references.
    assert after >= before - 100, (before, after)
