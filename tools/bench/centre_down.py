"""`--head-office-down` of `bench server` and `bench counter`: the same bench run twice in one
command, once as a branch without a head office and once shipping to a head office that is
down, with the figures side by side. A branch must serve exactly as fast either way: its
shipper runs on a thread of its own and the commit path only wakes it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tools.harness import DEAD_HEAD_OFFICE_MODES, client

MODES = DEAD_HEAD_OFFICE_MODES


def link_status(base_url: str, manager_token: str) -> dict[str, Any]:
    """What the branch says of its link (proof the dead head office was really tried)."""
    with client(base_url, manager_token) as http:
        status: dict[str, Any] = http.get("/head-office").raise_for_status().json()
    return {k: status.get(k) for k in ("url", "link", "last_error", "backlog", "watermark")}


def side_by_side(
    title: str, without: dict[str, Any], down: dict[str, Any], rows: Sequence[tuple[str, str]]
) -> str:
    """The figures named by `rows` (label, key), without a head office and with it down."""
    mode = down["head_office"]["mode"]
    lines = [
        f"{title}: without a head office, and shipping to one that is down ({mode})",
        "",
        f"  {'':<30}{'without':>12}{'centre down':>14}{'change':>9}",
    ]
    for label, key in rows:
        a, b = without.get(key), down.get(key)
        change = f"{100 * (b - a) / a:+.0f} %" if a and b is not None else "—"
        lines.append(f"  {label:<30}{_num(a):>12}{_num(b):>14}{change:>9}")
    link = down["head_office"]
    lines += [
        "",
        f"  the dead head office: {link['url']}, link {link['link']}, "
        f"last error {link['last_error']}, {link['backlog']} events waiting to ship",
    ]
    return "\n".join(lines)


def _num(v: Any) -> str:
    return "—" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)
