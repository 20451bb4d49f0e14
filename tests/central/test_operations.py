"""Remote operations at the centre: a hall notice to a region or the network, and the fleet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from central.accounts import Viewer
from central.branches import enrol
from central.signing import Signer
from central.storage import downlink, operations
from queue_server.signatures import verify

HEAD = Viewer("zhang", "head_office", None)
EAST = Viewer("li", "regional", "east")


def _network(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        enrol(conn, "E1", "东一", "east")
        enrol(conn, "E2", "东二", "east")
        enrol(conn, "W1", "西一", "west")


def test_a_regional_notice_reaches_every_branch_of_the_region_and_no_other(
    central_dsn: str, signer: Signer
) -> None:
    _network(central_dsn)
    until = datetime.now(UTC) + timedelta(hours=3)
    with psycopg.connect(central_dsn) as conn:
        sent = operations.send_notice(
            conn, signer, EAST, "  台风预警：\n今日 15:00 闭门 ", until, "east"
        )
        conn.commit()
        assert sent == ["E1", "E2"]
        for branch in ("E1", "E2"):
            (doc,) = downlink.pending(conn, branch, {})
            verify(doc, [signer.private_key.public_key()])
            assert doc["kind"] == "notice"
            assert doc["body"] == {
                "text": "台风预警： 今日 15:00 闭门",
                "until": until.astimezone(UTC).isoformat(),
                "from": "li",
            }
        assert downlink.pending(conn, "W1", {}) == []
        assert operations.send_notice(conn, signer, HEAD, "全行系统升级", until, None) == [
            "E1", "E2", "W1",
        ]  # fmt: skip


@pytest.mark.parametrize(
    ("viewer", "text", "hours", "region", "code"),
    [
        (EAST, "hi", 1, "west", "out_of_scope"),
        (EAST, "hi", 1, None, "out_of_scope"),
        (HEAD, "", 1, None, "bad_notice"),
        (HEAD, "x" * 301, 1, None, "bad_notice"),
        (HEAD, "hi", -1, None, "bad_until"),
        (HEAD, "hi", 24 * 40, None, "bad_until"),
        (HEAD, "hi", 1, "north", "unknown_region"),
    ],
)
def test_a_refused_notice_says_why_and_publishes_nothing(
    central_dsn: str, signer: Signer, viewer: Viewer, text: str, hours: int, region: str | None,
    code: str,
) -> None:  # fmt: skip
    _network(central_dsn)
    with psycopg.connect(central_dsn) as conn:
        with pytest.raises(operations.OperationsError) as refused:
            operations.send_notice(
                conn, signer, viewer, text, datetime.now(UTC) + timedelta(hours=hours), region
            )
        assert refused.value.code == code
        assert conn.execute("SELECT count(*) FROM downlink_documents").fetchone() == (0,)


def test_the_fleet_shows_versions_published_and_in_force_and_devices_by_region(
    central_dsn: str, signer: Signer
) -> None:
    _network(central_dsn)
    with psycopg.connect(central_dsn) as conn:
        conn.execute("UPDATE branches SET software_version = '1.4.2' WHERE id = 'E1'")
        conn.execute(
            "INSERT INTO device_health (branch_id, device, kind, health, detail, reported_at, "
            "since) VALUES ('E1', 'kiosk-1/printer', 'printer', 'fault', 'paper out', now(), "
            "now()), ('E1', 'hall-1', 'board', 'ok', '', now(), now())"
        )
        for _ in range(2):
            downlink.publish(conn, signer, "E1", "config", {"catalogue": {}})
        downlink.record_report(conn, "E1", {"kind": "config", "version": 1, "outcome": "applied"})
        conn.commit()
        east = {r["branch"]: r for r in operations.fleet(conn, EAST)}
        assert sorted(east) == ["E1", "E2"]
        e1 = east["E1"]
        assert (e1["software_version"], e1["config_published"], e1["config_deployed"]) == (
            "1.4.2", 2, 1,
        )  # fmt: skip
        assert (e1["devices"], e1["devices_not_ok"]) == (2, 1)
        assert e1["device_faults"][0]["detail"] == "paper out"
        assert east["E2"]["config_published"] is None
        assert len(operations.fleet(conn, HEAD)) == 3


def test_the_fleet_shows_the_notice_a_branch_took_not_the_one_only_sent(
    central_dsn: str, signer: Signer
) -> None:
    _network(central_dsn)
    until = datetime.now(UTC) + timedelta(hours=1)
    with psycopg.connect(central_dsn) as conn:
        operations.send_notice(conn, signer, EAST, "台风预警", until, "east")
        downlink.record_report(conn, "E1", {"kind": "notice", "version": 1, "outcome": "applied"})
        operations.send_notice(conn, signer, EAST, "预警解除", until, "east")
        east = {r["branch"]: r for r in operations.fleet(conn, EAST)}
    assert east["E1"]["notice"] == {"text": "台风预警", "until": until.astimezone(UTC).isoformat()}
    assert (east["E1"]["notice_published"], east["E1"]["notice_deployed"]) == (2, 1)
    assert east["E2"]["notice"] is None
