"""Pictures a screenshot run no longer draws are removed, so the folder shows only today's screens.

Each writer owns the file names its own naming pattern matches and removes only those: a
hand-made picture or another writer's output in the same folder is never touched. A run that
fails before the end removes nothing (the caller prunes after the last picture is saved).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

# `<screen>-<zh|en>-<normal|large>-<W>x<H>.png`, and the names before the size was in them.
QT_NAME = re.compile(r".+-(zh|en)-(normal|large)(-\d+x\d+)?\.png")
# The browser pages: the hall display, the booking page, the phone's live ticket.
WEB_NAME = re.compile(r"(display|book|phone)-[a-z0-9-]+\.png")
# The lobby manager's app, each screen on a phone and a tablet.
LOBBY_NAME = re.compile(r"lobby-[a-z-]+-(phone|tablet)\.png")
CONSOLE_NAME = re.compile(r"central-[a-z]+-(zh|en)-\d+x\d+\.png")


def qt_screen_name(screen: str) -> re.Pattern[str]:
    """The file names one Qt screen's pictures have (any language, text size, screen size)."""
    return re.compile(re.escape(screen) + r"-(zh|en)-(normal|large)(-\d+x\d+)?\.png")


def remove_stale(
    out: Path, written: Iterable[Path], owned: Iterable[re.Pattern[str]]
) -> list[Path]:
    """Delete the PNGs in `out` that one of `owned` matches but that are not in `written`."""
    keep = {Path(p).resolve() for p in written}
    patterns = list(owned)
    removed = []
    for path in sorted(out.glob("*.png")):
        if path.resolve() in keep:
            continue
        if any(pattern.fullmatch(path.name) for pattern in patterns):
            path.unlink()
            removed.append(path)
    return removed
