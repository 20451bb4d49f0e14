"""The manager console's screens for `python -m tools.screenshots.qt --only manager`, built offline.

No server: the console gets a client that is never started, with a snapshot of the demo
branch (a busy morning: account opening over target, cash near it, one counter paused, one
closed, alerts and a follow-up open) loaded into its model, and canned advice, audit and
staff lists shown as if they had just been read.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication, QWidget

from tools.screenshots.counter import AT, DEMO_URL, _at, _ticket, demo_snapshot
from tools.screenshots.qt import Screen, demo_config, snapshot_services
from ui import theme
from ui.i18n import Translator
from ui.manager.client import ManagerClient
from ui.manager.window import ManagerWindow, open_console

SMALL = (1366, 768)
FULL = (1920, 1080)

WAITING = [
    _ticket(41, "C012", "C", 19),
    _ticket(42, "C013", "C", 16, priority="care"),
    _ticket(43, "C014", "C", 7),
    _ticket(44, "A031", "A", 8.5),
    _ticket(45, "A032", "A", 6),
    _ticket(46, "A033", "A", 2),
    _ticket(47, "K007", "K", 4),
    _ticket(48, "B009", "B", 3),
    _ticket(49, "L003", "L", 2, priority="appointment"),
]
AT_COUNTERS = [
    _ticket(31, "A029", "A", 12, state="serving", counter=1, called_at=_at(6), serving_at=_at(5)),
    _ticket(32, "B008", "B", 9, state="called", counter=2, called_at=_at(0.5)),
    _ticket(33, "C011", "C", 27, state="serving", counter=4, called_at=_at(14), serving_at=_at(13)),
    _ticket(34, "W002", "W", 5, state="serving", counter=6, called_at=_at(3), serving_at=_at(2)),
]
ALERTS: list[dict[str, Any]] = [
    {
        "id": "a-17",
        "kind": "business_over_target",
        "severity": "critical",
        "subject": {"service": "C", "longest_wait_s": 1140, "target_s": 900, "eta_s": 1500},
        "detail": "longest wait 19 min, over the 15 min target",
        "raised_at": _at(4),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "cleared_at": None,
    },
    {
        "id": "a-16",
        "kind": "device_fault",
        "severity": "warning",
        "subject": {"device": "kiosk-1/printer", "health": "error", "detail": "paper out"},
        "detail": "paper out",
        "raised_at": _at(11),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "cleared_at": None,
    },
    {
        "id": "a-15",
        "kind": "counter_paused_long",
        "severity": "warning",
        "subject": {"counter": 3, "name": "3号窗口", "reason": "午餐", "paused_s": 1500},
        "detail": "3号窗口 paused for 25 min (午餐)",
        "raised_at": _at(5),
        "acknowledged_at": _at(2),
        "acknowledged_by": "manager",
        "cleared_at": None,
    },
]
# The head office's hall thresholds crossed, and bookings kept on a day it closed.
HALL_ALERTS: list[dict[str, Any]] = [
    {
        "id": "a-21",
        "kind": "hall_crowded",
        "severity": "warning",
        "subject": {"waiting": 34, "limit": 30},
        "detail": "34 customers waiting, over the 30 set by the head office",
        "raised_at": _at(3),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "cleared_at": None,
    },
    {
        "id": "a-20",
        "kind": "hall_over_target",
        "severity": "critical",
        "subject": {"over_target": 15, "waiting": 34, "share": 0.441, "limit_share": 0.2},
        "detail": "15 of 34 waiting customers are past their target",
        "raised_at": _at(6),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "cleared_at": None,
    },
    {
        "id": "a-19",
        "kind": "bookings_outside_hours",
        "severity": "warning",
        "subject": {
            "day": "2026-11-29",
            "count": 3,
            "appointment_ids": [41, 42, 47],
            "services": ["C"],
            "first_slot": "10:30",
            "hours": [],
        },
        "detail": "3 booking(s) on 2026-11-29 are outside the hours",
        "raised_at": _at(40),
        "acknowledged_at": None,
        "acknowledged_by": None,
        "cleared_at": None,
    },
]
FOLLOWUPS: list[dict[str, Any]] = [
    {
        "id": 7,
        "ticket_id": 12,
        "number": "A021",
        "service": "A",
        "counter": 2,
        "staff_id": "t102",
        "rating": 1,
        "rated_at": _at(18),
        "note": "",
        "resolved_at": None,
        "resolved_by": None,
    },
]
TODAY = {
    "A": {"called": 28, "within_target": 25},
    "B": {"called": 9, "within_target": 9},
    "C": {"called": 11, "within_target": 7},
    "K": {"called": 6, "within_target": 6},
    "M": {"called": 4, "within_target": 4},
    "L": {"called": 3, "within_target": 3},
    "W": {"called": 2, "within_target": 2},
}


def _advice() -> dict[str, Any]:
    day = "2026-11-27"
    recommended = {
        "10:00": {"A": 2, "B": 1, "C": 3, "K": 1, "M": 1, "L": 1, "W": 1},
        "10:30": {"A": 2, "B": 1, "C": 3, "K": 1, "M": 1, "L": 1, "W": 1},
        "11:00": {"A": 3, "B": 1, "C": 2, "K": 1, "M": 1, "L": 1, "W": 1},
        "11:30": {"A": 3, "B": 1, "C": 2, "K": 1, "M": 1, "L": 1, "W": 1},
        "12:00": {"A": 2, "B": 1, "C": 2, "K": 1, "M": 1, "L": 1, "W": 1},
        "12:30": {"A": 2, "B": 1, "C": 1, "K": 1, "M": 1, "L": 1, "W": 1},
        "13:00": {"A": 2, "B": 1, "C": 1, "K": 1, "M": 1, "L": 1, "W": 1},
        "13:30": {"A": 2, "B": 1, "C": 1, "K": 1, "M": 1, "L": 1, "W": 1},
    }
    intervals = []
    for hhmm, by in recommended.items():
        h, m = (int(x) for x in hhmm.split(":"))
        start = f"{day}T{h:02d}:{m:02d}:00+08:00"
        m2, h2 = (m + 30) % 60, h + (m + 30) // 60
        end = f"{day}T{h2:02d}:{m2:02d}:00+08:00"
        intervals.append(
            {
                "start": start,
                "end": end,
                "current": hhmm == "10:00",
                "by_service": {
                    code: {
                        "forecast_arrivals": 4.0,
                        "offered_load": 1.0,
                        "recommended_windows": n,
                        "service_level": 0.85,
                        "open_windows_now": None,
                        "service_level_now": None,
                    }
                    for code, n in by.items()
                },
            }
        )
    return {
        "day": day,
        "interval_min": 30,
        "forecast_basis": "weekday",
        "history_days": 28,
        "services": {},
        "recommended_counter_hours": 62.5,
        "intervals": intervals,
        "moves": [
            {
                "counter": 5,
                "counter_name": "5号窗口",
                "from_service": "K",
                "to_service": "C",
                "start": f"{day}T10:00:00+08:00",
                "end": f"{day}T11:00:00+08:00",
            },
            {
                "counter": 2,
                "counter_name": "2号窗口",
                "from_service": "B",
                "to_service": "A",
                "start": f"{day}T11:00:00+08:00",
                "end": f"{day}T12:00:00+08:00",
            },
        ],
    }


AUDIT: list[dict[str, Any]] = [
    {
        "seq": 212 - i,
        "at": _at(3 * i + 1),
        "actor": actor,
        "action": action,
        "target": target,
        "before": before,
        "after": after,
    }
    for i, (actor, action, target, before, after) in enumerate(
        [
            ("manager", "counter.skills", "counter:5", {"skills": "K M B"}, {"skills": "C K M B"}),
            ("manager", "counter.open", "counter:4", {"state": "closed"}, {"state": "open"}),
            ("t103", "counter.pause", "counter:3", {"state": "open"}, {"state": "paused"}),
            ("manager", "branch.notice", "branch", {"text": ""}, {"text": "今日理财讲座 14:00"}),
            ("manager", "service.update", "service:C", {"target_wait_s": 1200}, None),
            ("admin", "token.create", "token:14", None, {"role": "kiosk", "name": "kiosk-2"}),
        ]
    )
]


def _row(policy: str, label: str, share: float, p95: tuple[float, ...], total: float,
         *, params: dict[str, Any] | None = None, over: tuple[str, ...] = (),
         chosen: bool = False, floods: bool = False) -> dict[str, Any]:  # fmt: skip
    classes = ("regular", "vip", "care", "appointment")
    return {
        "label": label, "policy": policy, "params": params or {},
        "within_target_share": share, "within_target_ci95": [share - 0.011, share + 0.012],
        "p95_wait_min": dict(zip(classes, p95, strict=True)),
        "target_min": {"regular": 11.4, "vip": 5.0, "care": 5.0, "appointment": 5.0},
        "total_wait_min": total, "classes_over_target": list(over),
        "starves_under_flood": floods, "chosen": chosen,
    }  # fmt: skip


HEADS = {"regular": 0.0, "vip": 10.0, "care": 10.0, "appointment": 20.0}
POLICY: dict[str, Any] = {
    "running": {
        "name": "accumulating", "label": "accumulating[appointment=20,care=10,regular=0,vip=10]",
        "params": {"head_starts": HEADS}, "since": _at(700), "actor": "system",
        "reason": {
            "zh": "选择accumulating[appointment=20,care=10,regular=0,vip=10]：等候超出目标的客户"
            "类别最少（0 类），sla有 1 类。（strict会让普通客户无限等候，已排除。）",
            "en": "Chose accumulating[appointment=20,care=10,regular=0,vip=10]: fewest customer "
            "classes over their target (0), against 1 for sla. (strict can starve regular "
            "customers: excluded.)",
        },
        "tournament": 4,
    },
    "job": None,
    "last": {
        "id": 5, "started_at": _at(30), "finished_at": _at(28), "for_day": "2026-11-28",
        "trigger": "manager", "actor": "manager", "state": "done",
        "chosen": {"name": "accumulating", "params": {"head_starts": HEADS},
                   "label": "accumulating[appointment=20,care=10,regular=0,vip=10]"},
        "error": None, "applied_at": None,
        "result": {
            "days": 10, "scenario": "forecast 2026-11-28 (weekday)",
            "table": [
                _row("fifo", "fifo", 0.871, (13.2, 12.8, 13.0, 12.5), 4630.0,
                     over=("vip", "care", "appointment")),
                _row("strict", "strict", 0.902, (16.8, 2.1, 2.4, 1.9), 4410.0, floods=True),
                _row("accumulating", "accumulating", 0.889, (14.0, 6.2, 5.9, 4.1), 4520.0,
                     over=()),
                _row("sla", "sla", 0.893, (14.5, 4.8, 4.9, 8.1), 4480.0, over=("appointment",)),
                _row("accumulating", "accumulating[appointment=20,care=10,regular=0,vip=10]",
                     0.897, (14.6, 4.4, 4.6, 3.2), 4460.0, params={"head_starts": HEADS},
                     chosen=True),
            ],
        },
    },
}  # fmt: skip


def demo_report() -> dict[str, Any]:
    """A week of the demo branch as GET /api/v1/reports would give it (figures invented)."""
    services = {s["code"]: s for s in snapshot_services(demo_config())}
    volume = {"A": 412, "B": 168, "C": 121, "K": 96, "M": 74, "L": 38, "W": 29}
    waits = {"A": 410, "B": 300, "C": 780, "K": 350, "M": 260, "L": 540, "W": 330}
    within = {"A": 0.86, "B": 0.93, "C": 0.74, "K": 0.9, "M": 0.95, "L": 0.84, "W": 0.9}
    profile = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0.9, 1.4, 1.2, 0.7, 0.6, 1.0, 1.1, 0.8]
    weight = sum(profile)

    def flow(n: int, wait: float, share: float) -> dict[str, Any]:
        return {
            "issued": n, "transfers_in": n // 20, "called": n - 3, "served": n - 9,
            "no_show": 6, "transfers_out": n // 20, "cancelled": 3, "open": 0,
            "mean_wait_s": wait, "p90_wait_s": wait * 2.1, "within_target": share,
            "mean_service_s": 380.0, "no_show_rate": 6 / n, "transfer_rate": 0.05,
            "ratings": {"1": n // 90, "2": n // 30, "3": n // 6, "4": n // 3},
            "rated": n // 2, "satisfaction": 0.9,
        }  # fmt: skip

    total = sum(volume.values())
    return {
        "from": "2026-11-21",
        "to": "2026-11-27",
        "days": 7,
        "timezone": "Asia/Shanghai",
        "generated_at": AT.isoformat(),
        "totals": flow(total, 440.0, 0.86),
        "by_business": [
            {
                "service": code,
                "names": services[code]["names"],
                "target_wait_s": services[code]["target_wait_s"],
                **flow(n, waits[code], within[code]),
            }
            for code, n in volume.items()
        ],
        "by_hour": [
            {
                "hour": hour,
                "issued": round(total * f / weight),
                "transfers_in": 0,
                "called": round(total * f / weight),
                "mean_wait_s": 400.0,
                "p90_wait_s": 900.0,
                "within_target": 0.85,
                "by_business": {c: round(n * f / weight) for c, n in volume.items()},
            }
            for hour, f in enumerate(profile)
            if f
        ],
        "by_counter": [
            {"counter": n, "name": f"{n}号窗口", **flow(150 - 9 * n, 400.0, 0.9)}
            for n in range(1, 7)
        ],
        "by_staff": [{"staff_id": f"t10{n}", **flow(150 - 9 * n, 400.0, 0.9)} for n in range(1, 7)],
        "by_day": [
            {
                "day": f"2026-11-{d}",
                "issued": 120 + 7 * (d % 3),
                "called": 118,
                "served": 112,
                "no_show": 4,
                "cancelled": 2,
                "mean_wait_s": 420.0 + 10 * (d % 4),
                "p90_wait_s": 950.0,
                "within_target": 0.84 + 0.01 * (d % 3),
            }
            for d in range(21, 28)
        ],
        "appointments": {
            "booked": 40,
            "cancelled": 3,
            "checked_in": 33,
            "on_time": 28,
            "early": 3,
            "late": 2,
            "no_shows": 4,
            "pending": 0,
            "no_show_rate": 0.11,
            "by_business": [],
        },
    }


def manager_snapshot(alerts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    snap = demo_snapshot()
    for c in snap["counters"]:
        if c["number"] == 3:
            c.update(state="paused", pause_reason="lunch")
        if c["number"] == 5:
            c.update(skills=[{"service": s, "weight": 1.0, "overflow": False} for s in "KMBA"])
        if c["number"] == 6:
            c["skills"][-1]["overflow"] = True
    snap["counters"].append(
        {
            "number": 7,
            "name": "7号窗口",
            "location": "",
            "state": "closed",
            "staff_id": None,
            "staff_name": "",
            "skills": [{"service": "A", "weight": 1.0, "overflow": False}],
            "pause_reason": "",
        }
    )
    snap["tickets"] = [dict(t) for t in WAITING + AT_COUNTERS]
    snap["recent_calls"] = [
        _ticket(30, "K006", "K", 20, state="done", counter=5, finished_at=_at(3.5)),
        _ticket(29, "M003", "M", 25, state="done", counter=5, finished_at=_at(9)),
    ]
    snap["waiting"] = {
        "A": {"waiting": 3, "longest_wait_s": 510, "open_counters": 2, "eta_new_s": 540.0},
        "B": {"waiting": 1, "longest_wait_s": 180, "open_counters": 2, "eta_new_s": 240.0},
        "C": {"waiting": 3, "longest_wait_s": 1140, "open_counters": 1, "eta_new_s": 1500.0},
        "K": {"waiting": 1, "longest_wait_s": 240, "open_counters": 2, "eta_new_s": 300.0},
        "M": {"waiting": 0, "longest_wait_s": 0, "open_counters": 2, "eta_new_s": 0.0},
        "L": {"waiting": 1, "longest_wait_s": 120, "open_counters": 1, "eta_new_s": 600.0},
        "W": {"waiting": 0, "longest_wait_s": 0, "open_counters": 1, "eta_new_s": 0.0},
    }
    snap["alerts"] = [dict(a) for a in (ALERTS if alerts is None else alerts)]
    snap["followups"] = [dict(f) for f in FOLLOWUPS]
    snap["today"] = TODAY
    snap["branch"]["notice"] = "今日 14:00 理财讲座,欢迎参加"
    return snap


def manager_window(
    tr: Translator, *, online: bool = True, alerts: list[dict[str, Any]] | None = None
) -> ManagerWindow:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app, variant="staff")
    client = ManagerClient(DEMO_URL, "screenshots")  # never started: no network at all
    client.model.load_snapshot(manager_snapshot(alerts))
    window = open_console(client, tr=tr, fetch=False, offline_grace_ms=0)
    window.console.clock.observe(AT.isoformat())
    window.connection_changed(online)
    if not online:
        window._show_offline()
    window.show_advice(_advice())
    return window


def live(tr: Translator) -> QWidget:
    return manager_window(tr)


def windows(tr: Translator) -> QWidget:
    window = manager_window(tr)
    window.tabs.setCurrentWidget(window.windows)
    window.windows.select(6)
    window.windows.editor.list.setCurrentRow(0)
    return window


def advice(tr: Translator) -> QWidget:
    window = manager_window(tr)
    window.tabs.setCurrentWidget(window.advice)
    return window


def policy(tr: Translator) -> QWidget:
    window = manager_window(tr)
    window.tabs.setCurrentWidget(window.policy)
    window.policy.show_overview(POLICY)
    return window


def alerts(tr: Translator) -> QWidget:
    window = manager_window(tr)
    window.tabs.setCurrentWidget(window.alerts)
    window.alerts.show_history([*ALERTS, {**ALERTS[1], "id": "a-9", "cleared_at": _at(80)}])
    return window


def hall_alerts(tr: Translator) -> QWidget:
    window = manager_window(tr, alerts=[*HALL_ALERTS, *ALERTS])
    window.tabs.setCurrentWidget(window.alerts)
    return window


def audit(tr: Translator) -> QWidget:
    window = manager_window(tr)
    window.tabs.setCurrentWidget(window.audit)
    window.audit.show_entries(AUDIT)
    return window


def settings(tr: Translator) -> QWidget:
    window = manager_window(tr)
    window.tabs.setCurrentWidget(window.settings)
    window.settings.snapshot_loaded()
    window.settings.services.selectRow(2)
    return window


# Version 7 of the head office's configuration: the region lengthened account opening's
# target and sets the opening hours, the centre renamed the branch's appointment desk, the
# branch's wealth desk (K) is dropped and drains, and the manager changed the hall notice.
CONFIG_VERSION: dict[str, Any] = {
    "version": 7,
    "issued_at": _at(95),
    "applied_at": _at(94),
    "template": {"id": "retail", "version": 12},
    "overridden": {
        "services.C.target_wait_min": "region",
        "services.L.names": "branch",
        "opening_hours": "region",
    },
    "branch_editable": ["counters.skills", "notice"],
    "edited_here": ["notice"],
    "draining": ["K"],
    "effective": {},
}
HEAD_OFFICE: dict[str, Any] = {
    "configured": True,
    "link": "up",
    "downlink": {"configured": True, "last_poll_at": _at(0.5), "last_error": None},
}


def _office_page(tr: Translator, version: dict[str, Any], link: dict[str, Any]) -> QWidget:
    window = manager_window(tr)
    window.tabs.setCurrentWidget(window.settings)
    s = window.settings
    s.inner.setCurrentWidget(s.office_page)
    s.office_page.show_config(version, link)
    return window


def head_office(tr: Translator) -> QWidget:
    return _office_page(tr, CONFIG_VERSION, HEAD_OFFICE)


def no_head_office(tr: Translator) -> QWidget:
    return _office_page(tr, {"version": None}, {"configured": False})


def devices(tr: Translator) -> QWidget:
    window = manager_window(tr)
    window.tabs.setCurrentWidget(window.settings)
    s = window.settings
    s.inner.setCurrentWidget(s.devices_page)
    s.show_tokens(
        [
            {"id": 11, "role": "kiosk", "name": "kiosk-1", "created_at": "2026-11-01T09:00:00"},
            {"id": 12, "role": "counter:1", "name": "1号窗口", "created_at": "2026-11-01T09:01:00"},
            {"id": 13, "role": "display", "name": "大厅电视", "created_at": "2026-11-01T09:02:00"},
            {
                "id": 9,
                "role": "kiosk",
                "name": "旧取号机",
                "created_at": "2026-10-02T09:00:00",
                "revoked_at": "2026-11-01T08:00:00",
            },
        ]
    )
    s.role.setCurrentIndex(0)
    s.device_name.setText("kiosk-2")
    s.show_pairing("kiosk", "bq_demo_7Hc2kQ9xLm4Vw8Rt")
    return window


def reports(tr: Translator) -> QWidget:
    window = manager_window(tr)
    window.tabs.setCurrentWidget(window.reports)
    window.reports.show_report(demo_report())
    return window


def report_table(tr: Translator) -> QWidget:
    window = manager_window(tr)
    window.tabs.setCurrentWidget(window.reports)
    window.reports.show_report(demo_report())
    window.reports.inner.setCurrentWidget(window.reports.business_table)
    return window


def offline(tr: Translator) -> QWidget:
    return manager_window(tr, online=False)


def screens() -> list[Screen]:
    """Every console screen, for `python -m tools.screenshots.qt --only manager`."""
    # A manager's PC: a 1366×768 laptop or a 1920×1080 monitor, every tab on both.
    return [
        Screen(name, build, sizes=(SMALL, FULL), large_variants=(False,))
        for name, build in (
            ("manager-live", live),
            ("manager-windows", windows),
            ("manager-advice", advice),
            ("manager-policy", policy),
            ("manager-alerts", alerts),
            ("manager-alerts-hall", hall_alerts),
            ("manager-audit", audit),
            ("manager-settings", settings),
            ("manager-devices", devices),
            ("manager-head-office", head_office),
            ("manager-no-head-office", no_head_office),
            ("manager-reports", reports),
            ("manager-reports-table", report_table),
            ("manager-offline", offline),
        )
    ]
