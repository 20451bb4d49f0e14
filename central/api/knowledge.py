"""The knowledge base in the console: head office writes pages and publishes versions;
regional managers read them (and see what the tellers were told changed).

Include it with `app.include_router(knowledge_router(pool))`; it signs in through the
console's session cookie and answers errors as the console does.
(No `from __future__ import annotations`: FastAPI must see the annotations as objects.)
"""

from typing import Annotated, Any

import psycopg_pool
from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import FileResponse

from central.accounts import Viewer
from central.api.console import (
    PAGES,
    Refusal,
    _RefusingRoute,
    connection_from,
    viewer_from,
)
from central.storage import knowledge
from central.storage.downlink import DownlinkError
from wire.knowledge import BadPage

ServiceCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,16}$")]


# The routes are closures over one pool, as the console's are; their count is what the
# complexity measure sees.
def knowledge_router(pool: psycopg_pool.ConnectionPool) -> APIRouter:  # noqa: C901
    """The knowledge base's editor page and API, through `pool`."""
    router = APIRouter(route_class=_RefusingRoute, tags=["knowledge"])

    connection = connection_from(pool)
    current_viewer = viewer_from(pool)

    def head_office(viewer: Annotated[Viewer, Depends(current_viewer)]) -> Viewer:
        if viewer.role != "head_office":
            raise Refusal(403, "head_office_only", "only head office edits the knowledge base")
        return viewer

    ViewerDep = Annotated[Viewer, Depends(current_viewer)]
    EditorDep = Annotated[Viewer, Depends(head_office)]

    @router.get("/console/knowledge", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(PAGES / "knowledge.html", headers={"Cache-Control": "no-cache"})

    @router.get("/console/knowledge/knowledge.js", include_in_schema=False)
    def script() -> FileResponse:
        return FileResponse(PAGES / "knowledge.js", media_type="text/javascript")

    @router.get("/console/api/knowledge")
    def overview(viewer: ViewerDep) -> dict[str, Any]:
        """The working copy's pages, the newest version, and what publishing would change."""
        with connection() as conn:
            latest = knowledge.latest(conn)
            return {
                "may_edit": viewer.role == "head_office",
                "pages": knowledge.pages(conn),
                "latest": None if latest is None else {k: latest[k] for k in
                                                      ("version", "published_at", "published_by")},
                "unpublished": knowledge.unpublished(conn),
            }  # fmt: skip

    @router.put("/console/api/knowledge/pages/{service}")
    def save(
        service: ServiceCode, viewer: EditorDep, body: Annotated[dict[str, Any], Body()]
    ) -> dict[str, Any]:
        """Add or replace one business's page in the working copy."""
        if body.get("service", service) != service:
            raise Refusal(400, "service_mismatch", "the page names another business")
        try:
            with connection() as conn:
                return dict(
                    knowledge.save_page(conn, {**body, "service": service}, viewer.username)
                )
        except BadPage as exc:
            raise Refusal(422, exc.code, str(exc)) from None
        except knowledge.KnowledgeError as exc:
            raise Refusal(409, exc.code, str(exc)) from None

    @router.delete("/console/api/knowledge/pages/{service}")
    def remove(service: ServiceCode, _: EditorDep) -> dict[str, bool]:
        """Take a business's page out of the working copy (gone from branches on publish)."""
        with connection() as conn:
            if not knowledge.remove_page(conn, service):
                raise Refusal(404, "unknown_page", "no page for that business")
        return {"removed": True}

    @router.post("/console/api/knowledge/publish")
    def publish(request: Request, viewer: EditorDep) -> dict[str, Any]:
        """Publish the working copy as the next version to every branch."""
        signer = request.app.state.signer
        if signer is None:
            raise Refusal(503, "no_signing_key", "the centre was started without a signing key")
        try:
            with connection() as conn:
                return knowledge.publish(conn, signer, viewer.username)
        except (knowledge.KnowledgeError, DownlinkError) as exc:
            raise Refusal(409, exc.code, str(exc)) from None

    @router.get("/console/api/knowledge/versions")
    def versions(_: ViewerDep) -> dict[str, Any]:
        """Published versions, newest first, with what each changed."""
        with connection() as conn:
            return {"versions": knowledge.history(conn)}

    @router.get("/console/api/knowledge/versions/{number}")
    def one_version(
        number: Annotated[int, Path(ge=1, le=2**31 - 1)], _: ViewerDep
    ) -> dict[str, Any]:
        """One published version, pages and all."""
        with connection() as conn:
            found = knowledge.version(conn, number)
        if found is None:
            raise Refusal(404, "unknown_version", "no such version")
        return found

    return router
