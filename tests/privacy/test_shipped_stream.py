"""Nothing personal reaches the head office: no ID number, name, phone or typed note in any
byte the shipper sends, after a customer identified with an ID card, an e-form, a phone
opt-in, a teller's transfer note, a rating comment and a manager's follow-up note."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from conftest import LiveServer, sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
import shipping_double as sd
import visit_helpers as vh

visit_template, visit_db, link, centre_cert = (
    vh.visit_template,
    vh.visit_db,
    sd.link,
    sd.centre_cert,
)
PHONE = "13912345678"
NOTE = "客户称其母病重急需取款核对户籍"
COMMENT = "柜员态度差我叫欧阳娜娜"
FOLLOWUP_NOTE = "已回电欧阳女士139"


def test_no_personal_data_in_any_shipped_byte(visit_template, visit_db, clock, link):
    person = vh.ELDER
    server = LiveServer(visit_db, visit_template[1], clock, head_office=link.office()).start()
    try:
        body = {"service": "C", "identity": vh.identity(person), "eform": vh.eform_of(person)}
        r = server.client("kiosk").post(
            "/tickets", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
        )
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        public = server.client(None)
        assert (
            public.post(f"/public/tickets/{token}/notify", json={"phone": PHONE}).status_code == 200
        )
        teller = sign_in(server, 3)
        for step in ("call-next", "start"):
            assert teller.post(f"/counters/3/{step}").status_code == 200
        moved = teller.post("/counters/3/transfer", json={"to_service": "B", "note": NOTE})
        assert moved.status_code == 200, moved.text
        other = sign_in(server, 1)
        for step in ("call-next", "start", "finish"):
            assert other.post(f"/counters/1/{step}").status_code == 200, step
        rated = public.post(
            f"/public/tickets/{token}/rating", json={"rating": 1, "comment": COMMENT}
        )
        assert rated.status_code == 200, rated.text
        manager = server.client("manager")
        followups = manager.get("/followups").json()
        assert followups and followups[0]["comment"] == COMMENT  # the branch keeps it
        fid = followups[0]["id"]
        assert manager.patch(f"/followups/{fid}", json={"note": FOLLOWUP_NOTE}).status_code == 200
        last = server.engine.branch.last_seq
        log_id = server.client("manager").get("/head-office").json()["log_id"]
        link.centre.wait_for(
            lambda: log_id in link.centre.logs and link.centre.logs[log_id].watermark >= last
        )
    finally:
        server.stop()
    shipped = b"".join(link.centre.raw).decode()
    needles = [person["id"], person["name"], PHONE, PHONE[3:], NOTE, COMMENT, FOLLOWUP_NOTE,
               vh.ADDRESS, "Teller 3", "Teller 1"]  # fmt: skip
    assert [n for n in needles if n in shipped] == []
    # The scan finds what it looks for: the stream is there, with the ticket and its rating.
    assert '"ticket.transferred"' in shipped and '"rating":1' in shipped and "C001" in shipped
