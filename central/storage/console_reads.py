"""What the head-office console reads from the read models: every query limited to a region.

`region` None means the whole network (head office); a region id limits every row to the
branches of that region, in SQL, so no route can forget to filter afterwards.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from psycopg.rows import dict_row

LIVE_S = 60  # a branch heard from within a minute is live (the heartbeat is every 15 s)
STALE_S = 300  # then stale for a few minutes, then offline
NEAR_TARGET = 0.8  # a longest wait at 80 % of its target turns the row amber
GROUPS = ("day", "week", "month")
BREAKDOWNS = ("branch", "business")
RECENT_CALLS = 50

_IN_REGION = "(%(region)s::text IS NULL OR b.region_id = %(region)s)"

_NETWORK = f"""
WITH longest AS (
    -- Per branch, the waiting ticket furthest over its business's target (or the oldest).
    SELECT DISTINCT ON (t.branch_id)
           t.branch_id,
           extract(epoch FROM now() - t.arrived_at) AS wait_s,
           lb.target_wait_s
    FROM live_tickets t
    LEFT JOIN live_business lb ON lb.branch_id = t.branch_id AND lb.service = t.service
    WHERE t.state = 'waiting'
    ORDER BY t.branch_id,
             extract(epoch FROM now() - t.arrived_at) / NULLIF(lb.target_wait_s, 0)
                 DESC NULLS LAST,
             t.arrived_at
)
SELECT b.id, b.name, b.region_id, r.name AS region_name,
       coalesce(lv.waiting, 0) AS waiting,
       coalesce(lv.windows_open, 0) AS windows_open,
       (SELECT count(*) FROM live_alerts a WHERE a.branch_id = b.id) AS alerts_open,
       (SELECT count(*) FROM device_health d
         WHERE d.branch_id = b.id AND d.health <> 'ok') AS devices_not_ok,
       round(l.wait_s)::int AS longest_wait_s,
       l.target_wait_s,
       round(extract(epoch FROM now() - b.last_contact_at))::int AS contact_age_s,
       round(extract(epoch FROM now() - lv.last_received_at))::int AS freshness_s,
       b.backlog
FROM branches b
JOIN regions r ON r.id = b.region_id
LEFT JOIN live_branch lv ON lv.branch_id = b.id
LEFT JOIN longest l ON l.branch_id = b.id
WHERE {_IN_REGION} AND (%(branch)s::text IS NULL OR b.id = %(branch)s)
ORDER BY r.name, b.name
"""


def network(
    conn: psycopg.Connection, region: str | None, branch: str | None = None
) -> list[dict[str, Any]]:
    """Every branch in view (or one): live figures, link state and how fresh the data is."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_NETWORK, {"region": region, "branch": branch}).fetchall()
    for row in rows:
        row["link"] = link_state(row["contact_age_s"])
        row["wait_status"] = wait_status(row["longest_wait_s"], row["target_wait_s"])
        row["needs_attention"] = (
            row["link"] != "live"
            or row["wait_status"] == "over"
            or row["alerts_open"] > 0
            or row["devices_not_ok"] > 0
        )
    return rows


def link_state(contact_age_s: int | None) -> str:
    if contact_age_s is None:
        return "never"
    if contact_age_s < LIVE_S:
        return "live"
    return "stale" if contact_age_s < STALE_S else "offline"


def wait_status(wait_s: int | None, target_s: int | None) -> str:
    if wait_s is None or not target_s:
        return "ok"
    if wait_s >= target_s:
        return "over"
    return "near" if wait_s >= NEAR_TARGET * target_s else "ok"


def regions(conn: psycopg.Connection, region: str | None) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, name FROM regions r WHERE %(region)s::text IS NULL OR r.id = %(region)s "
            "ORDER BY name",
            {"region": region},
        ).fetchall()


def branch_region(conn: psycopg.Connection, branch: str) -> str | None:
    row = conn.execute("SELECT region_id FROM branches WHERE id = %s", (branch,)).fetchone()
    return row[0] if row else None


def branch_regions(conn: psycopg.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT id, region_id FROM branches").fetchall())


def drill_down(conn: psycopg.Connection, branch: str) -> dict[str, Any]:
    """One branch's businesses today, its counters and today's calls (the caller checked
    the viewer may see it)."""
    with conn.cursor(row_factory=dict_row) as cur:
        businesses = cur.execute(
            """
            SELECT lb.service, coalesce(s->'names'->>'zh', s->>'name', lb.service) AS name_zh,
                   coalesce(s->'names'->>'en', s->>'name', lb.service) AS name_en,
                   lb.target_wait_s, lb.waiting, lb.windows_open, lb.issued, lb.called,
                   lb.served, lb.within_target, lb.no_show,
                   round(lb.rating_sum::numeric / NULLIF(lb.rating_count, 0), 2)::float
                       AS rating_avg,
                   (SELECT round(extract(epoch FROM now() - min(t.arrived_at)))::int
                      FROM live_tickets t WHERE t.branch_id = lb.branch_id
                       AND t.service = lb.service AND t.state = 'waiting') AS longest_wait_s
            FROM live_business lb
            JOIN branches b ON b.id = lb.branch_id
            LEFT JOIN LATERAL (
                SELECT s FROM jsonb_array_elements(
                    CASE WHEN jsonb_typeof(b.profile->'services') = 'array'
                         THEN b.profile->'services' ELSE '[]'::jsonb END) s
                WHERE s->>'code' = lb.service LIMIT 1) svc ON true
            WHERE lb.branch_id = %s ORDER BY lb.service
            """,
            (branch,),
        ).fetchall()
        counters = cur.execute(
            "SELECT number, name, state, staffed, serving, skills,"
            " round(extract(epoch FROM now() - since))::int AS since_s"
            " FROM live_counters WHERE branch_id = %s ORDER BY number",
            (branch,),
        ).fetchall()
        # "Today" is the branch's business day in its own timezone, not the centre's.
        calls = cur.execute(
            """
            SELECT e.at, e.kind,
                   coalesce(e.body->'ticket'->>'number', e.body->>'number') AS number,
                   coalesce(e.body->'ticket'->>'service', e.body->>'service') AS service,
                   coalesce(e.body->'counter'->>'number', e.body->>'counter') AS counter
            FROM events e JOIN branches b ON b.id = e.branch_id
            WHERE e.branch_id = %s AND e.kind IN ('ticket.called', 'ticket.recalled')
              AND e.at >= (date_trunc('day', now() AT TIME ZONE b.timezone)
                           AT TIME ZONE b.timezone)
            ORDER BY e.at DESC LIMIT %s
            """,
            (branch, RECENT_CALLS),
        ).fetchall()
        alerts = cur.execute(
            "SELECT alert_id, kind, severity, detail, raised_at FROM live_alerts"
            " WHERE branch_id = %s ORDER BY raised_at DESC",
            (branch,),
        ).fetchall()
    return {"businesses": businesses, "counters": counters, "calls": calls, "alerts": alerts}


def report(
    conn: psycopg.Connection,
    region: str | None,
    first: date,
    last: date,
    group: str,
    by: str,
) -> list[dict[str, Any]]:
    """Comparison figures per period and branch (or business) over [first, last]."""
    if group not in GROUPS or by not in BREAKDOWNS:
        raise ValueError("group or breakdown")
    key = "d.branch_id, b.name" if by == "branch" else "d.service"
    key_cols = (
        "d.branch_id AS key, b.name AS label"
        if by == "branch"
        else "d.service AS key, d.service AS label"
    )
    # `group` and `key` come from the fixed lists above, never from the request's text.
    sql = f"""
        SELECT date_trunc('{group}', d.business_day)::date AS period, {key_cols},
               sum(d.issued)::int AS issued, sum(d.called)::int AS called,
               sum(d.served)::int AS served, sum(d.no_show)::int AS no_show,
               round((sum(d.wait_sum_s) / NULLIF(sum(d.called), 0))::numeric, 1)::float
                   AS wait_avg_s,
               round(max(d.wait_max_s)::numeric, 1)::float AS wait_max_s,
               round(sum(d.within_target)::numeric / NULLIF(sum(d.called), 0), 4)::float
                   AS within_target_share,
               round(sum(d.no_show)::numeric / NULLIF(sum(d.called), 0), 4)::float
                   AS no_show_share,
               round(sum(d.rating_sum)::numeric / NULLIF(sum(d.rating_count), 0), 2)::float
                   AS rating_avg
        FROM daily_business d JOIN branches b ON b.id = d.branch_id
        WHERE {_IN_REGION} AND d.business_day BETWEEN %(first)s AND %(last)s
        GROUP BY 1, {key}
        ORDER BY 1, 2
    """
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, {"region": region, "first": first, "last": last}).fetchall()


def devices_needing_visit(conn: psycopg.Connection, region: str | None) -> list[dict[str, Any]]:
    """Branches with a device not ok, worst first, each with those devices."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"""
            SELECT b.id AS branch_id, b.name AS branch_name, b.region_id, r.name AS region_name,
                   d.device, d.kind, d.health, d.detail, d.counter, d.reported_at, d.since,
                   round(extract(epoch FROM now() - d.since))::int AS for_s
            FROM device_health d
            JOIN branches b ON b.id = d.branch_id JOIN regions r ON r.id = b.region_id
            WHERE {_IN_REGION} AND d.health <> 'ok'
            ORDER BY b.id, d.device
            """,
            {"region": region},
        ).fetchall()
    severity = {"fault": 0, "unknown": 1, "warning": 2}
    branches: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = branches.setdefault(
            row["branch_id"],
            {k: row[k] for k in ("branch_id", "branch_name", "region_id", "region_name")}
            | {"devices": []},
        )
        entry["devices"].append(
            {k: row[k] for k in ("device", "kind", "health", "detail", "counter", "since", "for_s")}
            | {"reported_at": row["reported_at"]}
        )
    out = list(branches.values())
    for entry in out:
        entry["worst"] = min(
            (d["health"] for d in entry["devices"]), key=lambda h: severity.get(h, 1)
        )
        entry["faults"] = sum(d["health"] == "fault" for d in entry["devices"])
    out.sort(key=lambda e: (severity.get(e["worst"], 1), -len(e["devices"]), e["branch_name"]))
    return out
