"""What network booking ranks by: each branch's last word on its waits, place and address."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from central.booking import BranchReach
from wire.shipping import Hello


def save_reach(conn: psycopg.Connection, branch: str, said: Hello) -> None:
    """Keep what the branch's hello says for booking, heard now (centre clock); in the
    hello's transaction."""
    location = said.get("location")
    conn.execute(
        "INSERT INTO booking_reach (branch_id, waits, lat, lon, booking_url, heard_at) "
        "VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (branch_id) DO UPDATE SET "
        "waits = EXCLUDED.waits, lat = EXCLUDED.lat, lon = EXCLUDED.lon, "
        "booking_url = EXCLUDED.booking_url, heard_at = EXCLUDED.heard_at",
        (
            branch,
            Jsonb(said.get("waits") or {}),
            location["lat"] if location else None,
            location["lon"] if location else None,
            said.get("booking_url"),
        ),
    )


def branches_for(conn: psycopg.Connection, service: str) -> list[BranchReach]:
    """Every branch that names `service` among its businesses and has said something for
    booking, with the age of what it said (seconds, centre clock)."""
    rows = conn.execute(
        "SELECT b.id, b.name, b.profile, r.waits -> %s, r.lat, r.lon, r.booking_url, "
        "EXTRACT(EPOCH FROM now() - r.heard_at)::float8, b.timezone "
        "FROM booking_reach r JOIN branches b ON b.id = r.branch_id "
        "WHERE b.profile -> 'services' @> jsonb_build_array(jsonb_build_object('code', %s::text))"
        " ORDER BY b.id",
        (service, service),
    ).fetchall()
    return [
        BranchReach(
            branch=branch,
            name=name,
            service_names=_service_names(profile, service),
            wait=wait,
            location=(lat, lon) if lat is not None else None,
            booking_url=url,
            age_s=age,
            timezone=tz,
        )
        for branch, name, profile, wait, lat, lon, url, age, tz in rows
    ]


def offered_services(conn: psycopg.Connection, fresh_s: float) -> list[dict[str, Any]]:
    """The businesses some branch heard from in the last `fresh_s` seconds offers, by code
    (its names as the branch that spoke last gives them)."""
    rows = conn.execute(
        "SELECT DISTINCT ON (s ->> 'code') s ->> 'code', s -> 'names' "
        "FROM booking_reach r JOIN branches b ON b.id = r.branch_id, "
        "jsonb_array_elements(CASE jsonb_typeof(b.profile -> 'services') "
        "WHEN 'array' THEN b.profile -> 'services' ELSE '[]'::jsonb END) s "
        "WHERE r.heard_at > now() - make_interval(secs => %s) AND r.booking_url IS NOT NULL "
        "AND jsonb_typeof(s) = 'object' AND s ? 'code' "
        "ORDER BY s ->> 'code', r.heard_at DESC",
        (fresh_s,),
    ).fetchall()
    return [{"code": code, "names": names or {}} for code, names in rows]


def branch_reach(conn: psycopg.Connection, branch: str) -> BranchReach | None:
    row = conn.execute(
        "SELECT b.name, r.lat, r.lon, r.booking_url, "
        "EXTRACT(EPOCH FROM now() - r.heard_at)::float8, b.timezone "
        "FROM booking_reach r JOIN branches b ON b.id = r.branch_id WHERE b.id = %s",
        (branch,),
    ).fetchone()
    if row is None:
        return None
    name, lat, lon, url, age, tz = row
    return BranchReach(
        branch=branch,
        name=name,
        service_names={},
        wait=None,
        location=(lat, lon) if lat is not None else None,
        booking_url=url,
        age_s=age,
        timezone=tz,
    )


def _service_names(profile: dict[str, Any], service: str) -> dict[str, str]:
    for s in profile.get("services") or []:
        if isinstance(s, dict) and s.get("code") == service:
            return {str(k): str(v) for k, v in dict(s.get("names") or {}).items()}
    return {}
