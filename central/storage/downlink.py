"""What the centre sends each branch (`wire.downlink`): signed documents, versioned per branch
and kind, and what the branches report doing with them.

`publish` runs in the caller's transaction, so a template's publication to a hundred
branches is all or nothing. Versions are numbered under a lock on the branch's row: two
publications to one branch at once get 1 and 2, never 1 twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from central.signing import Signer, sign
from wire.downlink import KINDS, Document, Report


class DownlinkError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise DownlinkError("unknown_kind", f"a document's kind is one of {', '.join(KINDS)}")
    return kind


def publish(
    conn: psycopg.Connection,
    signer: Signer,
    branch: str,
    kind: str,
    body: dict[str, Any] | Callable[[int], dict[str, Any]],
) -> Document:
    """Sign and store the branch's next version of `kind`; the document as it will be sent.

    `body` may be made from the version (a `vip` body seals its keys bound to it)."""
    _kind(kind)
    locked = conn.execute("SELECT id FROM branches WHERE id = %s FOR UPDATE", (branch,))
    if locked.fetchone() is None:
        raise DownlinkError("unknown_branch", f"no branch {branch} is enrolled")
    row = conn.execute(
        "SELECT coalesce(max(version), 0) FROM downlink_documents "
        "WHERE branch_id = %s AND kind = %s",
        (branch, kind),
    ).fetchone()
    version = (row[0] if row else 0) + 1
    issued_at = datetime.now(UTC).replace(microsecond=0)
    document = sign(
        {
            "kind": kind,
            "branch": branch,
            "version": version,
            "issued_at": issued_at.isoformat(),
            "body": body(version) if callable(body) else body,
        },
        signer.private_key,
    )
    conn.execute(
        "INSERT INTO downlink_documents (branch_id, kind, version, issued_at, document) "
        "VALUES (%s, %s, %s, %s, %s)",
        (branch, kind, version, issued_at, Jsonb(document)),
    )
    return document


def latest(conn: psycopg.Connection, branch: str, kind: str) -> Document | None:
    """The newest document of a kind published for the branch."""
    row = conn.execute(
        "SELECT document FROM downlink_documents WHERE branch_id = %s AND kind = %s "
        "ORDER BY version DESC LIMIT 1",
        (branch, _kind(kind)),
    ).fetchone()
    return None if row is None else row[0]


def pending(conn: psycopg.Connection, branch: str, have: dict[str, int]) -> list[Document]:
    """Per kind, the newest document when it is newer than the version the branch holds.

    Only the newest: a branch back after a week skips the versions it missed, each of which
    the newest supersedes whole."""
    rows = conn.execute(
        "SELECT DISTINCT ON (kind) kind, version, document FROM downlink_documents "
        "WHERE branch_id = %s ORDER BY kind, version DESC",
        (branch,),
    ).fetchall()
    return [doc for kind, version, doc in rows if version > have.get(kind, 0)]


def record_report(conn: psycopg.Connection, branch: str, report: Report) -> None:
    """Keep what the branch did with a version (the last applied and the last refused)."""
    kind = _kind(report["kind"])
    row = conn.execute(
        "SELECT 1 FROM downlink_documents WHERE branch_id = %s AND kind = %s AND version = %s",
        (branch, kind, report["version"]),
    ).fetchone()
    if row is None:
        raise DownlinkError(
            "unknown_version", f"no {kind} version {report['version']} was sent to {branch}"
        )
    effective = report.get("effective")
    conn.execute(
        "INSERT INTO downlink_reports (branch_id, kind, version, outcome, reason, effective) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (branch_id, kind, outcome) DO UPDATE SET "
        "version = EXCLUDED.version, reason = EXCLUDED.reason, effective = EXCLUDED.effective, "
        "reported_at = now()",
        (
            branch,
            kind,
            report["version"],
            report["outcome"],
            report.get("reason"),
            None if effective is None else Jsonb(effective),
        ),
    )


def deployed(conn: psycopg.Connection, kind: str) -> list[dict[str, Any]]:
    """Per branch: the newest version published, the one in force (last reported applied),
    and the last refusal when it is newer than what is in force."""
    rows = conn.execute(
        """
        SELECT b.id, b.region_id,
            (SELECT max(version) FROM downlink_documents d
              WHERE d.branch_id = b.id AND d.kind = %(kind)s),
            a.version, a.reported_at, a.effective, r.version, r.reason, r.reported_at
        FROM branches b
        LEFT JOIN downlink_reports a ON a.branch_id = b.id AND a.kind = %(kind)s
            AND a.outcome = 'applied'
        LEFT JOIN downlink_reports r ON r.branch_id = b.id AND r.kind = %(kind)s
            AND r.outcome = 'refused' AND r.version > coalesce(a.version, 0)
        ORDER BY b.id
        """,
        {"kind": _kind(kind)},
    ).fetchall()
    out = []
    for branch, region, published, applied, applied_at, effective, refused, reason, at in rows:
        out.append(
            {
                "branch": branch,
                "region": region,
                "published": published,
                "deployed": applied,
                "deployed_at": None if applied_at is None else applied_at.isoformat(),
                "effective": effective,
                "refused": refused,
                "refused_reason": reason,
                "refused_at": None if at is None else at.isoformat(),
            }
        )
    return out
