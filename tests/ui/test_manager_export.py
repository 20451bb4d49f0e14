"""The manager's report exporter: XLSX and CSV read back cell by cell, progress and cancel."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import sign_in

from ui.manager.export import SECTIONS, ExportError, export_csv, export_xlsx


def _ratings(one=0, two=0, three=0, four=0):
    return {"1": one, "2": two, "3": three, "4": four}


def _desk(**kw):
    row = {
        "called": 3, "served": 2, "no_show": 1, "transfers_out": 0, "mean_service_s": 330.0,
        "mean_wait_s": 340.0, "no_show_rate": 0.3333, "transfer_rate": 0.0,
        "ratings": _ratings(two=1, four=1), "rated": 2, "satisfaction": 0.5,
    }  # fmt: skip
    return row | kw


FLOW = {
    "issued": 6, "transfers_in": 0, "called": 5, "served": 5, "no_show": 0,
    "transfers_out": 0, "cancelled": 1, "open": 0, "mean_wait_s": 240.0, "p90_wait_s": 480.0,
    "within_target": 1.0, "mean_service_s": 312.0, "no_show_rate": 0.0, "transfer_rate": 0.0,
    "ratings": _ratings(two=1, three=1, four=2), "rated": 4, "satisfaction": 0.75,
}  # fmt: skip
COUNTS = {
    "booked": 2, "cancelled": 0, "checked_in": 1, "on_time": 0, "early": 1, "late": 0,
    "no_shows": 1, "pending": 0, "no_show_rate": 0.5,
}  # fmt: skip
REPORT: dict[str, Any] = {
    "from": "2026-11-27",
    "to": "2026-11-28",
    "days": 2,
    "timezone": "Asia/Shanghai",
    "generated_at": "2026-11-28T03:00:00+00:00",
    "totals": FLOW | {"issued": 9},
    "by_business": [
        {"service": "A", "names": {"zh": "现金", "en": "Cash"}, "target_wait_s": 600, **FLOW},
        {
            "service": "C",
            "names": {"zh": "开户", "en": "Accounts"},
            "target_wait_s": 900,
            **FLOW,
            "served": 0,
            "mean_wait_s": None,
            "p90_wait_s": None,
            "satisfaction": None,
        },
    ],
    "by_hour": [
        {
            "hour": 9,
            "issued": 1,
            "transfers_in": 0,
            "called": 1,
            "mean_wait_s": 60.0,
            "p90_wait_s": 60.0,
            "within_target": 1.0,
            "by_business": {"A": 1, "C": 0},
        },
        {
            "hour": 14,
            "issued": 2,
            "transfers_in": 1,
            "called": 0,
            "mean_wait_s": None,
            "p90_wait_s": None,
            "within_target": None,
            "by_business": {"A": 0, "C": 2},
        },
    ],
    "by_counter": [
        {"counter": 1, "name": "1号窗口", **_desk()},
        {"counter": 7, "name": None, **_desk(called=0, mean_wait_s=None)},
    ],
    "by_staff": [
        {"staff_id": "wang.li", **_desk()},
        {"staff_id": '=HYPERLINK("http://x")', **_desk(served=0)},  # a hostile staff id
    ],
    "by_day": [
        {
            "day": "2026-11-27",
            "issued": 8,
            "called": 8,
            "served": 7,
            "no_show": 1,
            "cancelled": 0,
            "mean_wait_s": 273.3,
            "p90_wait_s": 660.0,
            "within_target": 0.8889,
        },
        {
            "day": "2026-11-28",
            "issued": 1,
            "called": 0,
            "served": 0,
            "no_show": 0,
            "cancelled": 1,
            "mean_wait_s": None,
            "p90_wait_s": None,
            "within_target": None,
        },
    ],
    "appointments": {
        **COUNTS,
        "by_business": [{"service": "A", **COUNTS}],
    },
}


def _expected_rows(report: dict[str, Any], section: str) -> list[dict[str, Any]]:
    """The rows each section should hold, in the report's own (nested) shape."""
    if section == "totals":
        head = {k: report[k] for k in ("from", "to", "days", "timezone", "generated_at")}
        return [head | report["totals"]]
    if section == "appointments":
        a = report["appointments"]
        overall = {k: v for k, v in a.items() if k != "by_business"}
        return [*a["by_business"], {"service": "all", **overall}]
    return report[section]


def _leaves(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out |= _leaves(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def _total_rows(report: dict[str, Any]) -> int:
    return sum(len(_expected_rows(report, s)) for s in SECTIONS)


def _check_xlsx(path: Path, report: dict[str, Any]) -> None:
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == list(SECTIONS)
    for section in SECTIONS:
        sheet = book[section]
        values = [list(r) for r in sheet.iter_rows(values_only=True)]
        expected = _expected_rows(report, section)
        header = values[0]
        assert len(values) == 1 + len(expected), section
        assert sheet["A1"].font.b
        for cells, row in zip(values[1:], expected, strict=True):
            leaves = _leaves(row)
            assert set(header) == set(leaves), section
            for name, value in zip(header, cells, strict=True):
                assert value == leaves[name], (section, name)
                # Numbers stay numbers (XLSX keeps 180.0 as 180), text stays text.
                assert isinstance(value, str) == isinstance(leaves[name], str), (section, name)


def test_xlsx_holds_every_section_cell_by_cell(tmp_path):
    path = tmp_path / "报表.xlsx"
    assert export_xlsx(REPORT, path) is True
    _check_xlsx(path, REPORT)
    book = openpyxl.load_workbook(path)
    assert book["by_business"]["A1"].value == "service"
    assert book["by_business"].freeze_panes == "A2"
    staff = book["by_staff"]
    assert staff["A3"].value == '=HYPERLINK("http://x")' and staff["A3"].data_type == "s"
    assert staff["A2"].value == "wang.li"
    # Columns keep the report's order, nested figures dotted.
    header = [c.value for c in book["by_hour"][1]]
    assert header[:3] == ["hour", "issued", "transfers_in"]
    assert header[-2:] == ["by_business.A", "by_business.C"]


def _read_csv_blocks(path: Path) -> dict[str, list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    blocks: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for line in lines:
        if not line:
            name, *rest = current
            assert len(name) == 1
            blocks[name[0]] = rest
            current = []
        else:
            current.append(line)
    assert current == []  # every block ends with an empty row
    return blocks


def _as_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return str(value)


def test_csv_has_one_block_per_section(tmp_path):
    path = tmp_path / "report.csv"
    assert export_csv(REPORT, path) is True
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese names
    blocks = _read_csv_blocks(path)
    assert list(blocks) == list(SECTIONS)
    for section, lines in blocks.items():
        header, *rows = lines
        expected = _expected_rows(REPORT, section)
        assert len(rows) == len(expected), section
        for cells, row in zip(rows, expected, strict=True):
            leaves = _leaves(row)
            assert set(header) == set(leaves)
            assert cells == [_as_csv(leaves[h]) for h in header], section
    assert blocks["by_staff"][2][0] == '\'=HYPERLINK("http://x")'
    assert blocks["by_business"][1][:3] == ["A", "现金", "Cash"]


@pytest.mark.parametrize("export", [export_csv, export_xlsx])
def test_progress_counts_every_row(tmp_path, export):
    calls: list[tuple[int, int]] = []
    export(REPORT, tmp_path / "out", progress=lambda done, total: calls.append((done, total)))
    total = _total_rows(REPORT)
    assert calls == [(n, total) for n in range(total + 1)]


@pytest.mark.parametrize("export", [export_csv, export_xlsx])
def test_cancel_leaves_no_file(tmp_path, export):
    seen: list[int] = []
    path = tmp_path / "out"
    result = export(
        REPORT,
        path,
        progress=lambda done, total: seen.append(done),
        cancelled=lambda: len(seen) > 3,
    )
    assert result is False
    assert list(tmp_path.iterdir()) == []  # neither the export nor its partial file
    assert seen[-1] < _total_rows(REPORT)


@pytest.mark.parametrize("export", [export_csv, export_xlsx])
def test_cancel_keeps_an_older_export(tmp_path, export):
    path = tmp_path / "out"
    path.write_text("last week's")
    assert export(REPORT, path, cancelled=lambda: True) is False
    assert path.read_text() == "last week's"
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("export", [export_csv, export_xlsx])
def test_an_unwritable_path_is_a_clear_error(tmp_path, export):
    with pytest.raises(ExportError, match=r"cannot write .*missing"):
        export(REPORT, tmp_path / "missing" / "out")
    with pytest.raises(ExportError, match="folder"):
        export(REPORT, tmp_path)
    if os.name == "posix" and os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ExportError, match="cannot write"):
            export(REPORT, locked / "out")


def test_an_empty_section_is_a_sheet_without_rows(tmp_path):
    report = REPORT | {"by_staff": [], "by_hour": []}
    path = tmp_path / "out.xlsx"
    assert export_xlsx(report, path)
    book = openpyxl.load_workbook(path)
    assert book["by_staff"].max_row == 1 and book["by_staff"]["A1"].value is None
    blocks = _read_csv_blocks(tmp_path / "x.csv") if export_csv(report, tmp_path / "x.csv") else {}
    assert blocks["by_staff"] == []


def test_a_live_report_exports(server, clock, tmp_path):
    """The exporter takes the server's report as the console receives it (JSON)."""
    kiosk = server.client("kiosk")
    assert kiosk.post("/tickets", json={"service": "A"}).status_code == 201
    c1 = sign_in(server, 1)
    clock.advance(minutes=3)
    c1.post("/counters/1/call-next")
    c1.post("/counters/1/start")
    clock.advance(minutes=4)
    c1.post("/counters/1/finish")
    report = server.client("manager").get("/reports").json()
    assert report["totals"]["served"] == 1
    assert export_xlsx(report, tmp_path / "live.xlsx")
    _check_xlsx(tmp_path / "live.xlsx", report)
    assert export_csv(report, tmp_path / "live.csv")
    blocks = _read_csv_blocks(tmp_path / "live.csv")
    assert len(blocks["by_counter"]) == 1 + 3  # header and the three counters
