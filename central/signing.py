"""The head office's signing key: what it sends a branch is signed with it (`wire.downlink`).

The private key lives in a file only the centre's user can read, never in the database (a
copy of the database must not be able to sign). Branches hold the public half, given to
them at set-up with the link's CA file; `public_pem` is what to hand them.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from wire.downlink import Document, key_id, signed_bytes


def private_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def public_key_id(public_key: Ed25519PublicKey) -> str:
    return key_id(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))


def sign(document: dict[str, Any], private_key: Ed25519PrivateKey) -> Document:
    """The document with its `key_id` and `signature` filled in."""
    signed = {**document, "key_id": public_key_id(private_key.public_key())}
    signed["signature"] = base64.b64encode(private_key.sign(signed_bytes(signed))).decode()
    return signed  # type: ignore[return-value]


class SigningKeyError(ValueError):
    code = "bad_signing_key"


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return public_key_id(self.private_key.public_key())

    def public_pem(self) -> bytes:
        return public_key_pem(self.private_key.public_key())


def create(path: str | Path) -> Signer:
    """A new key in a new file (mode 0600); refuses to replace an existing one, which would
    leave every branch refusing what the centre signs."""
    key = Ed25519PrivateKey.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SigningKeyError(f"{path} exists: a signing key is never overwritten") from None
    with os.fdopen(fd, "wb") as f:
        f.write(private_key_pem(key))
    return Signer(key)


def load(path: str | Path) -> Signer:
    try:
        key = load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise SigningKeyError(f"cannot read the signing key {path}: {exc.strerror}") from None
    except ValueError:
        raise SigningKeyError(f"{path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key")
    return Signer(key)


def load_or_create(path: str | Path) -> Signer:
    """The key in `path`, made there first when the file does not exist (a new centre)."""
    return load(path) if Path(path).exists() else create(path)
