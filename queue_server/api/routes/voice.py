"""Call announcements as WAV audio for the hall display, composed from the branch's clip pack."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from queue_server import voice
from queue_server.api.deps import EngineDep, require
from queue_server.auth import Principal
from queue_server.engine import Engine

log = logging.getLogger(__name__)
router = APIRouter(prefix="/voice", tags=["voice"])
Listener = Annotated[Principal, Depends(require("display", "manager", "admin"))]
# The same call always sounds the same, so a display may keep it; an hour bounds how long a
# replaced clip or a changed language setting takes to reach a display that cached the old one.
CACHE = "private, max-age=3600"
WAV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"audio/wav": {}}, "description": "a mono 16-bit PCM WAV file"},
    503: {"description": "the voice clip pack is incomplete or has a clip in another format"},
}


def pack_root(app: Any) -> str | None:
    """Where the packs are: `app.state.voice_pack_dir` when set, else `assets/voice/`."""
    return getattr(app.state, "voice_pack_dir", None)


def pack_dir(request: Request, engine: Engine) -> Path:
    """The folder of the pack in force (the head office's choice; the standard one before)."""
    return voice.pack_folder(engine.branch.settings.voice_pack, pack_root(request.app))


def _pack_broken(exc: voice.VoiceError) -> JSONResponse:
    log.error("voice: %s", exc)
    return JSONResponse(
        {"error": {"code": "voice_pack_incomplete", "message": str(exc)}}, status_code=503
    )


def _wav(body: bytes) -> Response:
    return Response(body, media_type="audio/wav", headers={"Cache-Control": CACHE})


@router.get("/call.wav", response_class=Response, responses=WAV)
async def call_audio(
    request: Request,
    engine: EngineDep,
    _: Listener,
    number: Annotated[str, Query(pattern=voice.TICKET_NUMBER.pattern, examples=["A023"])],
    counter: Annotated[int, Query(ge=1, le=voice.MAX_COUNTER, examples=[3])],
) -> Response:
    """A call's announcement: chime, then the call in each of the branch's languages."""
    languages = [lang for lang in engine.branch.settings.languages if lang in voice.LANGUAGES]
    if not languages:
        return _pack_broken(
            voice.VoicePackError(
                f"no voice pack for the branch's languages {engine.branch.settings.languages}"
            )
        )
    try:
        body = voice.compose_call(number, counter, languages, pack_dir(request, engine))
    except voice.InvalidCall as exc:  # the Query checks catch these first; kept as a guard
        return JSONResponse(
            {"error": {"code": "invalid_request", "message": str(exc)}}, status_code=422
        )
    except voice.VoicePackError as exc:
        return _pack_broken(exc)
    return _wav(body)


@router.get("/chime.wav", response_class=Response, responses=WAV)
async def chime_audio(request: Request, engine: EngineDep, _: Listener) -> Response:
    """The chime alone, for a display to test its sound."""
    try:
        return _wav(voice.chime_wav(pack_dir(request, engine)))
    except voice.VoicePackError as exc:
        return _pack_broken(exc)
