"""Remote operations from the centre (issue 20, item 5): what each branch runs and a hall
notice sent to a region or the network — and nothing that reaches into a branch's queue.

A notice is a `notice` downlink document per branch in scope (`downlink.publish`, all in
the caller's transaction: a region gets it everywhere or nowhere). Its body is
`{"text", "until", "from"}`; the branch shows it on its hall displays beside (never instead
of) its manager's own notice, until `until`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from central.accounts import Viewer
from central.signing import Signer
from central.storage import downlink

NOTICE_MAX = 300  # the branch's own limit for its hall notice line
MAX_DAYS = 31  # a centre notice always ends: a forgotten one must not scroll for ever


class OperationsError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def send_notice(
    conn: psycopg.Connection,
    signer: Signer,
    viewer: Viewer,
    text: str,
    until: datetime,
    region: str | None,
    now: datetime | None = None,
) -> list[str]:
    """Publish the notice to every branch of `region` (None: the network); the branches."""
    text = " ".join(text.split())
    if not text or len(text) > NOTICE_MAX:
        raise OperationsError("bad_notice", f"a notice has 1 to {NOTICE_MAX} characters")
    now = now or datetime.now(UTC)
    if until.tzinfo is None:
        raise OperationsError("bad_until", "until needs a time zone offset")
    if not now < until <= now + timedelta(days=MAX_DAYS):
        raise OperationsError("bad_until", f"until is in the next {MAX_DAYS} days")
    if region is None and viewer.region_id is not None:
        raise OperationsError("out_of_scope", "a regional manager sends to their region only")
    if region is not None and not viewer.may_see_region(region):
        raise OperationsError("out_of_scope", "a regional manager sends to their region only")
    rows = conn.execute(
        "SELECT id FROM branches WHERE %(region)s::text IS NULL OR region_id = %(region)s "
        "ORDER BY id",
        {"region": region},
    ).fetchall()
    if not rows:
        raise OperationsError("unknown_region", f"no branch in region {region}")
    body = {"text": text, "until": until.astimezone(UTC).isoformat(), "from": viewer.username}
    for (branch,) in rows:
        downlink.publish(conn, signer, branch, "notice", body)
    return [b for (b,) in rows]


def fleet(conn: psycopg.Connection, viewer: Viewer) -> list[dict[str, Any]]:
    """Per branch the viewer may see: software version, config and notice published vs in
    force, devices not ok, and the link's last contact."""
    config = {r["branch"]: r for r in downlink.deployed(conn, "config")}
    notice = {r["branch"]: r for r in downlink.deployed(conn, "notice")}
    shown = notices_in_force(conn)
    rows = conn.execute(
        """
        SELECT b.id, b.name, b.region_id, g.name, b.software_version, b.last_contact_at,
            count(d.device) FILTER (WHERE d.health <> 'ok'),
            coalesce(jsonb_agg(jsonb_build_object('device', d.device, 'kind', d.kind,
                'health', d.health, 'detail', d.detail) ORDER BY d.device)
                FILTER (WHERE d.health <> 'ok'), '[]'::jsonb),
            count(d.device)
        FROM branches b LEFT JOIN device_health d ON d.branch_id = b.id
            LEFT JOIN regions g ON g.id = b.region_id
        WHERE %(region)s::text IS NULL OR b.region_id = %(region)s
        GROUP BY b.id, g.name ORDER BY b.region_id, b.id
        """,
        {"region": viewer.region_id},
    ).fetchall()
    out = []
    for branch, name, region, region_name, version, contact, faulty, devices, total in rows:
        c, n = config.get(branch, {}), notice.get(branch, {})
        out.append(
            {
                "branch": branch,
                "name": name,
                "region": region,
                "region_name": region_name or region,
                "software_version": version,
                "last_contact_at": None if contact is None else contact.isoformat(),
                "config_published": c.get("published"),
                "config_deployed": c.get("deployed"),
                "config_refused": c.get("refused"),
                "config_refused_reason": c.get("refused_reason"),
                "notice_published": n.get("published"),
                "notice_deployed": n.get("deployed"),
                # The notice the branch took last ({text, until}): whether it still runs is
                # the reader's to judge against `until`.
                "notice": shown.get(branch),
                "devices": total,
                "devices_not_ok": faulty,
                "device_faults": devices,
            }
        )
    return out


def notices_in_force(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """Per branch, the body of the notice version it last reported applied."""
    rows = conn.execute(
        """
        SELECT r.branch_id, d.document -> 'body'
        FROM downlink_reports r JOIN downlink_documents d ON (d.branch_id, d.kind, d.version)
            = (r.branch_id, r.kind, r.version)
        WHERE r.kind = 'notice' AND r.outcome = 'applied'
        """
    ).fetchall()
    return {branch: {"text": body.get("text", ""), "until": body.get("until")}
            for branch, body in rows}  # fmt: skip
