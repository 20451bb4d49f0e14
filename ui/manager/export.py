"""Writes a branch report (GET /api/v1/reports, as JSON) to CSV or XLSX for the manager.

Plain Python with no Qt and no server import: the console runs it in a worker thread and
passes `progress(done, total)` (rows written so far, of all rows) and `cancelled()`.

Sections, in order, each a table with one header row:

``totals``        one row: the report's days (`from`, `to`, `days`, `timezone`,
                  `generated_at`) and the branch's totals
``by_business``   one row per business
``by_hour``       one row per local hour of arrival
``by_counter``    one row per counter
``by_staff``      one row per teller (staff id)
``by_day``        one row per business day
``appointments``  one row per business, then a row `service = all` with the totals

Nested figures become columns with dotted names (`ratings.1` … `ratings.4`, `names.zh`,
`by_business.A`); columns follow the order they first appear in. A missing figure (null)
is an empty cell. A section with no rows is written with no header (nothing to name).

**XLSX**: one sheet per section, named as above, header row in bold and frozen.

**CSV**: one file (what a save dialog asks for), UTF-8 with a byte-order mark so Excel
reads Chinese names, with the sections one after another: a row holding only the
section's name, the header row, the data rows, then an empty row. Text that a spreadsheet
would take for a formula (starting with ``= + - @``) is written with a leading ``'``.

Both are written to a temporary file next to `path` and moved into place at the end, so a
cancelled or failed export never leaves a partial file (nor clobbers an older export).
"""

from __future__ import annotations

import contextlib
import csv
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

SECTIONS = (
    "totals",
    "by_business",
    "by_hour",
    "by_counter",
    "by_staff",
    "by_day",
    "appointments",
)
_RANGE_KEYS = ("from", "to", "days", "timezone", "generated_at")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


class ExportError(Exception):
    """The export could not be written (say `str(error)` to the manager)."""


class _Stop(Exception):
    pass


# ------------------------------------------------------------------ tables
def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"ratings": {"1": 2}}` -> `{"ratings.1": 2}`; lists are not expected in a row."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def section_rows(report: Mapping[str, Any], section: str) -> list[dict[str, Any]]:
    """The rows of one section, flattened (empty when the report lacks it)."""
    if section == "totals":
        totals = report.get("totals")
        if not isinstance(totals, Mapping):
            return []
        head = {k: report[k] for k in _RANGE_KEYS if k in report}
        return [flatten({**head, **totals})]
    if section == "appointments":
        a = report.get("appointments")
        if not isinstance(a, Mapping):
            return []
        rows = [flatten(r) for r in a.get("by_business", [])]
        overall = {k: v for k, v in a.items() if k != "by_business"}
        return [*rows, flatten({"service": "all", **overall})]
    listed = report.get(section)
    if not isinstance(listed, Sequence) or isinstance(listed, str):
        return []
    return [flatten(r) for r in listed if isinstance(r, Mapping)]


def columns_of(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def tables(report: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(section, header, rows of cells) for every section, in the export's order."""
    if not isinstance(report, Mapping):
        raise ExportError("the report is not a JSON object")
    out = []
    for section in SECTIONS:
        rows = section_rows(report, section)
        header = columns_of(rows)
        out.append((section, header, [[row.get(c) for c in header] for row in rows]))
    return out


# ------------------------------------------------------------------ writing
def export_csv(
    report: Mapping[str, Any],
    path: str | os.PathLike[str],
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> bool:
    """Write the report as one CSV file of section blocks; False when cancelled (no file)."""
    parts = tables(report)

    def write(tmp: Path, step: Callable[[], None]) -> None:
        with tmp.open("w", encoding="utf-8-sig", newline="") as f:
            out = csv.writer(f)
            for section, header, rows in parts:
                out.writerow([section])
                if header:
                    out.writerow(header)
                for cells in rows:
                    out.writerow([_csv_cell(v) for v in cells])
                    step()
                out.writerow([])

    return _atomic(path, parts, write, progress, cancelled)


def export_xlsx(
    report: Mapping[str, Any],
    path: str | os.PathLike[str],
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> bool:
    """Write the report as an XLSX workbook, one sheet per section; False when cancelled."""
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Font
    except ImportError as exc:  # a console installed without it still exports CSV
        raise ExportError("XLSX export needs the openpyxl package; CSV works without it") from exc
    parts = tables(report)

    def write(tmp: Path, step: Callable[[], None]) -> None:
        book = Workbook()
        book.remove(book.active)
        bold = Font(bold=True)
        for section, header, rows in parts:
            sheet = book.create_sheet(section)
            if header:
                sheet.append(header)
                for cell in sheet[1]:
                    cell.font = bold
                sheet.freeze_panes = "A2"
                for i, name in enumerate(header, start=1):
                    letter = sheet.cell(row=1, column=i).column_letter
                    sheet.column_dimensions[letter].width = max(10, min(40, len(name) + 2))
            for r, cells in enumerate(rows, start=2):
                for c, value in enumerate(cells, start=1):
                    cell = sheet.cell(row=r, column=c, value=value)
                    if isinstance(value, str):
                        cell.data_type = "s"  # text that looks like a formula stays text
                step()
        book.save(tmp)

    return _atomic(path, parts, write, progress, cancelled)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _atomic(
    path: str | os.PathLike[str],
    parts: Sequence[tuple[str, list[str], list[list[Any]]]],
    write: Callable[[Path, Callable[[], None]], None],
    progress: Progress | None,
    cancelled: Cancelled | None,
) -> bool:
    target = Path(path)
    total = sum(len(rows) for _, _, rows in parts)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)
        if cancelled is not None and cancelled():
            raise _Stop

    if target.is_dir():
        raise ExportError(f"cannot write {target}: it is a folder")
    if cancelled is not None and cancelled():
        return False
    with _temporary(target) as tmp:
        if progress is not None:
            progress(0, total)
        try:
            write(tmp, step)
        except _Stop:
            return False
        except OSError as exc:
            raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return True


@contextlib.contextmanager
def _temporary(target: Path) -> Iterator[Path]:
    """A new file beside `target` (same disk, so the final move is atomic), removed unless
    it was moved into place."""
    # Made with open(…, "x") rather than mkstemp: the export gets the user's usual
    # permissions, not owner-only.
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        tmp.open("x").close()
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
