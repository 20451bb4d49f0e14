"""The device-fault drill, short: every fault once under a live kiosk, nothing lost."""

from __future__ import annotations

import pytest

from tools.drill import devices as drill_devices
from tools.drill.devices import RESULT_KEYS


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_short_device_drill_loses_nothing():
    result = drill_devices.run(short=True, attempts=None)
    assert tuple(result) == RESULT_KEYS
    details = result["details"]
    assert "error" not in details, details
    assert (result["drill"], result["attempts"], result["faults"]) == ("devices", 1, 6)
    for fault in details["faults"]:
        # The kiosk degraded as designed, the manager was alerted, the alert cleared.
        assert (fault["kiosk_ok"], fault["alerted"], fault["cleared"]) == (True, True, True), fault
    assert details["tickets_lost"] == 0 and details["freezes"] == 0
    assert details["failures"] == []
    # Three tickets met a printer fault mid-job: each stayed on screen as the ticket.
    assert details["tickets_on_screen"] >= 3 and details["printer_lost_jobs"] >= 2
    assert result["lost"] == 0
    assert result["recovery_p95_s"] is not None and result["recovery_p95_s"] < 15


def test_a_drill_child_that_dies_is_reported_not_raised():
    result = drill_devices.run_child("queue_server.no_such_drill", "devices", [], 60)
    assert tuple(result) == RESULT_KEYS
    assert result["lost"] == 1 and "No module named" in result["details"]["log"]
