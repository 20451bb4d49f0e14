"""Schemathesis over every operation of the OpenAPI document, on a real server: no 5xx,
every documented answer matches its schema. `BRANCHQ_HOSTILE_EXAMPLES=300` runs the long
version (the `hostile` drill runs it too, with more roles)."""

from __future__ import annotations

import os

import pytest

from tools.drill.api_fuzz import fuzz_api

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("BRANCHQ_HOSTILE_EXAMPLES", "0"))


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("role", "examples"), [("admin", 6), ("kiosk", 5)])
def test_the_api_survives_schemathesis(server, role, examples):
    spare = server.client("admin").post("/tokens", json={"role": "kiosk", "name": "spare"}).json()
    report = fuzz_api(
        server.base_url,
        server.tokens[role],
        role=role,
        max_examples=EXAMPLES or examples,
        seed=None if EXAMPLES else 1,
        spare_token_id=spare["id"],
    )
    assert report.operations >= 60
    assert report.cases > report.operations * 2
    failures = [f"{r.operation} ({r.mode}): {r.failure}" for r in report.failures]
    assert not failures, "\n\n".join(failures) + f"\n\nserver errors: {report.server_errors}"
    assert not report.server_errors
