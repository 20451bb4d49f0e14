"""The branch's own X25519 key pair, which the head office seals this branch's VIP keys and
the network's pepper to (`wire.vip.Sealed`).

The private key lives in a file beside the branch database (`<database>.vip-key`, mode 0600,
made on the first start with a head office), not in the database: the database is what is
backed up and copied around, while this key only opens documents sealed to it. A branch
that loses the file (a restore onto a new machine) makes a new pair and announces it; the
centre then seals the list again, to the new key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from queue_server.downlink import Refusal
from wire.downlink import key_id
from wire.vip import KEY_BYTES, SEAL_INFO, Sealed, seal_salt, sealed_ciphertext


def vip_key_path(db_path: str | Path) -> Path:
    db = Path(db_path)
    return db.with_name(db.name + ".vip-key")


class BranchVipKey:
    """Loads the pair on first use (making it when the file is new) and opens sealed parts."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._private: X25519PrivateKey | None = None

    def private_key(self) -> X25519PrivateKey:
        if self._private is None:
            self._private = _load_or_create(self.path)
        return self._private

    def public_raw(self) -> bytes:
        return self.private_key().public_key().public_bytes_raw()

    def public_hex(self) -> str:
        """What the branch announces in its hello."""
        return self.public_raw().hex()

    def open(self, sealed: Sealed, context: bytes) -> bytes:
        """The plaintext of a sealed part addressed to this key; Refusal with a stable code
        when it is sealed to another key or does not open (tampered, or bound to another
        branch, kind or version)."""
        public = self.public_raw()
        if sealed["recipient"] != key_id(public):
            raise Refusal(
                "vip_sealed_to_other_key",
                "the VIP keys are sealed to another branch key than this branch's "
                "(the centre has not yet heard this branch's current key)",
            )
        try:
            ephemeral = X25519PublicKey.from_public_bytes(bytes.fromhex(sealed["ephemeral"]))
            shared = self.private_key().exchange(ephemeral)
            key = HKDF(
                algorithm=SHA256(),
                length=KEY_BYTES,
                salt=seal_salt(bytes.fromhex(sealed["ephemeral"]), public),
                info=SEAL_INFO,
            ).derive(shared)
            return AESGCM(key).decrypt(
                bytes.fromhex(sealed["nonce"]), sealed_ciphertext(sealed), context
            )
        except (InvalidTag, ValueError):
            raise Refusal(
                "vip_seal_broken",
                "the sealed VIP keys do not open: tampered, or sealed for another document",
            ) from None


def _load_or_create(path: Path) -> X25519PrivateKey:
    if not path.exists():
        # Written whole under another name, then linked in: a second start racing this one
        # reads a complete key, its own or ours, never a half-written file.
        draft = path.with_name(f"{path.name}.{os.getpid()}.new")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(X25519PrivateKey.generate().private_bytes_raw().hex() + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    try:
        return X25519PrivateKey.from_private_bytes(bytes.fromhex(path.read_text().strip()))
    except ValueError:
        raise ValueError(f"{path} is not a branch VIP key (32 bytes in hex)") from None
