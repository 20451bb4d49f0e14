"""The bank's VIP list at the centre: imported once, kept without ID numbers, sent to every
branch under a key of its own (`wire.vip` has the scheme and why).

Secrets come from one master key file beside the signing key (0600, never in the database):
the network's pepper and every branch's key K_b = HKDF(master, branch, generation) are
derived from it, so a copy of the database holds no key and S values useless without the
pepper. The documents the centre stores carry a branch's keys and the pepper only sealed to
that branch's own X25519 key (`seal`), which the branch announces in its hello: a branch
that has announced none gets no list until it does.

A branch's key is rotated in two steps: `begin_rotation` sends the list under the current
and the next generation, `finish_rotation` drops the current one once the branch has applied
the first (a kiosk recognises a customer under either in between).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from central.signing import Signer
from central.storage import downlink
from central.storage import vip as stored
from wire.downlink import Document, key_id
from wire.vip import (
    KEY_BYTES,
    NONCE_BYTES,
    PRODUCTION_HASH,
    SEAL_INFO,
    HashParams,
    ImportReport,
    ListRefused,
    Sealed,
    SentGeneration,
    VipBody,
    VipSecrets,
    entry,
    read_vip_csv,
    seal_context,
    seal_salt,
    slow_hash,
)

MAX_IMPORT_BYTES = 200 * 1024 * 1024


class VipError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------- keys
def load_or_create_master(path: str | Path) -> bytes:
    """The master key in `path` (hex), made there (mode 0600) when the file is new."""
    p = Path(path)
    if not p.exists():
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(KEY_BYTES) + "\n")
    try:
        master = bytes.fromhex(p.read_text().strip())
    except ValueError:
        raise VipError("bad_vip_key", f"{p} is not a hex key") from None
    if len(master) != KEY_BYTES:
        raise VipError("bad_vip_key", f"{p} must hold {KEY_BYTES} bytes in hex")
    return master


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()).derive(
        master
    )


def pepper(master: bytes) -> bytes:
    """The network's pepper: the same at every branch, changed only with a new master key
    (which needs the plain list again: S cannot be re-peppered)."""
    return _derive(master, "branchq/vip/pepper/v1")


def branch_key(master: bytes, branch: str, generation: int) -> bytes:
    """K_b of one generation: a branch's key tells nothing of another's or of the master."""
    return _derive(master, f"branchq/vip/branch-key/v1/{branch}/{generation}")


# --------------------------------------------------------------------- import
def _hash_one(job: tuple[str, HashParams, bytes]) -> bytes:
    canonical, params, salt = job
    return slow_hash(canonical, params, pepper=salt)


def import_list(
    conn: psycopg.Connection,
    signer: Signer,
    master: bytes,
    path: str | Path,
    *,
    hash_cost: dict[str, int] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Replace the list with the CSV's and publish it to every enrolled branch, all in the
    caller's transaction. `hash_cost` ({"n", "r", "p"}) is for tests: production uses
    `PRODUCTION_HASH`. The plain numbers exist only in this call's memory."""
    p = Path(path)
    if p.stat().st_size > MAX_IMPORT_BYTES:
        raise ListRefused(f"{p} is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ListRefused(f"{p} is not UTF-8 text") from None
    canonical_tiers, report = read_vip_csv(text, lambda canonical: canonical)
    cost = hash_cost or PRODUCTION_HASH
    params = _params(master, cost)
    salt = pepper(master)
    jobs = [(canonical, params, salt) for canonical in canonical_tiers]
    # Tens of milliseconds each by design: every core the centre has, for a big list.
    if len(jobs) > 64 and (workers or os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor(workers) as pool:
            hashes = list(pool.map(_hash_one, jobs, chunksize=64))
    else:
        hashes = [_hash_one(job) for job in jobs]
    tiers = dict(zip(hashes, canonical_tiers.values(), strict=True))
    stored.replace_list(conn, tiers, cost["n"], cost["r"], cost["p"])
    for branch in stored.branches_with_keys(conn):
        publish_to(conn, signer, master, branch)
    return report


def _params(master: bytes, cost: dict[str, int]) -> HashParams:
    return {
        "algorithm": "scrypt",
        "n": cost["n"],
        "r": cost["r"],
        "p": cost["p"],
        "pepper": pepper(master).hex(),
    }


# -------------------------------------------------------------------- publish
def seal(recipient: bytes, plaintext: bytes, context: bytes) -> Sealed:
    """`plaintext` encrypted to a branch's X25519 public key, bound to `context`: a one-off
    key pair, HKDF-SHA256 of the shared secret, AES-256-GCM (`wire.vip.Sealed`)."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    key = HKDF(
        algorithm=SHA256(),
        length=KEY_BYTES,
        salt=seal_salt(ephemeral_public, recipient),
        info=SEAL_INFO,
    ).derive(shared)
    nonce = os.urandom(NONCE_BYTES)
    return {
        "recipient": key_id(recipient),
        "ephemeral": ephemeral_public.hex(),
        "nonce": nonce.hex(),
        "ciphertext": base64.b64encode(AESGCM(key).encrypt(nonce, plaintext, context)).decode(),
    }


def publish_to(conn: psycopg.Connection, signer: Signer, master: bytes, branch: str) -> Document:
    """The branch's next `vip` version: the list under each generation it holds (a first
    generation is issued to a branch that has none), its keys and the pepper sealed to the
    key the branch announced. Only that ciphertext is stored with the document."""
    in_force = stored.current_import(conn)
    if in_force is None:
        raise VipError("no_vip_list", "no VIP list has been imported yet")
    recipient = stored.announced_key(conn, branch)
    if recipient is None:
        raise VipError(
            "no_branch_vip_key",
            f"{branch} has not announced its VIP key yet: it gets the list once it has",
        )
    list_id, n, r, p = in_force
    held = stored.held_generations(conn, branch)
    if not held:
        held = [(stored.issue_generation(conn, branch, "current"), "current")]
    listed = stored.listed(conn)
    generations: list[SentGeneration] = []
    keys: dict[str, str] = {}
    for generation, _ in held:
        key = branch_key(master, branch, generation)
        keys[str(generation)] = key.hex()
        generations.append(
            {"generation": generation, "entries": {entry(key, s): tier for s, tier in listed}}
        )
    secrets_of: VipSecrets = {"pepper": pepper(master).hex(), "keys": keys}
    plaintext = json.dumps(secrets_of).encode()

    def body(version: int) -> dict[str, Any]:
        sent: VipBody = {
            "hash": {"algorithm": "scrypt", "n": n, "r": r, "p": p},
            "keys": generations,
            "list_id": list_id,
            "sealed": seal(recipient, plaintext, seal_context(branch, "vip", version)),
        }
        return dict(sent)

    return downlink.publish(conn, signer, branch, "vip", body)


def announce(
    conn: psycopg.Connection,
    signer: Signer | None,
    master: bytes | None,
    branch: str,
    public_hex: str,
) -> Document | None:
    """Keep the key a branch's hello announced; when it is new and the centre holds the
    signing and master keys, send the list again sealed to it (in one transaction). A
    centre serving without them leaves that to the next `vip import` or `vip rotate`."""
    public_key = bytes.fromhex(public_hex)
    with conn.transaction():
        if not stored.save_announced_key(conn, branch, public_key):
            return None
        if signer is None or master is None or stored.current_import(conn) is None:
            return None
        return publish_to(conn, signer, master, branch)


def begin_rotation(
    conn: psycopg.Connection, signer: Signer, master: bytes, branch: str
) -> Document:
    """Issue the branch's next key and send the list under both generations."""
    held = stored.held_generations(conn, branch)
    if any(state == "next" for _, state in held):
        raise VipError("rotation_under_way", f"{branch}'s key rotation is already under way")
    if not held:
        raise VipError("no_vip_key", f"{branch} has no VIP key yet: import a list first")
    stored.issue_generation(conn, branch, "next")
    return publish_to(conn, signer, master, branch)


def finish_rotation(
    conn: psycopg.Connection, signer: Signer, master: bytes, branch: str
) -> Document:
    """Retire the old generation: the list goes out under the new key only."""
    held = stored.held_generations(conn, branch)
    if not any(state == "next" for _, state in held):
        raise VipError("no_rotation", f"{branch} has no key rotation under way")
    stored.promote_next(conn, branch)
    return publish_to(conn, signer, master, branch)


def counts(conn: psycopg.Connection) -> dict[str, Any]:
    """For the console: VIPs by tier, the import in force, branches' key generations."""
    return stored.counts(conn)
