"""The server's ETAs come from the simulation predictor, cached per event sequence number."""

from __future__ import annotations

import logging

from conftest import sign_in

from queue_server import engine as engine_module


def test_the_prediction_is_cached_per_seq_and_fresh_after_an_event(server):
    sign_in(server, 1)
    kiosk = server.client("kiosk")
    kiosk.post("/tickets", json={"service": "A"})
    engine = server.engine
    engine.predict_refresh_s = 0.0  # no reuse across events: exactly once per seq
    first = engine.prediction()
    assert first is not None and engine.prediction() is first
    kiosk.post("/tickets", json={"service": "A"})
    fresh = engine.prediction()
    assert fresh is not None and fresh is not first and len(fresh.tickets) == 2
    assert engine.prediction() is fresh
    summary = engine.waiting_summary(engine.clock())["A"]
    assert summary["eta_new_s"] == round(fresh.newcomers["A"].median_s, 1)


def test_a_failing_predictor_falls_back_to_the_naive_eta_and_logs_once(server, monkeypatch, caplog):
    sign_in(server, 1)
    engine = server.engine
    engine.predict_refresh_s = 0.0

    def boom(*args, **kwargs):
        raise RuntimeError("predictor broke")

    monkeypatch.setattr(engine_module, "predict_waits", boom)
    kiosk = server.client("kiosk")
    with caplog.at_level(logging.ERROR, logger="queue_server.engine"):
        kiosk.post("/tickets", json={"service": "A"})
        second = kiosk.post("/tickets", json={"service": "A"}).json()
        third = kiosk.post("/tickets", json={"service": "A"}).json()
    assert second["eta_s"] == second["eta_low_s"] == second["eta_high_s"] == 1 * 4 * 60 / 1
    assert third["eta_s"] == 2 * 4 * 60 / 1
    failures = [r for r in caplog.records if "wait prediction failed" in r.getMessage()]
    assert len(failures) == 1
