"""The network's configuration template, region and branch overrides, and their publication.

Each template save is a new version (the history stays); overrides are dotted paths checked
against the newest template when set. `publish_config` merges each branch's effective
configuration (central.config_merge) and publishes it as a signed `config` document through
the downlink, only to the branches whose effective configuration changed.
Everything takes an open connection and commits nothing itself: the caller owns the
transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.types.json import Jsonb

from central import config_merge
from central.config_merge import DEFAULT_BRANCH_EDITABLE, ConfigError
from central.signing import Signer
from central.storage import downlink

TEMPLATE_ID = "network"  # one template for the network (ConfigBody.template.id)
Scope = Literal["region", "branch"]
_TABLES = {
    "region": ("config_region_overrides", "region_id"),
    "branch": ("config_branch_overrides", "branch_id"),
}
# One publication at a time: two at once would each see the other's branch as unchanged.
_PUBLISH_LOCK = 20261207


@dataclass(frozen=True)
class Template:
    version: int
    catalogue: dict[str, Any]
    branch_editable: list[str]
    note: str
    saved_by: str
    saved_at: datetime


@dataclass(frozen=True)
class Planned:
    """One branch's effective configuration and whether publishing would issue a version."""

    branch: str
    region: str
    body: dict[str, Any]  # wire.downlink.ConfigBody
    changed: bool


# ----------------------------------------------------------------------- template
def template(conn: psycopg.Connection, version: int | None = None) -> Template | None:
    """A template version, or the newest when `version` is None; None when there is none."""
    row = conn.execute(
        "SELECT version, catalogue, branch_editable, note, saved_by, saved_at "
        "FROM config_template_versions WHERE %(v)s::int IS NULL OR version = %(v)s "
        "ORDER BY version DESC LIMIT 1",
        {"v": version},
    ).fetchone()
    return Template(*row) if row else None


def template_history(conn: psycopg.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT version, note, saved_by, saved_at, jsonb_array_length(catalogue->'services') "
        "FROM config_template_versions ORDER BY version DESC"
    ).fetchall()
    return [
        {"version": v, "note": n, "saved_by": by, "saved_at": at.isoformat(), "services": count}
        for v, n, by, at, count in rows
    ]


def save_template(
    conn: psycopg.Connection,
    catalogue: dict[str, Any],
    *,
    saved_by: str,
    based_on: int | None,
    branch_editable: list[str] | None = None,
    note: str = "",
) -> int:
    """Save a new template version on top of `based_on` (the version the editor started
    from: None for the first). Refuses `template_changed` when someone saved meanwhile, and
    `orphaned_overrides` when an override would no longer fit (delete those first)."""
    config_merge.check_template(catalogue)
    editable = list(DEFAULT_BRANCH_EDITABLE if branch_editable is None else branch_editable)
    if not all(isinstance(p, str) and p for p in editable):
        raise ConfigError("bad_template", "branch_editable: a list of dotted paths")
    newest = template(conn)
    if (newest.version if newest else None) != based_on:
        raise ConfigError(
            "template_changed",
            f"the template is at version {newest.version if newest else 0} now, not "
            f"{based_on or 0}: reload it and make your change again",
        )
    orphaned = []
    for scope, target, path, value in _all_overrides(conn):
        try:
            config_merge.check_override(catalogue, path, value)
        except ConfigError as exc:
            orphaned.append(f"{scope} {target}: {path} ({exc})")
    if orphaned:
        raise ConfigError(
            "orphaned_overrides",
            "these overrides would not fit the new template; delete them first: "
            + "; ".join(orphaned[:10]),
        )
    version = (based_on or 0) + 1
    try:
        with conn.transaction():
            conn.execute(
                "INSERT INTO config_template_versions "
                "(version, catalogue, branch_editable, note, saved_by) VALUES (%s, %s, %s, %s, %s)",
                (version, Jsonb(catalogue), Jsonb(editable), note, saved_by),
            )
    except psycopg.errors.UniqueViolation:
        raise ConfigError("template_changed", "someone saved the template just now") from None
    return version


# ----------------------------------------------------------------------- overrides
def overrides(conn: psycopg.Connection, scope: Scope, target: str) -> dict[str, Any]:
    table, column = _TABLES[scope]
    rows = conn.execute(
        f"SELECT path, value FROM {table} WHERE {column} = %s ORDER BY path", (target,)
    ).fetchall()
    return dict(rows)


def set_override(
    conn: psycopg.Connection, scope: Scope, target: str, path: str, value: Any, *, set_by: str
) -> None:
    """Set one override, checked against the newest template (`unknown_path`, `bad_value`)."""
    newest = template(conn)
    if newest is None:
        raise ConfigError("no_template", "save a template before overriding it")
    _check_target(conn, scope, target)
    config_merge.check_override(newest.catalogue, path, value)
    table, column = _TABLES[scope]
    conn.execute(
        f"INSERT INTO {table} ({column}, path, value, set_by) VALUES (%s, %s, %s, %s) "
        f"ON CONFLICT ({column}, path) DO UPDATE SET value = EXCLUDED.value, "
        "set_by = EXCLUDED.set_by, set_at = now()",
        (target, path, Jsonb(value), set_by),
    )


def delete_override(conn: psycopg.Connection, scope: Scope, target: str, path: str) -> bool:
    """Remove an override (the value is inherited again); False when there was none."""
    table, column = _TABLES[scope]
    deleted = conn.execute(
        f"DELETE FROM {table} WHERE {column} = %s AND path = %s", (target, path)
    ).rowcount
    return deleted > 0


def _check_target(conn: psycopg.Connection, scope: Scope, target: str) -> None:
    table = "regions" if scope == "region" else "branches"
    if not conn.execute(f"SELECT 1 FROM {table} WHERE id = %s", (target,)).fetchone():
        raise ConfigError(f"unknown_{scope}", f"no {scope} {target!r}")


def _all_overrides(conn: psycopg.Connection) -> list[tuple[str, str, str, Any]]:
    return conn.execute(
        "SELECT 'region', region_id, path, value FROM config_region_overrides UNION ALL "
        "SELECT 'branch', branch_id, path, value FROM config_branch_overrides"
    ).fetchall()


# ----------------------------------------------------------------------- effective
def config_body(tpl: Template, region: dict[str, Any], branch: dict[str, Any]) -> dict[str, Any]:
    """The `config` document's body (wire.downlink.ConfigBody) for these overrides."""
    catalogue, overridden = config_merge.effective(tpl.catalogue, region, branch)
    return {
        "catalogue": catalogue,
        "branch_editable": list(tpl.branch_editable),
        "overridden": overridden,
        "template": {"id": TEMPLATE_ID, "version": tpl.version},
    }


def preview(
    conn: psycopg.Connection,
    *,
    region: str | None = None,
    branch: str | None = None,
    template_version: int | None = None,
) -> dict[str, Any]:
    """The effective configuration of a branch (or of a region, before any branch's own
    overrides), with the overrides of each layer: where each value came from."""
    tpl = _template_or_refuse(conn, template_version)
    if branch is not None:
        _check_target(conn, "branch", branch)
        region = _region_of(conn, branch)
    elif region is not None:
        _check_target(conn, "region", region)
    region_over = overrides(conn, "region", region) if region else {}
    branch_over = overrides(conn, "branch", branch) if branch else {}
    return {
        **config_body(tpl, region_over, branch_over),
        "region": region,
        "branch": branch,
        "region_overrides": region_over,
        "branch_overrides": branch_over,
    }


def _template_or_refuse(conn: psycopg.Connection, version: int | None) -> Template:
    tpl = template(conn, version)
    if tpl is None:
        if version is None:
            raise ConfigError("no_template", "no template has been saved yet")
        raise ConfigError("unknown_template", f"no template version {version}")
    return tpl


def _region_of(conn: psycopg.Connection, branch: str) -> str:
    row = conn.execute("SELECT region_id FROM branches WHERE id = %s", (branch,)).fetchone()
    if row is None:
        raise ConfigError("unknown_branch", f"no branch {branch!r}")
    return str(row[0])


def _digest(body: dict[str, Any]) -> bytes:
    # The template's version is left out: a new template that changes nothing for a branch
    # is no reason to send that branch a new version.
    content = {k: v for k, v in body.items() if k != "template"}
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).digest()


# ----------------------------------------------------------------------- publishing
def plan(
    conn: psycopg.Connection,
    template_version: int | None = None,
    *,
    branches: list[str] | None = None,
    region: str | None = None,
) -> list[Planned]:
    """Each branch in the target (the listed ones, a region's, or all) with its effective
    configuration and whether it differs from what it was last sent. `template_version`
    None: the version each branch was last sent (the newest for a branch never sent one)."""
    rows = conn.execute(
        "SELECT b.id, b.region_id, p.template_version, p.digest FROM branches b "
        "LEFT JOIN config_published p ON p.branch_id = b.id "
        "WHERE (%(branches)s::text[] IS NULL OR b.id = ANY(%(branches)s)) "
        "AND (%(region)s::text IS NULL OR b.region_id = %(region)s) ORDER BY b.id",
        {"branches": branches, "region": region},
    ).fetchall()
    if branches is not None:
        missing = sorted(set(branches) - {r[0] for r in rows})
        if missing:
            raise ConfigError("unknown_branch", f"no branch {missing[0]!r}")
    templates: dict[int | None, Template] = {}
    region_overrides: dict[str, dict[str, Any]] = {}
    planned = []
    for branch, branch_region, sent_version, sent_digest in rows:
        wanted = template_version if template_version is not None else sent_version
        if wanted not in templates:
            templates[wanted] = _template_or_refuse(conn, wanted)
        if branch_region not in region_overrides:
            region_overrides[branch_region] = overrides(conn, "region", branch_region)
        body = config_body(
            templates[wanted], region_overrides[branch_region], overrides(conn, "branch", branch)
        )
        changed = sent_digest is None or bytes(sent_digest) != _digest(body)
        planned.append(Planned(branch, branch_region, body, changed))
    return planned


def publish_config(
    conn: psycopg.Connection,
    signer: Signer,
    template_version: int | None = None,
    *,
    branches: list[str] | None = None,
    region: str | None = None,
    published_by: str = "head_office",
) -> dict[str, Any]:
    """Publish each target branch's effective configuration as a signed `config` document,
    to the branches where it changed only. `signer`: central.signing.Signer.

    Returns {"template_version", "published": [{"branch", "version"}], "unchanged": [ids]}.
    """
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PUBLISH_LOCK,))
    published, unchanged = [], []
    planned = plan(conn, template_version, branches=branches, region=region)
    for p in planned:
        if not p.changed:
            unchanged.append(p.branch)
            continue
        document = downlink.publish(conn, signer, p.branch, "config", p.body)
        conn.execute(
            "INSERT INTO config_published (branch_id, version, template_version, digest, "
            "published_by) VALUES (%(b)s, %(v)s, %(t)s, %(d)s, %(by)s) "
            "ON CONFLICT (branch_id) DO UPDATE SET version = EXCLUDED.version, "
            "template_version = EXCLUDED.template_version, digest = EXCLUDED.digest, "
            "published_by = EXCLUDED.published_by, published_at = now()",
            {
                "b": p.branch,
                "v": document["version"],
                "t": p.body["template"]["version"],
                "d": _digest(p.body),
                "by": published_by,
            },
        )
        published.append({"branch": p.branch, "version": document["version"]})
    return {
        "template_version": template_version,
        "published": published,
        "unchanged": unchanged,
    }


def published(conn: psycopg.Connection, region: str | None = None) -> list[dict[str, Any]]:
    """Per branch in view: the config version last published, from which template, when."""
    rows = conn.execute(
        "SELECT b.id, b.name, b.region_id, p.version, p.template_version, p.published_at "
        "FROM branches b LEFT JOIN config_published p ON p.branch_id = b.id "
        "WHERE %(r)s::text IS NULL OR b.region_id = %(r)s ORDER BY b.region_id, b.id",
        {"r": region},
    ).fetchall()
    return [
        {
            "branch": b,
            "name": name,
            "region": r,
            "published_version": v,
            "template_version": t,
            "published_at": at.isoformat() if at else None,
        }
        for b, name, r, v, t, at in rows
    ]
