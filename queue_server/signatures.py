"""The branch's check of what the head office signs (`wire.downlink`): Ed25519 under the
centre's public key(s), from the PEM file the branch was set up with."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from wire.downlink import BadSignature, key_id, signature_of, signed_bytes


def raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify(document: dict[str, Any], public_keys: list[Ed25519PublicKey]) -> None:
    """Raise BadSignature unless one of `public_keys` (the one named by `key_id`) signed it."""
    signature = signature_of(document)
    keys = [k for k in public_keys if key_id(raw(k)) == document.get("key_id")]
    if not keys:
        raise BadSignature("the document is signed with a key this branch does not know")
    try:
        keys[0].verify(signature, signed_bytes(document))
    except InvalidSignature:
        raise BadSignature("the signature does not match the document") from None


def load_public_keys(pem: bytes) -> list[Ed25519PublicKey]:
    """Every Ed25519 public key in a PEM file (a branch may trust the old and the new key
    while the centre rotates its own)."""
    keys = []
    marker = b"-----END PUBLIC KEY-----"
    for block in pem.split(marker):
        if b"-----BEGIN PUBLIC KEY-----" not in block:
            continue
        key = load_pem_public_key(block.strip() + b"\n" + marker + b"\n")
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        keys.append(key)
    if not keys:
        raise ValueError("no public key in the file")
    return keys
