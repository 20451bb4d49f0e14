"""The `vip` document's body: the bank's VIP list as one branch may hold it (`wire.downlink`).

Nobody downstream of the import keeps an ID number. The centre keeps, per VIP, only
S = scrypt(ID number, pepper): a deliberately slow, memory-hard hash under a network-wide
pepper. A branch receives entries HMAC-SHA256(K_b, S) under a key K_b the centre issued to
that branch alone (one per key generation), so entries of two branches never match each other
and a branch's key can be rotated from S without the plain numbers. At the kiosk the branch
computes S from the scanned number with the pepper and parameters in the body, then the
entry under each key generation it holds.

What S costs is what protects the numbers: a branch's database and key let an attacker test
one guessed ID number per scrypt evaluation, and ID numbers are few enough to enumerate, so
the parameters are chosen as slow as the kiosk can afford (`PRODUCTION_HASH`).

The branch's keys and the pepper travel sealed (`Sealed`): the centre stores every document
it publishes, and a copy of its database must not hand out what a branch's files hold. Each
branch has an X25519 key pair of its own and announces the public half in its hello
(`wire.shipping.Hello.vip_key`); the centre encrypts `VipSecrets` to it (an ephemeral X25519
exchange, HKDF-SHA256 with `SEAL_INFO`, AES-256-GCM under `seal_context` of the document),
then signs the document. The entries go in the clear: without the keys they are random.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar

from wire.id_number import BadIdNumber, canonical_id_number

# Measured on the project machine (2 shared cores): 8 MiB and 40 ms per evaluation at best
# (the minimum of 90, with other work on both cores), ~130 ms typical with every core busy.
# A kiosk identifies a customer in a worker thread, once per scan; the centre's import pays
# it once per VIP.
PRODUCTION_HASH = {"n": 2**13, "r": 8, "p": 1}
KEY_BYTES = 32
DIGEST_BYTES = 32
MAX_ENTRIES = 2_000_000  # per key generation: the whole bank's VIPs, with room
VIP_TIERS = (1, 2, 3)
_HEX64 = re.compile(r"[0-9a-f]{64}")


class SentHash(TypedDict):
    algorithm: str  # "scrypt"
    n: int  # CPU/memory cost, a power of two
    r: int  # block size
    p: int  # parallelism


class HashParams(SentHash):
    """The slow hash as a branch holds it, once the sealed part is opened."""

    pepper: str  # hex, 32 bytes: the network's, the same at every branch


class SentGeneration(TypedDict):
    generation: int  # the centre's count of keys issued to this branch, from 1
    entries: dict[str, int]  # HMAC-SHA256(key, S) as hex → VIP tier 1..3


class KeyGeneration(SentGeneration):
    key: str  # hex, 32 bytes: K_b of this generation


class Sealed(TypedDict):
    """`VipSecrets` as JSON, encrypted to one branch's X25519 public key."""

    recipient: str  # `wire.downlink.key_id` of the branch's public key it is sealed to
    ephemeral: str  # hex, 32 bytes: the centre's one-off X25519 public key
    nonce: str  # hex, 12 bytes
    ciphertext: str  # base64: AES-256-GCM output with its tag


class VipSecrets(TypedDict):
    pepper: str  # hex, 32 bytes
    keys: dict[str, str]  # generation (as text) → K_b in hex


class VipBody(TypedDict):
    """The body as sent. During a rotation `keys` holds the current and the next generation,
    each with the whole list under it; otherwise one. A branch recognises a customer under
    any generation the newest document it applied holds, so the switch leaves no gap."""

    hash: SentHash
    keys: list[SentGeneration]
    list_id: int  # which import at the centre this list is
    sealed: Sealed


class VipList(TypedDict):
    """The list as a branch holds it: the body with its sealed part opened."""

    hash: HashParams
    keys: list[KeyGeneration]
    list_id: int


SEAL_INFO = b"branchq/vip/sealed/v1"
NONCE_BYTES = 12
MAX_SEALED_BYTES = 4096  # two generations' keys and the pepper are a few hundred


def seal_context(branch: str, kind: str, version: int) -> bytes:
    """The associated data a sealed part is bound to: a sealed part copied into another
    branch's document, another kind or another version does not open."""
    return json.dumps(["branchq/vip/sealed/v1", branch, kind, version]).encode()


def seal_salt(ephemeral: bytes, recipient: bytes) -> bytes:
    """HKDF's salt: both public keys, so the AES key belongs to this one exchange."""
    return ephemeral + recipient


class BadVipBody(ValueError):
    """A `vip` body that is not one the centre could have sent: refused whole."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def slow_hash(canonical_id: str, params: HashParams, *, pepper: bytes | None = None) -> bytes:
    """S: the memory-hard hash of a canonical ID number under the network's pepper."""
    n, r, p = params["n"], params["r"], params["p"]
    return hashlib.scrypt(
        canonical_id.encode("ascii"),
        salt=pepper if pepper is not None else bytes.fromhex(params["pepper"]),
        n=n,
        r=r,
        p=p,
        dklen=DIGEST_BYTES,
        # OpenSSL's default ceiling (32 MiB) is below some parameters' need of 128·n·r·p
        maxmem=128 * n * r * p + 1024 * 1024,
    )


def entry(key: bytes, s: bytes) -> str:
    """What a branch holds for one VIP under one key: HMAC-SHA256(K_b, S) as hex."""
    return hmac.new(key, s, hashlib.sha256).hexdigest()


def _int(value: Any, low: int, high: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadVipBody("bad_vip_body", f"{what} must be a whole number {low}..{high}")
    return value


def _hex_bytes(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size:
        raise BadVipBody("bad_vip_body", f"{what} must be {size} bytes in hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise BadVipBody("bad_vip_body", f"{what} must be {size} bytes in hex") from None


def check_body(body: Any) -> VipBody:
    """The body when it is well formed (BadVipBody otherwise), so nothing half-sent is
    applied. The cost is bounded too: a body asking a kiosk for gigabytes per scan is refused."""
    if not isinstance(body, dict):
        raise BadVipBody("bad_vip_body", "the vip body must be an object")
    params = body.get("hash")
    if not isinstance(params, dict) or params.get("algorithm") != "scrypt":
        raise BadVipBody("bad_vip_body", "the vip body's hash must be scrypt")
    if "pepper" in params:
        raise BadVipBody("bad_vip_body", "the pepper travels sealed, never in the clear")
    n = _int(params.get("n"), 2, 2**20, "hash.n")
    if n & (n - 1):
        raise BadVipBody("bad_vip_body", "hash.n must be a power of two")
    r = _int(params.get("r"), 1, 32, "hash.r")
    p = _int(params.get("p"), 1, 4, "hash.p")
    if 128 * n * r * p > 256 * 1024 * 1024:
        raise BadVipBody("bad_vip_body", "the hash would need more than 256 MiB per scan")
    _int(body.get("list_id"), 0, 2**62, "list_id")
    keys = body.get("keys")
    if not isinstance(keys, list) or not 1 <= len(keys) <= 2:
        raise BadVipBody("bad_vip_body", "the vip body holds one or two key generations")
    generations = set()
    for held in keys:
        if not isinstance(held, dict):
            raise BadVipBody("bad_vip_body", "a key generation must be an object")
        if "key" in held:
            raise BadVipBody("bad_vip_body", "a branch key travels sealed, never in the clear")
        generations.add(_int(held.get("generation"), 1, 2**31, "generation"))
        entries = held.get("entries")
        if not isinstance(entries, dict) or len(entries) > MAX_ENTRIES:
            raise BadVipBody("bad_vip_body", f"entries must be at most {MAX_ENTRIES} hashes")
        for digest, tier in entries.items():
            if not _HEX64.fullmatch(digest) or tier not in VIP_TIERS or isinstance(tier, bool):
                raise BadVipBody("bad_vip_body", "an entry must be a hex hash → tier 1..3")
    if len(generations) != len(keys):
        raise BadVipBody("bad_vip_body", "the key generations must differ")
    _check_sealed(body.get("sealed"))
    return body  # type: ignore[return-value]


def _check_sealed(sealed: Any) -> None:
    if not isinstance(sealed, dict) or not isinstance(sealed.get("recipient"), str):
        raise BadVipBody("bad_vip_body", "the vip body's sealed part is missing")
    _hex_bytes(sealed.get("ephemeral"), KEY_BYTES, "sealed.ephemeral")
    _hex_bytes(sealed.get("nonce"), NONCE_BYTES, "sealed.nonce")
    ciphertext = sealed.get("ciphertext")
    if not isinstance(ciphertext, str) or len(ciphertext) > MAX_SEALED_BYTES:
        raise BadVipBody("bad_vip_body", "sealed.ciphertext must be base64 text")
    sealed_ciphertext(sealed)  # type: ignore[arg-type]


def sealed_ciphertext(sealed: Sealed) -> bytes:
    try:
        return base64.b64decode(sealed["ciphertext"], validate=True)
    except ValueError:
        raise BadVipBody("bad_vip_body", "sealed.ciphertext must be base64 text") from None


def opened(body: VipBody, plaintext: bytes) -> VipList:
    """The list as the branch holds it, from a checked body and its opened sealed part;
    BadVipBody when that part does not hold the pepper and exactly the body's generations."""
    try:
        secrets = json.loads(plaintext)
    except ValueError:
        raise BadVipBody("bad_vip_body", "the sealed part is not JSON") from None
    if not isinstance(secrets, dict) or not isinstance(secrets.get("keys"), dict):
        raise BadVipBody("bad_vip_body", "the sealed part must hold the pepper and keys")
    pepper = _hex_bytes(secrets.get("pepper"), KEY_BYTES, "the sealed pepper")
    keys: dict[str, Any] = secrets["keys"]
    generations = [held["generation"] for held in body["keys"]]
    if sorted(keys) != sorted(str(g) for g in generations):
        raise BadVipBody("bad_vip_body", "the sealed keys are not the body's generations")
    return {
        "hash": {**body["hash"], "pepper": pepper.hex()},
        "keys": [
            {
                "generation": held["generation"],
                "key": _hex_bytes(keys[str(held["generation"])], KEY_BYTES, "a sealed key").hex(),
                "entries": held["entries"],
            }
            for held in body["keys"]
        ],
        "list_id": body["list_id"],
    }


# ------------------------------------------------------------------ the bank's CSV
class ListRefused(ValueError):
    """The whole customer list is refused (no header, too large, not UTF-8): nothing changed."""


@dataclass
class ImportReport:
    imported: int = 0  # VIP customers now on the list
    not_vip: int = 0  # valid rows with tier 0: nothing kept for them
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    def describe(self) -> str:
        lines = [f"imported {self.imported} VIP customers; rejected {len(self.rejected)} rows"]
        if self.not_vip:
            lines.append(f"{self.not_vip} rows with vip_tier 0 were not kept (not VIP)")
        lines += [f"  line {line}: {reason}" for line, reason in self.rejected]
        return "\n".join(lines)


Ref = TypeVar("Ref")


def read_vip_csv(text: str, reference: Callable[[str], Ref]) -> tuple[dict[Ref, int], ImportReport]:
    """Parse the bank's CSV (header row with id_number and vip_tier) into reference -> tier,
    where `reference` turns a checked, canonical ID number into what is kept of it.

    A rejected row is reported by its line number and reason only: never its ID number.
    Other columns (a name, say) are ignored and never kept.
    """
    report = ImportReport()
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    columns = [c.strip().lower() for c in header or []]
    if "id_number" not in columns or "vip_tier" not in columns:
        raise ListRefused("the customer list needs a header row with id_number and vip_tier")
    id_col, tier_col = columns.index("id_number"), columns.index("vip_tier")
    tiers: dict[Ref, int] = {}
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(id_col, tier_col):
            report.rejected.append((line, "missing columns"))
            continue
        try:
            canonical, _ = canonical_id_number(row[id_col])
        except BadIdNumber as exc:
            report.rejected.append((line, str(exc)))
            continue
        tier_text = row[tier_col].strip()
        if tier_text not in ("0", "1", "2", "3"):
            report.rejected.append((line, "vip_tier must be 0, 1, 2 or 3"))
            continue
        if canonical in first_line:
            report.rejected.append((line, f"same ID number as line {first_line[canonical]}"))
            continue
        first_line[canonical] = line
        if tier_text == "0":
            report.not_vip += 1
            continue
        tiers[reference(canonical)] = int(tier_text)
    report.imported = len(tiers)
    return tiers, report
