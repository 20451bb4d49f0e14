"""The branch ⇄ head-office channel: event batches up, the centre's watermark back.

A branch ships its event log to the centre in sequence order over HTTPS. An event's global
identity is (branch id, log id, seq): the log id is permanent for one branch database and
new when a database is created or is found restored from an older copy. Every shipped event
carries its kind's schema version `v` and a SHA-256 of its canonical JSON (`event_digest`),
so the centre can tell a resent event (same digest: dropped) from divergent history (same
identity, other digest: quarantined and alarmed on, never overwritten).

Authentication: a per-branch bearer token `bq1.<branch id>.<secret>` issued at enrolment
(`Authorization: Bearer …`); the centre keeps only its SHA-256.

Endpoints of the centre (JSON; every error body has a stable `code`):

- `POST /api/v1/ship/hello` — `Hello`: who the branch is, its profile and backlog; answers
  `LogState` for the branch's current log (registering it when new).
- `GET /api/v1/ship/logs/{log_id}` — `LogState`: the watermark and the digest stored at it;
  404 `unknown_log`.
- `GET /api/v1/ship/logs/{log_id}/digests?after=N&limit=M` — `Digests`: stored digests in
  seq order after N (at most 1000), to find where a restored copy's history forked.
- `POST /api/v1/ship/events` — `Batch` → `Ack`. A batch must start at watermark + 1
  (409 `gap` with the `LogState` otherwise); a resent prefix is acknowledged, not stored twice.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring as _string  # json.dumps(s, ensure_ascii=False)
from typing import Any, NotRequired, TypedDict

from wire.waits import ShownWait

TOKEN_PREFIX = "bq1"
MAX_BATCH = 1000  # events per batch; a larger batch is refused (413 `batch_too_large`)

# The schema version of each event kind's body. A kind missing here is at version 1. Bump a
# kind's version when its body changes shape; the centre reads versions N−1 and N together,
# since a thousand branches cannot upgrade in one night.
EVENT_VERSIONS: dict[str, int] = {}


def event_version(kind: str) -> int:
    return EVENT_VERSIONS.get(kind, 1)


class ShippedEvent(TypedDict):
    """One event as shipped: the branch's event (seq, at, kind, its entities and data), its
    schema version, and the digest of all that."""

    seq: int
    at: str
    kind: str
    v: int
    body: dict[str, Any]  # the event's entities and data: ticket, counter, service, device, data
    sha256: str


def canonical_body(body: dict[str, Any]) -> str:
    """An event body's canonical JSON: sorted keys, no spaces, non-ASCII as itself."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical(
    seq: int, at: str, kind: str, v: int, body: dict[str, Any], *, body_text: str | None = None
) -> bytes:
    """The bytes an event's digest is taken over: the JSON of {seq, at, kind, v, body} with
    sorted keys and no spaces.

    Written out key by key around the body's own canonical text, so the centre, which stores
    that text, encodes each body once rather than twice (the encoding was a fifth of a
    batch's ingest). `body_text` is `canonical_body(body)` when the caller has it already."""
    text = canonical_body(body) if body_text is None else body_text
    return (
        f'{{"at":{_string(at)},"body":{text},"kind":{_string(kind)},"seq":{int(seq)},"v":{int(v)}}}'
    ).encode()


def event_digest(
    seq: int, at: str, kind: str, v: int, body: dict[str, Any], *, body_text: str | None = None
) -> str:
    return hashlib.sha256(canonical(seq, at, kind, v, body, body_text=body_text)).hexdigest()


class Location(TypedDict):
    """Where a branch stands (WGS 84 degrees), for booking by travel time."""

    lat: float
    lon: float


class Hello(TypedDict):
    branch: str
    log_id: str  # UUID
    first_seq: int  # the log's first seq (1 for a new database)
    restored_from: str | None  # the log this one forked from, when a restore was detected
    software_version: str
    backlog: int  # events not yet acknowledged by the centre
    profile: dict[str, Any]  # name, timezone, services (code, names, target), counters
    # For booking across the network (absent from branches older than issue 20):
    # per business, a new walk-in's wait as the kiosk shows it now (`wire.waits.ShownWait`);
    waits: NotRequired[dict[str, ShownWait]]
    location: NotRequired[Location | None]  # `[branch] location`; None: not configured
    # The branch's public HTTPS base; its booking API is under /api/v1/public/book.
    booking_url: NotRequired[str | None]
    # The branch's X25519 public key (hex, 32 bytes) the centre seals its VIP keys to
    # (`wire.vip.Sealed`); a new one makes the centre send the list again, sealed to it.
    vip_key: NotRequired[str | None]


class LogState(TypedDict):
    log_id: str
    first_seq: int
    watermark: int  # every seq from first_seq to here is stored
    sha256_at_watermark: str | None  # None when nothing is stored yet


class Digests(TypedDict):
    log_id: str
    digests: list[tuple[int, str]]  # (seq, sha256) in seq order


class Batch(TypedDict):
    branch: str
    log_id: str
    events: list[ShippedEvent]  # consecutive seqs, in order
    backlog: NotRequired[int]


class Ack(TypedDict):
    log_id: str
    watermark: int
    stored: int
    duplicates: int
    quarantined: int
