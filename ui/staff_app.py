"""What the staff apps (counter caller, manager's console) share at start-up: the
`--geometry` option's parser, and showing the window, writing the ready file and running
the Qt loop."""

from __future__ import annotations

import os
import re
from argparse import ArgumentTypeError
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget


class Client(Protocol):
    def stop(self) -> None: ...


def geometry(text: str) -> tuple[int, int, int, int]:
    """`WxH+X+Y` (as X11's -geometry) → (width, height, x, y)."""
    found = re.fullmatch(r"(\d+)x(\d+)\+(\d+)\+(\d+)", text.strip())
    if found is None:
        raise ArgumentTypeError(f"not WxH+X+Y: {text!r}")
    width, height, x, y = (int(g) for g in found.groups())
    return width, height, x, y


def show_and_run(
    app: QApplication,
    window: QWidget,
    client: Client,
    *,
    size: tuple[int, int],
    place: tuple[int, int, int, int] | None = None,
    fullscreen: bool = False,
    ready_file: str | None = None,
) -> int:
    """Show `window` (full screen, at `place` = WxH+X+Y, or at `size`), write `ready_file`
    (this process's id) once it is up, run the loop, and stop `client` afterwards."""
    if fullscreen:
        window.showFullScreen()
    else:
        if place is not None:
            width, height, x, y = place
            window.resize(width, height)
            window.move(x, y)
        else:
            window.resize(*size)
        window.show()
    if ready_file:  # the first turn of the event loop: the window is up
        ready = Path(ready_file)
        QTimer.singleShot(0, lambda: ready.write_text(f"{os.getpid()}\n", encoding="utf-8"))
    code = app.exec()
    client.stop()
    return code
