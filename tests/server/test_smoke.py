"""The basic ticket journey through the real server."""

from conftest import sign_in


def test_issue_call_serve_finish(server):
    kiosk = server.client("kiosk")
    r = kiosk.post("/tickets", json={"service": "A"})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["number"] == "A001" and t["state"] == "waiting"
    c1 = sign_in(server, 1)
    r = c1.post("/counters/1/call-next")
    assert r.status_code == 200, r.text
    assert r.json()["ticket"]["id"] == t["id"]
    assert c1.post("/counters/1/start").json()["state"] == "serving"
    assert c1.post("/counters/1/finish").json()["state"] == "done"
