"""Customer identification: the branch's keyed hash of ID numbers and the bank's VIP list.

The branch secret is the random `salt` row of the `meta` table (written by `branchq init`,
or by migration m004 for a database without one). Customer references are
HMAC-SHA256(key, ID number) with a key derived from that secret for this one purpose, so
other uses of the secret never share a key with it. The secret never leaves the database
except as that derived key in the server's memory; the plain ID number is hashed and
dropped, never stored, logged or answered back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from queue_server.domain import (
    Identification,
    customer_ref,
    identify,
    normalise_id_number,
)
from queue_server.downlink import Refusal
from queue_server.storage import customers as stored
from queue_server.storage.db import connect
from queue_server.storage.meta import branch_salt
from queue_server.vip_key import BranchVipKey
from wire.vip import (
    BadVipBody,
    HashParams,
    ImportReport,
    ListRefused,
    VipList,
    check_body,
    entry,
    opened,
    read_vip_csv,
    seal_context,
    slow_hash,
)

__all__ = ["ImportReport", "ListRefused"]

_KEY_PURPOSE = b"branchq/customer_ref/v1"
_REQUEST_PURPOSE = b"branchq/request_hash/v1"
MAX_IMPORT_BYTES = 200 * 1024 * 1024


def customer_key(conn: sqlite3.Connection, purpose: bytes = _KEY_PURPOSE) -> bytes:
    """The key customer references (or another `purpose`) are made with, derived from the
    branch secret."""
    salt = branch_salt(conn)
    if salt is None:
        raise LookupError("the database has no branch secret: run `branchq init` first")
    return hmac.new(bytes.fromhex(salt), purpose, hashlib.sha256).digest()


class CustomerDirectory:
    """Identifies customers for the server: keyed hash, age, and the imported VIP tier.

    The VIP list is read from the database at each identification, so a re-import by
    `branchq customers import` or a list from the head office applies without a restart.
    A branch with the head office's list (`VipListApplier`) recognises VIPs by it alone.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._key: bytes | None = None
        self._request_key: bytes | None = None

    def reference(self, id_number: str, birth_date: date | None = None) -> str:
        """The customer reference of a (checked) ID number; InvalidInput when it is bad."""
        if self._key is None:
            self._key = customer_key(self._conn)
        return customer_ref(self._key, normalise_id_number(id_number, birth_date))

    def request_hash(self, request: Mapping[str, Any]) -> str:
        """A keyed hash of a request's canonical JSON. The request may carry ID card data or
        a form, and an ID number is few enough guesses to recover from a plain hash."""
        if self._request_key is None:
            self._request_key = customer_key(self._conn, _REQUEST_PURPOSE)
        canonical = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hmac.new(
            # surrogatepass: a text the edge let through must not turn the hash into a 500
            self._request_key,
            canonical.encode("utf-8", "surrogatepass"),
            hashlib.sha256,
        ).hexdigest()

    def central_hash(self) -> HashParams | None:
        """The head office's slow-hash parameters, when its VIP list is in force here."""
        return stored.central_hash(self._conn)

    def identify(
        self,
        id_number: str,
        birth_date: date,
        business_day: date,
        care_age: int,
        central_s: bytes | None = None,
    ) -> Identification:
        """`central_s`: the number's slow hash under the head office's parameters, made off
        the event loop by the caller (`central_hash`); None on a branch without its list."""
        ref = self.reference(id_number, birth_date)
        if central_s is not None:
            tier = max(
                (stored.central_tier(self._conn, g, entry(k, central_s))
                 for g, k in stored.central_keys(self._conn)),
                default=0,
            )  # fmt: skip
        else:
            tier = stored.vip_tier_of(self._conn, ref)
        return identify(ref, birth_date, business_day, tier, care_age)


async def central_slow_hash(directory: CustomerDirectory, id_number: str) -> bytes | None:
    """S of a (checked) ID number when the head office's list is in force; in a worker
    thread, since it takes tens of milliseconds by design and the loop serves everyone."""
    params = directory.central_hash()
    if params is None:
        return None
    canonical = normalise_id_number(id_number)
    return await asyncio.to_thread(slow_hash, canonical, params)


# -------------------------------------------------------------- list import
def read_customer_list(text: str, key: bytes) -> tuple[dict[str, int], ImportReport]:
    """Parse the bank's CSV into customer reference -> tier (`wire.vip.read_vip_csv`)."""
    return read_vip_csv(text, lambda canonical: customer_ref(key, canonical))


def import_customers(conn: sqlite3.Connection, path: str | Path) -> ImportReport:
    """Replace the VIP list with the one in the CSV file (inside the caller's transaction)."""
    p = Path(path)
    if p.stat().st_size > MAX_IMPORT_BYTES:
        raise ListRefused(f"{p} is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        text = p.read_text(encoding="utf-8-sig")  # a BOM, as spreadsheet exports write it
    except UnicodeDecodeError:
        raise ListRefused(f"{p} is not UTF-8 text") from None
    if stored.central_hash(conn) is not None:
        raise ListRefused(
            "this branch's VIP list comes from the head office: change it there "
            "(`branchq central vip import`); a local import would be replaced at its next list"
        )
    tiers, report = read_customer_list(text, customer_key(conn))
    stored.replace_vip_list(conn, tiers)
    return report


def count_customers(conn: sqlite3.Connection) -> dict[int, int]:
    """VIP customers on the list, by tier (the head office's list when it is in force)."""
    return stored.count_by_tier(conn)


# -------------------------------------------------------- the head office's list
class VipListApplier:
    """Applies the head office's `vip` documents to the branch database (`wire.vip`).

    The list is replaced whole in one transaction, keys and entries together: a kiosk
    identifies under the old list or the new, never a mix. Applying it also drops a list
    imported locally before the branch joined the head office. The keys and pepper arrive
    sealed to this branch's own key (`queue_server.vip_key`) and are opened here.
    """

    def __init__(self, db_path: str | Path, vip_key: BranchVipKey) -> None:
        self._db_path = db_path
        self._vip_key = vip_key

    async def apply(self, document: Mapping[str, Any]) -> dict[str, Any] | None:
        """Apply a verified document (signature, branch and version checked by the
        follower); Refusal when its body is not a list the centre could have sent or its
        sealed part does not open with this branch's key."""
        if document.get("kind") != "vip":
            raise Refusal("wrong_kind", "not a vip document")
        version = document.get("version")
        if not isinstance(version, int):
            raise Refusal("bad_vip_body", "the document has no version")
        try:
            body = check_body(document.get("body"))
            context = seal_context(str(document.get("branch")), "vip", version)
            held = opened(body, self._vip_key.open(body["sealed"], context))
        except BadVipBody as exc:
            raise Refusal(exc.code, str(exc)) from None
        await asyncio.to_thread(self._replace, held, version)
        return {
            "generations": [k["generation"] for k in held["keys"]],
            "customers": len(held["keys"][-1]["entries"]),
        }

    def _replace(self, held: VipList, version: Any) -> None:
        conn = connect(self._db_path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                stored.replace_central_list(conn, held, version)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()
