"""The head office → branch downlink: signed documents the centre publishes for one branch.

The centre publishes documents of a few kinds for each branch, each kind versioned on its own
(1, 2, 3 … per branch and kind):

- `config`: the branch's effective configuration — the network's template merged with its
  region's and its own overrides (`ConfigBody`);
- `vip`: keyed hashes of the bank's VIP customers under the key the centre issued to this
  branch (and, during a rotation, under the previous key too);
- `knowledge`: the tellers' knowledge base — procedures per business — with what changed
  since the previous version;
- `notice`: a hall notice sent from the centre to the branch's region or the whole network.

Every document is signed by the centre with Ed25519 over `signed_bytes(document)`: its
canonical JSON without the signature. A branch holds the centre's public key (a file given
at set-up, like the CA file of the link) and applies a document only when the signature
verifies under that key, the document names this branch, and its version is newer than the
one of its kind the branch applied last. Anything else is refused whole, nothing applied,
an alert raised at the branch and the refusal reported to the centre.

Endpoints of the centre (JSON, the branch's shipping token, errors with a stable `code`):

- `GET /api/v1/ship/downlink?config=V&vip=V&knowledge=V&notice=V` → `Pending`: for each
  kind, the newest document when it is newer than the version the branch says it holds
  (0 or absent: none). A branch offline for a week gets the latest only, never the ones
  in between. An empty list when the branch is up to date.
- `POST /api/v1/ship/downlink/report` — `Report` → 204: what the branch did with a
  document. The centre shows per branch what is published and what is in force (and
  alerts on a refusal).
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal, NotRequired, TypedDict

KINDS = ("config", "vip", "knowledge", "notice")
Kind = Literal["config", "vip", "knowledge", "notice"]


class Document(TypedDict):
    kind: str  # one of KINDS
    branch: str  # the branch it was issued for; another branch refuses it
    version: int  # per (branch, kind), from 1, increasing
    issued_at: str  # ISO 8601 with offset, UTC
    body: dict[str, Any]  # the kind's content (ConfigBody for `config`)
    key_id: str  # which of the centre's signing keys (`key_id(public_key)`)
    signature: str  # base64 Ed25519 signature over signed_bytes(document)


class Pending(TypedDict):
    documents: list[Document]


class Report(TypedDict):
    kind: str
    version: int
    outcome: Literal["applied", "refused"]
    reason: NotRequired[str]  # why refused: a stable code and a sentence
    # For `config`: the values in force after the branch's own edits of what the centre
    # lets it edit (dotted path → value), so the centre sees the effective configuration.
    effective: NotRequired[dict[str, Any]]


# The kiosk texts a configuration may set, per language: the attract screen's welcome line
# (`{branch}` in it is the branch's name) and a line at its foot; a text not set is the
# kiosk's own. Each is one line of at most KIOSK_TEXT_MAX characters: the attract screen
# shows it in large type to customers reading from a step away.
KIOSK_TEXTS = ("welcome", "footer")
KIOSK_TEXT_MAX = 60
# A voice pack is named, never a path: "standard" is the pack the branch ships with.
VOICE_PACK_NAME = r"[a-z0-9][a-z0-9_-]{0,31}"


class ConfigBody(TypedDict):
    """The `config` document's body.

    `catalogue` has the keys and shapes of the branch's TOML file (assets/demo_branch.toml),
    as JSON: `services` (code, names, target_wait_min, mean_min, guidance, visible,
    needs_form, share …), `bundles`, `appointments`, and further sections the centre manages:
    `opening_hours` ({"mon": ["09:00", "17:00"], …}), `alerts` (thresholds), `kiosk_texts`
    ({"zh": {key: text}, "en": {…}}, keys in KIOSK_TEXTS), `voice_pack` (a pack name,
    VOICE_PACK_NAME), `location` ({"lat": …, "lon": …}). Counters (windows) and their skills
    stay the branch's own.
    """

    catalogue: dict[str, Any]
    # Dotted paths the branch manager may still change locally, e.g. "counters.skills",
    # "notice"; the rest is the centre's.
    branch_editable: list[str]
    # Where each effective value came from: dotted path → "network" | "region" | "branch".
    # Only paths set by a region or branch override are listed; the rest is the template's.
    overridden: dict[str, str]
    template: dict[str, Any]  # {"id": str, "version": int}: what this was merged from


# ------------------------------------------------------------------------- signing
# The signature itself is made at the centre (`central.signing.sign`) and checked at the
# branch (`queue_server.signatures.verify`) with the `cryptography` package; this contract
# stays standard-library only, as every client of `wire` imports it.
def signed_bytes(document: dict[str, Any]) -> bytes:
    """The bytes a document's signature covers: its JSON without `signature`, keys sorted,
    no spaces, non-ASCII as itself."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(unsigned, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def key_id(raw_public_key: bytes) -> str:
    """A short, stable name for an Ed25519 public key (its 32 raw bytes): their start in
    base64url."""
    return base64.urlsafe_b64encode(raw_public_key).decode()[:16]


class BadSignature(ValueError):
    """A document whose signature is missing, malformed, from an unknown key or wrong."""

    code = "bad_signature"


def signature_of(document: dict[str, Any]) -> bytes:
    """The document's signature as bytes; BadSignature when it has none or it is not base64."""
    signature = document.get("signature")
    if not isinstance(signature, str) or not signature:
        raise BadSignature("the document is not signed")
    try:
        return base64.b64decode(signature, validate=True)
    except ValueError:
        raise BadSignature("the signature is not base64") from None
