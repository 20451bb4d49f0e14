"""The counter app's screens for `python -m tools.screenshots.qt --only counter`, built offline.

No server: the window gets a client that is never started, with a snapshot of the demo
branch (counter 4, which serves account opening, cards, mobile banking, other and cash)
loaded into its model, and reads that answer at once from canned data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from PySide6.QtWidgets import QApplication, QWidget

from tools.screenshots.qt import Screen, demo_config, snapshot_services
from ui import theme
from ui.client import BranchClient
from ui.counter.compact import COMPACT_SIZE
from ui.counter.reads import Answer
from ui.counter.session import Action
from ui.counter.window import CounterWindow, open_counter
from ui.i18n import Translator

DEMO_URL = "http://192.168.1.10:8470"
COUNTER = 4
AT = datetime.fromisoformat("2026-11-27T10:20:00+08:00")
SMALL = (1366, 768)
FULL = (1920, 1080)
# A made-up customer (the name and number are invented; the check digit is valid).
DEMO_EFORM = {
    "name": "王建华",
    "gender": "男",
    "ethnicity": "汉",
    "birth_date": "1955-03-07",
    "id_number": "11010519550307002X",
    "address": "北京市朝阳区建国路 88 号 3 单元 502 室",
    "issued_by": "北京市公安局朝阳分局",
    "valid_from": "2016-05-10",
    "valid_to": "长期",
}


# The demo's tellers by staff id (invented names), as the staff list would have them.
DEMO_TELLERS = {
    "t101": "李强",
    "t102": "张敏",
    "t103": "刘洋",
    "t104": "王丽",
    "t105": "陈静",
    "t106": "杨帆",
}


def _at(minutes_ago: float) -> str:
    return (AT - timedelta(minutes=minutes_ago)).isoformat()


def _ticket(
    tid: int, number: str, service: str, minutes_ago: float, **fields: Any
) -> dict[str, Any]:
    ticket = {
        "id": tid,
        "number": number,
        "service": service,
        "business_day": "2026-11-27",
        "arrived_at": _at(minutes_ago),
        "issued_at": _at(minutes_ago),
        "priority": "regular",
        "vip_tier": 0,
        "source": "kiosk",
        "state": "waiting",
        "visit_id": tid,
        "leg": 1,
        "previous_id": None,
        "called_at": None,
        "serving_at": None,
        "finished_at": None,
        "counter": None,
        "target_counter": None,
        "recall_count": 0,
        "note": "",
        "appointment_id": None,
        "appointment_slot": None,
        "staff_id": None,
        "rating": None,
        "bundle": None,
        "has_eform": False,
    }
    ticket.update(fields)
    return ticket


WAITING = [
    _ticket(21, "C012", "C", 26),
    _ticket(22, "K007", "K", 14, priority="care"),
    _ticket(23, "C013", "C", 12),
    _ticket(24, "A031", "A", 9),
    _ticket(25, "M004", "M", 6),
    _ticket(26, "B009", "B", 3),
]


def demo_snapshot(counter_state: str = "open", staff: str | None = "t104") -> dict[str, Any]:
    """The demo branch with a few customers waiting, counter 4 as given."""
    config = demo_config()
    services = snapshot_services(config)
    counters = []
    for c in config["counters"]:
        skills = [
            s if isinstance(s, dict) else {"service": s, "weight": 1.0, "overflow": False}
            for s in c["skills"]
        ]
        mine = c["number"] == COUNTER
        staff_id = staff if mine else f"t10{c['number']}"
        counters.append(
            {
                "number": c["number"],
                "name": c["name"],
                "location": c.get("location", ""),
                "state": counter_state if mine else "open",
                "staff_id": staff_id,
                "staff_name": DEMO_TELLERS.get(staff_id or "", ""),
                "skills": skills,
                "pause_reason": "lunch" if mine and counter_state == "paused" else "",
            }
        )
    branch = config["branch"]
    return {
        "epoch": "screenshots",
        "seq": 1,
        "at": AT.isoformat(),
        "business_day": "2026-11-27",
        "branch": {"name": branch["name"], "id": branch["id"], "timezone": branch["timezone"]},
        "services": services,
        "bundles": config.get("bundles", []),
        "counters": counters,
        "tickets": [dict(t) for t in WAITING],
        "recent_calls": [],
        "devices": [],
        "waiting": {},
    }


def demo_queues(counter: int) -> dict[str, dict[str, Any]]:
    """What the server's counter queue answer says of the demo's waiting customers: per
    business the counter serves, in its order, the count and the longest wait at AT."""
    snap = demo_snapshot()
    skills = next(c["skills"] for c in snap["counters"] if c["number"] == counter)
    targets = {svc["code"]: int(svc["target_wait_s"]) for svc in snap["services"]}
    out: dict[str, dict[str, Any]] = {}
    for skill in skills:
        code = skill["service"]
        waits = [
            (AT - datetime.fromisoformat(t["arrived_at"])).total_seconds()
            for t in WAITING
            if t["service"] == code
        ]
        longest = round(max(waits, default=0.0))
        out[code] = {
            "waiting": len(waits),
            "longest_wait_s": longest,
            "target_wait_s": targets[code],
            "overflow": bool(skill.get("overflow")),
            "over_target": longest > targets[code],
        }
    return out


class DemoReads:
    """The server's reads, answered at once from canned data."""

    def queue(self, counter: int, limit: int, done: Answer) -> None:
        done(
            {
                "counter": counter,
                "at": AT.isoformat(),
                "next": WAITING[:limit],
                "by_service": demo_queues(counter),
                "targeted": 0,
            },
            None,
        )

    def today(self, counter: int, done: Answer) -> None:
        done(
            {
                "counter": counter,
                "called": 23,
                "served": 19,
                "no_shows": 2,
                "transfers_out": 1,
                "avg_service_s": 412.0,
                "avg_wait_s": 530.0,
                "ratings": {"4": 11, "3": 4, "2": 1, "1": 0},
                "rating_avg": 3.6,
            },
            None,
        )

    def eform(self, ticket_id: int, done: Answer) -> None:
        done({"ticket_id": ticket_id, "fields": DEMO_EFORM}, None)

    def history(self, ticket_id: int, done: Answer) -> None:
        first = _ticket(
            ticket_id - 1, "B008", "B", 31, state="transferred", counter=2, finished_at=_at(9)
        )
        now = _ticket(
            ticket_id, "B008", "C", 31, leg=2, previous_id=ticket_id - 1,
            note="客户要开二类户,身份证已核验",
        )  # fmt: skip
        done({"visit_id": first["id"], "legs": [first, now]}, None)


def counter_window(
    tr: Translator,
    *,
    state: str = "open",
    staff: str | None = "t104",
    at_counter: dict[str, Any] | None = None,
    rating: tuple[int, str, int | None] | None = (18, "A029", 4),
    online: bool = True,
) -> CounterWindow:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app, variant="staff")
    client = BranchClient(DEMO_URL, "screenshots")  # never started: no network at all
    snap = demo_snapshot(state, staff)
    if at_counter is not None:
        snap["tickets"].append(at_counter)
    client.model.load_snapshot(snap)
    window = open_counter(client, COUNTER, tr=tr, reads=DemoReads(), offline_grace_ms=0)
    window.connection_changed(True)
    window.refresh_now()  # the reads answer at once
    if rating is not None:
        tid, number, stars = rating
        window.session.action_answered(
            {"id": tid, "number": number, "state": "done", "counter": COUNTER}
        )
        if stars is not None:
            window.session.event({"kind": "ticket.rated", "ticket": {"id": tid}, "rating": stars})
    if not online:
        window.connection_changed(False)
        window._show_offline()
    window.update_view()
    return window


CALLED = _ticket(
    30, "C011", "C", 31, state="called", counter=COUNTER, called_at=_at(0.5),
    priority="care", has_eform=True, bundle="NEW", staff_id="t104",
)  # fmt: skip
SERVING = _ticket(
    31, "B008", "C", 31, state="serving", counter=COUNTER, called_at=_at(4),
    serving_at=_at(3), leg=2, previous_id=30, priority="appointment",
    appointment_slot="2026-11-27T10:30:00+08:00", note="客户要开二类户,身份证已核验",
    staff_id="t104",
)  # fmt: skip


def sign_in(tr: Translator) -> QWidget:
    window = counter_window(tr, state="closed", staff=None, rating=None)
    window.sign_in.staff.setText("t104")
    window.sign_in.show_error("counter.sign_in.failed")
    return window


def idle(tr: Translator) -> QWidget:
    return counter_window(tr)


def called(tr: Translator) -> QWidget:
    return counter_window(tr, at_counter=dict(CALLED))


def serving(tr: Translator) -> QWidget:
    return counter_window(tr, at_counter=dict(SERVING), rating=(18, "A029", None))


def paused(tr: Translator) -> QWidget:
    return counter_window(tr, state="paused")


def offline(tr: Translator) -> QWidget:
    window = counter_window(tr, at_counter=dict(CALLED), online=False)
    window.press(window.buttons[next(iter(window.buttons))].action)  # refused: offline
    return window


def transfer(tr: Translator) -> QWidget:
    window = counter_window(tr, at_counter=dict(SERVING))
    dialog = window.open_transfer()
    dialog.choose_service("K")
    dialog.note.setText("客户还需办一张借记卡")
    dialog._owner = window  # type: ignore[attr-defined]  # keeps the window alive with it
    return dialog


def compact(tr: Translator) -> QWidget:
    """The always-on-top bar with a customer called (the full window hidden behind it)."""
    window = counter_window(tr, at_counter=dict(CALLED))
    bar = window.enter_compact()
    bar._owner = window  # type: ignore[attr-defined]  # keeps the window alive with it
    return bar


def compact_offline(tr: Translator) -> QWidget:
    """The bar offline, after a key was refused: the reason shows in the bar itself."""
    window = counter_window(tr, online=False)
    bar = window.enter_compact()
    window.press(Action.CALL_NEXT)
    bar._owner = window  # type: ignore[attr-defined]
    return bar


def screens() -> list[Screen]:
    """Every counter screen, for `python -m tools.screenshots.qt --only counter`."""
    # A teller's PC: a 1366×768 laptop or a 1920×1080 monitor; the dialog and the
    # compact bar at their own sizes.
    return [
        *(
            Screen(name, build, sizes=(SMALL, FULL), large_variants=(False,))
            for name, build in (
                ("counter-sign-in", sign_in),
                ("counter-idle", idle),
                ("counter-called", called),
                ("counter-serving", serving),
                ("counter-paused", paused),
                ("counter-offline", offline),
            )
        ),
        Screen("counter-transfer", transfer, sizes=((720, 480),), large_variants=(False,)),
        Screen("counter-compact", compact, sizes=(COMPACT_SIZE,), large_variants=(False,)),
        Screen(
            "counter-compact-offline",
            compact_offline,
            sizes=(COMPACT_SIZE,),
            large_variants=(False,),
        ),
    ]
