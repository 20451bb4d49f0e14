"""Customer identification through the API and the VIP list import, on a live server."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime

import pytest
import visit_helpers as vh
from conftest import LiveServer, make_db, sign_in
from visit_helpers import (
    ELDER,
    VIP2,
    VIP_ELDER,
    VISIT_CONFIG,
    YOUNG,
    bad_check_digit,
    identity,
    make_id,
    write_vip_list,
)

from queue_server.cli import main

# The fixtures shared with test_eform.py, registered in this module.
visit_template, visit_db, visit_server = vh.visit_template, vh.visit_db, vh.visit_server

# The `clock` fixture's day: 2026-11-27, 10:00 in Shanghai.


@pytest.mark.parametrize(
    ("person", "priority", "tier", "age"),
    [
        (ELDER, "care", 0, 76),
        (YOUNG, "regular", 0, 26),
        (VIP2, "vip", 2, 46),
        (VIP_ELDER, "vip", 1, 86),  # VIP and elderly: VIP wins
    ],
)
def test_identify(visit_server, person, priority, tier, age):
    r = visit_server.client("kiosk").post("/customers/identify", json=identity(person))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["priority"], body["vip_tier"], body["age"]) == (priority, tier, age)
    assert len(body["customer_ref"]) == 64 and int(body["customer_ref"], 16) >= 0
    assert person["id"] not in r.text


def test_the_same_customer_gets_the_same_reference_from_any_device(visit_server):
    refs = {
        visit_server.client(role)
        .post("/customers/identify", json=identity(ELDER))
        .json()["customer_ref"]
        for role in ("kiosk", "counter:3", "admin")
    }
    assert len(refs) == 1


def test_care_starts_on_the_60th_birthday_in_the_branch_time_zone(visit_server, clock):
    # 05:00 on 27 November in Shanghai is still 26 November in UTC.
    clock.now = datetime(2026, 11, 26, 21, 0, tzinfo=UTC)
    kiosk = visit_server.client("kiosk")
    turning = {"id_number": make_id(date(1966, 11, 27)), "birth_date": "1966-11-27"}
    tomorrow = {"id_number": make_id(date(1966, 11, 28)), "birth_date": "1966-11-28"}
    assert kiosk.post("/customers/identify", json=turning).json()["priority"] == "care"
    assert kiosk.post("/customers/identify", json=tomorrow).json()["priority"] == "regular"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"id_number": bad_check_digit(ELDER["id"]), "birth_date": ELDER["birth"]},
            "bad_id_number",
        ),
        ({"id_number": ELDER["id"], "birth_date": "1950-01-02"}, "bad_id_number"),
        ({"id_number": ELDER["id"][:17], "birth_date": ELDER["birth"]}, "bad_id_number"),
        ({"id_number": "x" * 18, "birth_date": ELDER["birth"]}, "bad_id_number"),
        ({"id_number": ELDER["id"]}, "invalid_request"),
        ({"id_number": ELDER["id"], "birth_date": "1 Jan 1950"}, "invalid_request"),
        ({**identity(ELDER), "name": ELDER["name"]}, "invalid_request"),
    ],
)
def test_bad_identification_is_422_and_never_echoes_the_number(visit_server, body, code):
    r = visit_server.client("kiosk").post("/customers/identify", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    assert body["id_number"] not in r.text and ELDER["id"][:17] not in r.text
    assert ELDER["name"] not in r.text


def test_an_identified_ticket_gets_the_priority_and_the_reference(visit_server):
    kiosk = visit_server.client("kiosk")
    ref = kiosk.post("/customers/identify", json=identity(ELDER)).json()["customer_ref"]
    r = kiosk.post("/tickets", json={"service": "A", "identity": identity(ELDER)})
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["priority"] == "care" and ticket["vip_tier"] == 0
    assert "customer_ref" not in ticket and ELDER["id"] not in r.text
    assert visit_server.engine.find_ticket(ticket["id"]).customer_ref == ref
    vip = kiosk.post("/tickets", json={"service": "B", "identity": identity(VIP2)}).json()
    assert (vip["priority"], vip["vip_tier"]) == ("vip", 2)
    young = kiosk.post("/tickets", json={"service": "B", "identity": identity(YOUNG)}).json()
    assert (young["priority"], young["vip_tier"]) == ("regular", 0)


def test_declared_care_and_identified_vip_queue_as_vip(visit_server):
    kiosk = visit_server.client("kiosk")
    both = kiosk.post(
        "/tickets", json={"service": "A", "priority": "care", "identity": identity(VIP2)}
    ).json()
    assert (both["priority"], both["vip_tier"]) == ("vip", 2)
    # A declared care (pregnant, say) stays when identification earns nothing more.
    declared = kiosk.post(
        "/tickets", json={"service": "A", "priority": "care", "identity": identity(YOUNG)}
    ).json()
    assert declared["priority"] == "care"


def test_identified_vip_is_called_before_earlier_regulars(visit_server, clock):
    kiosk = visit_server.client("kiosk")
    c1 = sign_in(visit_server, 1)
    kiosk.post("/tickets", json={"service": "A"})
    clock.advance(minutes=1)
    vip = kiosk.post("/tickets", json={"service": "A", "identity": identity(VIP2)}).json()
    assert c1.post("/counters/1/call-next").json()["ticket"]["id"] == vip["id"]


def test_a_ticket_with_a_bad_identity_is_not_issued(visit_server):
    kiosk = visit_server.client("kiosk")
    seq = kiosk.get("/snapshot").json()["seq"]
    bad = {"id_number": bad_check_digit(YOUNG["id"]), "birth_date": YOUNG["birth"]}
    r = kiosk.post("/tickets", json={"service": "A", "identity": bad})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_id_number"
    assert kiosk.get("/snapshot").json()["seq"] == seq


# ------------------------------------------------------------------ the list
def test_customer_list_import_and_count(visit_db, tmp_path, capsys):
    rows = [
        "id_number,vip_tier",
        f"{VIP2['id']},3",  # line 2
        f"{bad_check_digit(ELDER['id'])},1",  # line 3: rejected
        f"{YOUNG['id']},7",  # line 4: rejected
        f"{ELDER['id'].lower()},0",  # line 5: valid, not VIP, not kept
        "",
        f"{VIP2['id']},1",  # line 7: duplicate of line 2
        f"{VIP_ELDER['id']}",  # line 8: missing column
    ]
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["customers", "import", str(csv_file), "--db", str(visit_db)]) == 0
    out = capsys.readouterr().out
    assert "imported 1 VIP customers; rejected 4 rows" in out
    for line in ("line 3: ID number check digit", "line 4: vip_tier", "line 7: same ID number"):
        assert line in out, out
    assert "line 8: missing columns" in out and "1 rows with vip_tier 0" in out
    for person in (VIP2, ELDER, YOUNG, VIP_ELDER):
        assert person["id"] not in out and person["id"][:17] not in out
    assert main(["customers", "count", "--db", str(visit_db)]) == 0
    assert capsys.readouterr().out.strip() == "1 VIP customers (tier 3: 1)"

    # Re-import replaces the list; only keyed hashes are stored.
    assert main(["customers", "import", str(write_vip_list(csv_file)), "--db", str(visit_db)]) == 0
    assert "imported 2 VIP customers; rejected 0 rows" in capsys.readouterr().out
    main(["customers", "count", "--db", str(visit_db)])
    assert capsys.readouterr().out.strip() == "2 VIP customers (tier 1: 1, tier 2: 1)"
    with sqlite3.connect(visit_db) as conn:
        refs = [r[0] for r in conn.execute("SELECT customer_ref FROM customers")]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(customers)")]
    assert columns == ["customer_ref", "vip_tier"] and all(len(r) == 64 for r in refs)
    raw = visit_db.read_bytes()
    assert VIP2["id"].encode() not in raw and VIP2["name"].encode() not in raw


def test_import_refuses_a_file_without_the_columns(visit_db, tmp_path, capsys):
    csv_file = tmp_path / "list.csv"
    csv_file.write_text("number,tier\n1,2\n", encoding="utf-8")
    assert main(["customers", "import", str(csv_file), "--db", str(visit_db)]) == 2
    assert "id_number and vip_tier" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="no customer list"):
        main(["customers", "import", str(tmp_path / "none.csv"), "--db", str(visit_db)])


def test_references_depend_on_the_branch_secret(visit_template, tmp_path, clock):
    other = tmp_path / "other.db"
    tokens = make_db(other, VISIT_CONFIG)
    refs = []
    for db, toks in ((visit_template[0], visit_template[1]), (other, tokens)):
        copy = tmp_path / f"copy-{len(refs)}.db"
        copy.write_bytes(db.read_bytes())
        live = LiveServer(copy, toks, clock).start()
        try:
            body = live.client("kiosk").post("/customers/identify", json=identity(YOUNG)).json()
            refs.append(body["customer_ref"])
        finally:
            live.stop()
    assert refs[0] != refs[1]
