"""The read models, kept from ingested events inside the ingest transaction.

A ticket event carries the whole ticket leg, so a leg's share of its day's figures is worked
out from the leg alone; `ticket_legs` keeps the share last counted, and each new event of
the leg replaces it by difference. `daily_business` is therefore right whatever order of
batches a day arrives in and however often a leg changes, and the live figures are today's
row of it plus what is open now. The definitions follow the branch's own report
(`queue_server.domain.reports`): a leg's wait runs from joining the queue (its `issued_at`)
to its first call; within target is judged at that call against the business's target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

if TYPE_CHECKING:
    from central.storage.ingest import Incoming

DEFAULT_TARGET_WAIT_S = 600  # the branch's own default for a business it no longer describes
OPEN_STATES = frozenset({"waiting", "called", "serving"})
ACTIVE_STATES = frozenset({"called", "serving"})
RATINGS = range(1, 5)
KEEP_LEGS_DAYS = 7  # a leg's share is kept this long for late events (a rating, a cancel)


@dataclass(slots=True)
class Leg:
    """One ticket leg's share of its business day's figures."""

    day: date
    service: str
    leg: int
    state: str
    wait_s: float | None
    within: bool
    service_s: float | None
    rating: int | None

    def figures(self) -> tuple[float, ...]:
        """The leg's share, in the order of FIGURES."""
        rated = self.state == "done" and self.rating in RATINGS
        called = self.wait_s is not None
        return (
            1 if self.leg == 0 else 0,
            1 if called else 0,
            1 if self.state == "done" else 0,
            1 if self.state == "no_show" else 0,
            1 if self.state == "cancelled" else 0,
            self.wait_s or 0.0,
            1 if self.within and called else 0,
            self.service_s or 0.0,
            (self.rating or 0) if rated else 0,
            1 if rated else 0,
        )


FIGURES = (
    "issued", "called", "served", "no_show", "cancelled", "wait_sum_s", "within_target",
    "service_sum_s", "rating_sum", "rating_count",
)  # fmt: skip
COUNTS = frozenset(FIGURES) - {"wait_sum_s", "service_sum_s"}  # integer columns


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


# A ticket at the centre: its id and when it was issued. A branch restored from an older copy
# gives its lost ids to new customers; the issue time tells them from the customers the
# centre already counted (and a ticket keeps it through every event of its life).
TicketKey = tuple[int, datetime]


def ticket_key(t: Mapping[str, Any]) -> TicketKey:
    return int(t["id"]), datetime.fromisoformat(t["issued_at"])


def _leg_of(t: Mapping[str, Any], before: Leg | None, target_s: int) -> Leg:
    """The leg's share now; a first call's wait and verdict never change after it."""
    wait_s, within = (before.wait_s, before.within) if before else (None, False)
    called_at = _dt(t.get("called_at"))
    if wait_s is None and called_at is not None:
        wait_s = max(0.0, (called_at - datetime.fromisoformat(t["issued_at"])).total_seconds())
        within = wait_s <= target_s
    serving_at, finished_at = _dt(t.get("serving_at")), _dt(t.get("finished_at"))
    service_s = None
    if t["state"] == "done" and serving_at is not None and finished_at is not None:
        service_s = max(0.0, (finished_at - serving_at).total_seconds())
    rating = t.get("rating")
    return Leg(
        day=date.fromisoformat(t["business_day"]),
        service=t["service"],
        leg=int(t.get("leg") or 0),
        state=t["state"],
        wait_s=wait_s,
        within=within,
        service_s=service_s,
        rating=rating if isinstance(rating, int) else None,
    )


@dataclass(slots=True)
class _Day:
    """What one batch adds to one business day and business."""

    figures: list[float] = field(default_factory=lambda: [0.0] * len(FIGURES))
    wait_max_s: float = 0.0

    def add(self, leg: Leg, sign: int) -> None:
        self.figures = [a + sign * b for a, b in zip(self.figures, leg.figures(), strict=True)]


def save_profile(conn: psycopg.Connection, branch: str, profile: Mapping[str, Any]) -> None:
    """The businesses (names, targets) and counters a branch's hello describes."""
    services = profile.get("services")
    if isinstance(services, list):
        _save_services(conn, branch, [s for s in services if isinstance(s, dict)])
    counters = profile.get("counters")
    if isinstance(counters, list):
        conn.cursor().executemany(
            "INSERT INTO live_counters (branch_id, number, name, state) "
            "VALUES (%s, %s, %s, 'closed') ON CONFLICT (branch_id, number) "
            "DO UPDATE SET name = EXCLUDED.name",
            [
                (branch, c["number"], str(c.get("name", c["number"])))
                for c in counters
                if isinstance(c, dict) and isinstance(c.get("number"), int)
            ],
        )


def _target_of(s: Mapping[str, Any]) -> int:
    for key, scale in (("target_wait_s", 1), ("target", 1), ("target_wait_min", 60)):
        value = s.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value * scale)
    return DEFAULT_TARGET_WAIT_S


def _save_services(
    conn: psycopg.Connection, branch: str, services: Iterable[Mapping[str, Any]]
) -> None:
    conn.cursor().executemany(
        "INSERT INTO branch_services (branch_id, service, names, target_wait_s, sort) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (branch_id, service) DO UPDATE SET "
        "names = EXCLUDED.names, target_wait_s = EXCLUDED.target_wait_s, sort = EXCLUDED.sort",
        [
            (branch, str(s["code"]), Jsonb(s.get("names") or {}), _target_of(s), s.get("sort", 0))
            for s in services
            if "code" in s
        ],
    )


def apply(conn: psycopg.Connection, branch: str, events: list[Incoming]) -> None:
    """Bring the branch's read models up to date with its new events (in seq order)."""
    targets: dict[str, int] = dict(
        conn.execute(
            "SELECT service, target_wait_s FROM branch_services WHERE branch_id = %s", (branch,)
        ).fetchall()
    )
    ticket_ids = [e.body["ticket"]["id"] for e in events if isinstance(e.body.get("ticket"), dict)]
    legs: dict[TicketKey, Leg] = {}
    if ticket_ids:
        for row in conn.execute(
            "SELECT ticket_id, issued_at, business_day, service, leg, state, wait_s, within, "
            "service_s, rating FROM ticket_legs WHERE branch_id = %s AND ticket_id = ANY(%s)",
            (branch, ticket_ids),
        ):
            legs[(row[0], row[1])] = Leg(*row[2:])
    days: dict[tuple[date, str], _Day] = {}
    tickets: dict[TicketKey, Mapping[str, Any]] = {}
    serving: dict[int, tuple[str, str | None] | None] = {}  # counter -> (number, since)|clear
    cleared: dict[int, str] = {}
    counters: dict[int, Mapping[str, Any]] = {}
    devices: dict[str, Mapping[str, Any]] = {}
    alerts: dict[str, tuple[str, Mapping[str, Any]]] = {}
    services: dict[str, Mapping[str, Any]] = {}
    newest_day: date | None = None
    for e in events:
        body = e.body
        service = body.get("service")
        if isinstance(service, dict) and "code" in service:
            services[service["code"]] = service
            targets[service["code"]] = _target_of(service)
        t = body.get("ticket")
        if isinstance(t, dict):
            key = ticket_key(t)
            before = legs.get(key)
            leg = _leg_of(t, before, targets.get(t["service"], DEFAULT_TARGET_WAIT_S))
            if before is not None:
                days.setdefault((before.day, before.service), _Day()).add(before, -1)
            now = days.setdefault((leg.day, leg.service), _Day())
            now.add(leg, +1)
            now.wait_max_s = max(now.wait_max_s, leg.wait_s or 0.0)
            legs[key] = leg
            tickets[key] = t
            newest_day = max(newest_day or leg.day, leg.day)
            counter = t.get("counter")
            if isinstance(counter, int):
                if t["state"] in ACTIVE_STATES:
                    serving[counter] = (t["number"], t.get("serving_at") or t.get("called_at"))
                    cleared.pop(counter, None)
                elif t["state"] not in OPEN_STATES:
                    cleared[counter] = t["number"]
        c = body.get("counter")
        if isinstance(c, dict) and isinstance(c.get("number"), int):
            counters[c["number"]] = c
        d = body.get("device")
        if isinstance(d, dict) and "device" in d:
            devices[d["device"]] = d
        alert = (body.get("data") or {}).get("alert")
        if e.kind.startswith("alert.") and isinstance(alert, dict) and "id" in alert:
            alerts[str(alert["id"])] = (e.kind, alert)
    if services:
        _save_services(conn, branch, services.values())
    _save_legs(conn, branch, {key: legs[key] for key in tickets})
    _add_days(conn, branch, days)
    _save_tickets(conn, branch, tickets.values())
    _save_counters(conn, branch, list(counters.values()), serving, cleared)
    _save_devices(conn, branch, list(devices.values()))
    _save_alerts(conn, branch, list(alerts.values()))
    _refresh_live(conn, branch, newest_day, max(e.at for e in events))


# Each read model's rows of a batch go in as one statement over unnested arrays (sent in
# binary): a statement a row cost the centre and PostgreSQL more than the rows themselves.


def _save_legs(conn: psycopg.Connection, branch: str, legs: Mapping[TicketKey, Leg]) -> None:
    if not legs:
        return
    rows = [(tid, issued_at, g) for (tid, issued_at), g in legs.items()]
    conn.execute(
        "INSERT INTO ticket_legs (branch_id, ticket_id, issued_at, business_day, service, leg, "
        "state, wait_s, within, service_s, rating) "
        "SELECT %s, * FROM unnest(%b::bigint[], %b::timestamptz[], %b::date[], %b::text[], "
        "%b::integer[], %b::text[], %b::float8[], %b::boolean[], %b::float8[], %b::integer[]) "
        "ON CONFLICT (branch_id, ticket_id, issued_at) DO UPDATE SET "
        "business_day = EXCLUDED.business_day, "
        "service = EXCLUDED.service, leg = EXCLUDED.leg, state = EXCLUDED.state, "
        "wait_s = EXCLUDED.wait_s, within = EXCLUDED.within, service_s = EXCLUDED.service_s, "
        "rating = EXCLUDED.rating",
        (
            branch,
            [tid for tid, _, _ in rows],
            [issued_at for _, issued_at, _ in rows],
            [g.day for _, _, g in rows],
            [g.service for _, _, g in rows],
            [g.leg for _, _, g in rows],
            [g.state for _, _, g in rows],
            [g.wait_s for _, _, g in rows],
            [g.within for _, _, g in rows],
            [g.service_s for _, _, g in rows],
            [g.rating for _, _, g in rows],
        ),
    )


def _add_days(conn: psycopg.Connection, branch: str, days: Mapping[tuple[date, str], _Day]) -> None:
    if not days:
        return
    ordered = sorted(days.items())  # one lock order for every batch: no deadlock between two
    arrays = [
        ([int(d.figures[i]) for _, d in ordered], "integer")
        if k in COUNTS
        else ([d.figures[i] for _, d in ordered], "float8")
        for i, k in enumerate(FIGURES)
    ]
    sets = ", ".join(f"{k} = daily_business.{k} + EXCLUDED.{k}" for k in FIGURES)
    conn.execute(
        f"INSERT INTO daily_business (branch_id, business_day, service, {', '.join(FIGURES)}, "
        f"wait_max_s) SELECT %s, * FROM unnest(%b::date[], %b::text[], "
        f"{', '.join(f'%b::{sql_type}[]' for _, sql_type in arrays)}, %b::float8[]) "
        f"ON CONFLICT (branch_id, business_day, service) DO UPDATE SET {sets}, "
        "wait_max_s = GREATEST(daily_business.wait_max_s, EXCLUDED.wait_max_s)",
        (
            branch,
            [day for (day, _), _ in ordered],
            [service for (_, service), _ in ordered],
            *(values for values, _ in arrays),
            [d.wait_max_s for _, d in ordered],
        ),
    )


def _save_tickets(
    conn: psycopg.Connection, branch: str, tickets: Iterable[Mapping[str, Any]]
) -> None:
    open_: list[Mapping[str, Any]] = []
    gone: list[TicketKey] = []
    for t in tickets:
        if t["state"] in OPEN_STATES:
            open_.append(t)
        else:
            gone.append(ticket_key(t))
    if gone:
        conn.execute(
            "DELETE FROM live_tickets WHERE branch_id = %s AND (ticket_id, issued_at) IN "
            "(SELECT * FROM unnest(%b::bigint[], %b::timestamptz[]))",
            (branch, [k[0] for k in gone], [k[1] for k in gone]),
        )
    if not open_:
        return
    conn.execute(
        "INSERT INTO live_tickets (branch_id, ticket_id, issued_at, number, service, priority, "
        "state, arrived_at, called_at, counter) SELECT %s, * FROM unnest(%b::bigint[], "
        "%b::timestamptz[], %b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], "
        "%b::timestamptz[], %b::integer[]) "
        "ON CONFLICT (branch_id, ticket_id, issued_at) DO UPDATE SET number = EXCLUDED.number, "
        "service = EXCLUDED.service, priority = EXCLUDED.priority, state = EXCLUDED.state, "
        "arrived_at = EXCLUDED.arrived_at, called_at = EXCLUDED.called_at, "
        "counter = EXCLUDED.counter",
        (
            branch,
            [int(t["id"]) for t in open_],
            [datetime.fromisoformat(t["issued_at"]) for t in open_],
            [t["number"] for t in open_],
            [t["service"] for t in open_],
            [t.get("priority", "regular") for t in open_],
            [t["state"] for t in open_],
            [datetime.fromisoformat(t["arrived_at"]) for t in open_],
            [_dt(t.get("called_at")) for t in open_],
            [t.get("counter") for t in open_],
        ),
    )


def _save_counters(
    conn: psycopg.Connection,
    branch: str,
    counters: list[Mapping[str, Any]],
    serving: Mapping[int, tuple[str, str | None] | None],
    cleared: Mapping[int, str],
) -> None:
    # Most batches touch no counter, device or alert: no statement then (each is a round
    # trip, and a live batch's round trips are what it waits on under load).
    if counters:
        _upsert_counters(conn, branch, counters)
    if cleared:
        conn.cursor().executemany(
            "UPDATE live_counters SET serving = NULL, since = NULL "
            "WHERE branch_id = %s AND number = %s AND serving = %s",
            [(branch, n, number) for n, number in cleared.items()],
        )
    now_serving = [
        (v[0], v[1], branch, n) for n, v in serving.items() if v is not None and n not in cleared
    ]
    if now_serving:
        conn.cursor().executemany(
            "UPDATE live_counters SET serving = %s, since = %s "
            "WHERE branch_id = %s AND number = %s",
            now_serving,
        )


def _upsert_counters(
    conn: psycopg.Connection, branch: str, counters: list[Mapping[str, Any]]
) -> None:
    conn.cursor().executemany(
        "INSERT INTO live_counters (branch_id, number, name, state, staffed, skills) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (branch_id, number) DO UPDATE SET "
        "name = EXCLUDED.name, state = EXCLUDED.state, staffed = EXCLUDED.staffed, "
        "skills = EXCLUDED.skills",
        [
            (
                branch,
                c["number"],
                str(c.get("name", c["number"])),
                c.get("state", "closed"),
                c.get("staff_id") is not None,
                Jsonb(c.get("skills") or []),
            )
            for c in counters
        ],
    )


def _save_devices(conn: psycopg.Connection, branch: str, devices: list[Mapping[str, Any]]) -> None:
    if not devices:
        return
    conn.cursor().executemany(
        "INSERT INTO device_health (branch_id, device, kind, health, detail, counter, "
        "reported_at, since) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (branch_id, device) DO UPDATE SET kind = EXCLUDED.kind, "
        "health = EXCLUDED.health, detail = EXCLUDED.detail, counter = EXCLUDED.counter, "
        "reported_at = EXCLUDED.reported_at, since = CASE WHEN device_health.health = "
        "EXCLUDED.health THEN device_health.since ELSE EXCLUDED.reported_at END",
        [
            (
                branch,
                d["device"],
                d.get("kind", ""),
                d.get("health", "unknown"),
                d.get("detail", ""),
                d.get("counter"),
                d["reported_at"],
                d["reported_at"],
            )
            for d in devices
        ],
    )


def _save_alerts(
    conn: psycopg.Connection, branch: str, alerts: list[tuple[str, Mapping[str, Any]]]
) -> None:
    if not alerts:
        return
    held, gone = [], []
    for kind, a in alerts:
        if kind == "alert.cleared" or a.get("cleared_at"):
            gone.append(str(a["id"]))
        else:
            held.append(
                (branch, str(a["id"]), a.get("kind", ""), a.get("severity", ""),
                 a.get("detail", ""), a["raised_at"], a.get("acknowledged_at"))
            )  # fmt: skip
    if gone:
        conn.execute(
            "DELETE FROM live_alerts WHERE branch_id = %s AND alert_id = ANY(%s)", (branch, gone)
        )
    conn.cursor().executemany(
        "INSERT INTO live_alerts (branch_id, alert_id, kind, severity, detail, raised_at, "
        "acknowledged_at) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (branch_id, alert_id) DO UPDATE SET kind = EXCLUDED.kind, "
        "severity = EXCLUDED.severity, detail = EXCLUDED.detail, "
        "raised_at = EXCLUDED.raised_at, acknowledged_at = EXCLUDED.acknowledged_at",
        held,
    )


def _refresh_live(
    conn: psycopg.Connection, branch: str, newest_day: date | None, last_event_at: datetime
) -> None:
    """The branch's live rows: today's figures so far plus what is open now. A new business
    day starts them again from its own (empty) row."""
    row = conn.execute(
        "INSERT INTO live_branch (branch_id, business_day, last_event_at, last_received_at) "
        "VALUES (%s, %s, %s, now()) ON CONFLICT (branch_id) DO UPDATE SET "
        "business_day = GREATEST(live_branch.business_day, EXCLUDED.business_day), "
        "last_event_at = GREATEST(live_branch.last_event_at, EXCLUDED.last_event_at), "
        "last_received_at = now() RETURNING business_day",
        (branch, newest_day, last_event_at),
    ).fetchone()
    today = row[0] if row else None
    conn.execute(
        "UPDATE live_branch SET "
        "waiting = (SELECT count(*) FROM live_tickets WHERE branch_id = %(b)s "
        "  AND state = 'waiting'), "
        "windows_open = (SELECT count(*) FROM live_counters WHERE branch_id = %(b)s "
        "  AND state = 'open'), "
        "alerts_open = (SELECT count(*) FROM live_alerts WHERE branch_id = %(b)s) "
        "WHERE branch_id = %(b)s",
        {"b": branch},
    )
    if today is None:
        return
    if newest_day == today:
        conn.execute(
            "DELETE FROM ticket_legs WHERE branch_id = %s AND business_day < %s",
            (branch, today - timedelta(days=KEEP_LEGS_DAYS)),
        )
    conn.execute("DELETE FROM live_business WHERE branch_id = %s", (branch,))
    conn.execute(
        """
        INSERT INTO live_business (branch_id, service, business_day, target_wait_s, waiting,
            windows_open, issued, called, served, within_target, no_show, rating_sum,
            rating_count)
        SELECT %(b)s, s.service, %(day)s, bs.target_wait_s,
            (SELECT count(*) FROM live_tickets t WHERE t.branch_id = %(b)s
                AND t.service = s.service AND t.state = 'waiting'),
            (SELECT count(*) FROM live_counters c WHERE c.branch_id = %(b)s AND c.state = 'open'
                AND EXISTS (SELECT 1 FROM jsonb_array_elements(c.skills) k
                            WHERE k->>'service' = s.service)),
            COALESCE(d.issued, 0), COALESCE(d.called, 0), COALESCE(d.served, 0),
            COALESCE(d.within_target, 0), COALESCE(d.no_show, 0), COALESCE(d.rating_sum, 0),
            COALESCE(d.rating_count, 0)
        FROM (SELECT service FROM branch_services WHERE branch_id = %(b)s
              UNION SELECT service FROM daily_business
                    WHERE branch_id = %(b)s AND business_day = %(day)s
              UNION SELECT service FROM live_tickets WHERE branch_id = %(b)s) s
        LEFT JOIN branch_services bs ON bs.branch_id = %(b)s AND bs.service = s.service
        LEFT JOIN daily_business d ON d.branch_id = %(b)s AND d.business_day = %(day)s
            AND d.service = s.service
        """,
        {"b": branch, "day": today},
    )
