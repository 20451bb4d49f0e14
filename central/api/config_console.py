"""The console's configuration API: the network template, region and branch overrides, a
branch's effective configuration with where each value came from, publishing, and per branch
what is published against what the branch says is in force.

Head office edits the template and every override and publishes anywhere; a regional
manager edits only their region's and its branches' overrides and publishes only there,
with the template version each branch already has (never an unreleased template).
(No `from __future__ import annotations`: FastAPI must see the annotations as objects.)
"""

from typing import Annotated, Any, Literal

import psycopg
import psycopg_pool
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from central.accounts import Viewer
from central.api.console import (
    Refusal,
    _RefusingRoute,
    connection_from,
    viewer_from,
)
from central.config_merge import ConfigError
from central.storage import config as stored

STATUS = {
    "unknown_path": 422,
    "bad_value": 422,
    "bad_template": 422,
    "no_template": 404,
    "unknown_template": 404,
    "unknown_branch": 404,
    "unknown_region": 404,
    "template_changed": 409,
    "orphaned_overrides": 409,
}


class TemplateSave(BaseModel):
    catalogue: dict[str, Any]
    based_on: int | None = Field(description="the version the editor started from")
    branch_editable: list[str] | None = None
    note: str = Field(default="", max_length=500)


class OverrideSet(BaseModel):
    path: str = Field(min_length=1, max_length=200)
    value: Any = None  # absent is null, which no template value is: refused as bad_value


class Publication(BaseModel):
    region: str | None = None
    branches: list[str] | None = Field(default=None, max_length=5000)
    template_version: int | None = None


def refused(exc: ConfigError) -> Refusal:
    return Refusal(STATUS.get(exc.code, 400), exc.code, str(exc))


def config_router(pool: psycopg_pool.ConnectionPool) -> APIRouter:  # noqa: C901
    """The configuration routes under /console/api/config, on the console's sessions."""
    router = APIRouter(route_class=_RefusingRoute, tags=["console-config"])
    connection = connection_from(pool)
    ViewerDep = Annotated[Viewer, Depends(viewer_from(pool))]
    api = "/console/api/config"

    def head_office_only(viewer: Viewer) -> None:
        if viewer.region_id is not None:
            raise Refusal(403, "head_office_only", "only head office changes the template")

    def may_edit(conn: psycopg.Connection, viewer: Viewer, scope: str, target: str) -> None:
        region = target if scope == "region" else _region_of(conn, target)
        if region is None:
            raise Refusal(404, f"unknown_{scope}", f"no {scope} {target!r}")
        if not viewer.may_see_region(region):
            raise Refusal(403, "outside_region", "that is not in your region")

    def publish_scope(viewer: Viewer, region: str | None) -> str | None:
        if region and not viewer.may_see_region(region):
            raise Refusal(403, "outside_region", "that region is not yours")
        return region or viewer.region_id

    # ------------------------------------------------------------------ template
    @router.get(api + "/template")
    def get_template(viewer: ViewerDep, version: int | None = None) -> dict[str, Any]:
        """A template version (the newest by default) and the list of versions."""
        with connection() as conn:
            tpl = stored.template(conn, version)
            history = stored.template_history(conn)
        if tpl is None and version is not None:
            raise Refusal(404, "unknown_template", f"no template version {version}")
        return {
            "template": None if tpl is None else _template_json(tpl),
            "history": history,
            "may_edit_template": viewer.region_id is None,
        }

    @router.put(api + "/template")
    def save_template(body: TemplateSave, viewer: ViewerDep) -> dict[str, Any]:
        """Save a new template version on top of the one the editor started from."""
        head_office_only(viewer)
        with connection() as conn:
            try:
                version = stored.save_template(
                    conn,
                    body.catalogue,
                    saved_by=viewer.username,
                    based_on=body.based_on,
                    branch_editable=body.branch_editable,
                    note=body.note,
                )
            except ConfigError as exc:
                raise refused(exc) from None
        return {"version": version}

    # ------------------------------------------------------------------ overrides
    @router.get(api + "/overrides/{scope}/{target}")
    def get_overrides(
        scope: Literal["region", "branch"], target: str, viewer: ViewerDep
    ) -> dict[str, Any]:
        with connection() as conn:
            may_edit(conn, viewer, scope, target)
            return {
                "scope": scope,
                "target": target,
                "overrides": stored.overrides(conn, scope, target),
            }

    @router.put(api + "/overrides/{scope}/{target}")
    def set_override(
        scope: Literal["region", "branch"], target: str, body: OverrideSet, viewer: ViewerDep
    ) -> dict[str, Any]:
        """Set one override (checked against the newest template)."""
        with connection() as conn:
            may_edit(conn, viewer, scope, target)
            try:
                stored.set_override(
                    conn, scope, target, body.path, body.value, set_by=viewer.username
                )
            except ConfigError as exc:
                raise refused(exc) from None
            return {
                "scope": scope,
                "target": target,
                "overrides": stored.overrides(conn, scope, target),
            }

    @router.delete(api + "/overrides/{scope}/{target}")
    def delete_override(
        scope: Literal["region", "branch"], target: str, path: str, viewer: ViewerDep
    ) -> dict[str, Any]:
        """Remove one override: the value is inherited again."""
        with connection() as conn:
            may_edit(conn, viewer, scope, target)
            if not stored.delete_override(conn, scope, target, path):
                raise Refusal(404, "no_override", f"{path} is not overridden there")
            return {
                "scope": scope,
                "target": target,
                "overrides": stored.overrides(conn, scope, target),
            }

    # ------------------------------------------------------------------ effective
    @router.get(api + "/preview")
    def preview(
        viewer: ViewerDep,
        region: str | None = None,
        branch: str | None = None,
        template_version: int | None = None,
    ) -> dict[str, Any]:
        """The effective configuration of a branch or a region, and where each value is from."""
        with connection() as conn:
            if branch is not None:
                may_edit(conn, viewer, "branch", branch)
            elif region is not None:
                may_edit(conn, viewer, "region", region)
            try:
                return stored.preview(
                    conn, region=region, branch=branch, template_version=template_version
                )
            except ConfigError as exc:
                raise refused(exc) from None

    # ------------------------------------------------------------------ publishing
    @router.get(api + "/publish")
    def publish_plan(viewer: ViewerDep, region: str | None = None) -> dict[str, Any]:
        """What publishing now would do: the branches that would get a new version."""
        in_scope = publish_scope(viewer, region)
        with connection() as conn:
            version = _version_for(conn, viewer, None)
            try:
                planned = stored.plan(conn, version, region=in_scope)
            except ConfigError as exc:
                raise refused(exc) from None
        return {
            "template_version": version,
            "changed": [p.branch for p in planned if p.changed],
            "unchanged": [p.branch for p in planned if not p.changed],
        }

    @router.post(api + "/publish")
    def publish(body: Publication, request: Request, viewer: ViewerDep) -> dict[str, Any]:
        """Publish the effective configuration to the branches where it changed."""
        signer = getattr(request.app.state, "signer", None)
        if signer is None:
            raise Refusal(503, "no_signing_key", "the centre was started without a signing key")
        in_scope = publish_scope(viewer, body.region)
        with connection() as conn:
            if body.branches is not None:
                for branch in body.branches:
                    may_edit(conn, viewer, "branch", branch)
            version = _version_for(conn, viewer, body.template_version)
            try:
                return stored.publish_config(
                    conn,
                    signer,
                    version,
                    branches=body.branches,
                    region=in_scope,
                    published_by=viewer.username,
                )
            except ConfigError as exc:
                raise refused(exc) from None

    @router.get(api + "/status")
    def status(viewer: ViewerDep, region: str | None = None) -> dict[str, Any]:
        """Per branch: the config version published and the version it reports in force."""
        in_scope = publish_scope(viewer, region)
        with connection() as conn:
            rows = stored.published(conn, in_scope)
            deployed = _deployed_config(conn)
        for row in rows:
            row.update(deployed.get(row["branch"], {"deployed_version": None}))
        return {"branches": rows}

    return router


def _version_for(conn: psycopg.Connection, viewer: Viewer, asked: int | None) -> int | None:
    """Head office publishes the version asked for, else the newest; a regional manager
    only the version each branch already has (None), so no unreleased template goes out."""
    if viewer.region_id is not None:
        if asked is not None:
            raise Refusal(403, "head_office_only", "only head office chooses a template version")
        return None
    if asked is not None:
        return asked
    newest = stored.template(conn)
    if newest is None:
        raise Refusal(404, "no_template", "no template has been saved yet")
    return newest.version


def _region_of(conn: psycopg.Connection, branch: str) -> str | None:
    row = conn.execute("SELECT region_id FROM branches WHERE id = %s", (branch,)).fetchone()
    return None if row is None else str(row[0])


def _deployed_config(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """The `config` version each branch reported in force, and its last refusal if newer."""
    from central.storage import downlink

    return {
        row["branch"]: {
            "deployed_version": row["deployed"],
            "deployed_at": row["deployed_at"],
            "refused_version": row["refused"],
            "refused_reason": row["refused_reason"],
        }
        for row in downlink.deployed(conn, "config")
    }


def _template_json(tpl: stored.Template) -> dict[str, Any]:
    return {
        "version": tpl.version,
        "catalogue": tpl.catalogue,
        "branch_editable": tpl.branch_editable,
        "note": tpl.note,
        "saved_by": tpl.saved_by,
        "saved_at": tpl.saved_at.isoformat(),
    }
