"""Customer identification: the branch's keyed hash of ID numbers and the bank's VIP list.

The branch secret is the random `salt` row of the `meta` table (written by `branchq init`,
or by migration m004 for a database without one). Customer references are
HMAC-SHA256(key, ID number) with a key derived from that secret for this one purpose, so
other uses of the secret never share a key with it. The secret never leaves the database
except as that derived key in the server's memory; the plain ID number is hashed and
dropped, never stored, logged or answered back.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from queue_server.domain import (
    Identification,
    InvalidInput,
    customer_ref,
    identify,
    normalise_id_number,
)
from queue_server.storage.customers import count_by_tier, replace_vip_list, vip_tier_of
from queue_server.storage.meta import branch_salt

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
    `branchq customers import` applies without restarting the server.
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

    def identify(
        self, id_number: str, birth_date: date, business_day: date, care_age: int
    ) -> Identification:
        ref = self.reference(id_number, birth_date)
        return identify(ref, birth_date, business_day, vip_tier_of(self._conn, ref), care_age)


# -------------------------------------------------------------- list import
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


def read_customer_list(text: str, key: bytes) -> tuple[dict[str, int], ImportReport]:
    """Parse the bank's CSV (header row with id_number and vip_tier) into ref -> tier.

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
    tiers: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(id_col, tier_col):
            report.rejected.append((line, "missing columns"))
            continue
        try:
            ref = customer_ref(key, normalise_id_number(row[id_col]))
        except InvalidInput as exc:
            report.rejected.append((line, exc.message))
            continue
        tier_text = row[tier_col].strip()
        if tier_text not in ("0", "1", "2", "3"):
            report.rejected.append((line, "vip_tier must be 0, 1, 2 or 3"))
            continue
        if ref in first_line:
            report.rejected.append((line, f"same ID number as line {first_line[ref]}"))
            continue
        first_line[ref] = line
        if tier_text == "0":
            report.not_vip += 1
            continue
        tiers[ref] = int(tier_text)
    report.imported = len(tiers)
    return tiers, report


def import_customers(conn: sqlite3.Connection, path: str | Path) -> ImportReport:
    """Replace the VIP list with the one in the CSV file (inside the caller's transaction)."""
    p = Path(path)
    if p.stat().st_size > MAX_IMPORT_BYTES:
        raise ListRefused(f"{p} is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
    try:
        text = p.read_text(encoding="utf-8-sig")  # a BOM, as spreadsheet exports write it
    except UnicodeDecodeError:
        raise ListRefused(f"{p} is not UTF-8 text") from None
    tiers, report = read_customer_list(text, customer_key(conn))
    replace_vip_list(conn, tiers)
    return report


def count_customers(conn: sqlite3.Connection) -> dict[int, int]:
    """VIP customers on the list, by tier."""
    return count_by_tier(conn)
