"""Schemathesis over the server's own OpenAPI document: no 5xx, every answer as documented."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Operations whose generated path parameter would hit the fuzzer's own credentials: revoking
# its own token would turn the rest of the run into 401s. They are fuzzed with a spare one.
PINNED = {"DELETE /api/v1/tokens/{token_id}": "token_id"}


@dataclass
class OperationResult:
    operation: str
    mode: str
    cases: int
    failure: str | None = None


@dataclass
class FuzzReport:
    role: str
    max_examples: int
    seconds: float = 0.0
    operations: int = 0
    cases: int = 0
    results: list[OperationResult] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)  # exceptions the server logged

    @property
    def failures(self) -> list[OperationResult]:
        return [r for r in self.results if r.failure is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "max_examples": self.max_examples,
            "seconds": round(self.seconds, 1),
            "operations": self.operations,
            "cases": self.cases,
            "failures": [
                {"operation": r.operation, "mode": r.mode, "error": r.failure}
                for r in self.failures
            ],
            "server_errors": self.server_errors,
        }


class _Collect(logging.Handler):
    """Keeps the exceptions the server logs while the fuzzer runs (the 500s' causes)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = f"{type(exc).__name__}: {exc}"[:300]
            if text not in self.seen:
                self.seen.append(text)


@contextmanager
def _server_errors() -> Iterator[_Collect]:
    handler = _Collect()
    loggers = [logging.getLogger(n) for n in ("queue_server", "uvicorn.error")]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield handler
    finally:
        for lg in loggers:
            lg.removeHandler(handler)


def fuzz_api(
    base_url: str,
    token: str,
    *,
    role: str = "",
    max_examples: int = 10,
    seed: int | None = 1,
    spare_token_id: int | None = None,
    negative: bool = True,
) -> FuzzReport:
    """Every operation of `base_url`'s OpenAPI document, `max_examples` cases per mode.

    Checks: no 5xx, a documented answer's body matches its schema, and its content type.
    """
    import schemathesis
    import schemathesis.checks as st_checks
    from hypothesis import seed as hyp_seed
    from schemathesis import GenerationMode
    from schemathesis.core.result import Ok

    schema = schemathesis.openapi.from_url(base_url + "/openapi.json", timeout=10)
    checks = [
        st_checks.not_a_server_error,
        st_checks.response_schema_conformance,
        st_checks.content_type_conformance,
    ]
    headers = {"Authorization": f"Bearer {token}"}
    modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negative else [])
    report = FuzzReport(role, max_examples)
    started = time.monotonic()
    with _server_errors() as errors:
        for result in schema.get_all_operations():
            report.operations += 1
            if not isinstance(result, Ok):
                report.results.append(
                    OperationResult("?", "schema", 0, f"invalid operation: {result.err()}"[:1200])
                )
                continue
            operation = result.ok()
            label = operation.label
            pinned = {}
            if label in PINNED and spare_token_id is not None:
                pinned = {PINNED[label]: spare_token_id}
            for mode in modes:
                outcome = OperationResult(label, mode.value, 0)
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=pinned)
                test = _property(outcome, strategy, base_url, headers, checks, max_examples)
                if seed is not None:
                    test = hyp_seed(seed)(test)
                try:
                    test()
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # a FailureGroup is a BaseExceptionGroup
                    if type(exc).__name__ != "Unsatisfiable":  # no invalid input exists
                        outcome.failure = _describe(exc)
                report.cases += outcome.cases
                report.results.append(outcome)
        report.server_errors = errors.seen
    report.seconds = time.monotonic() - started
    return report


def _property(
    outcome: OperationResult,
    strategy: Any,
    base_url: str,
    headers: dict[str, str],
    checks: list[Any],
    max_examples: int,
) -> Any:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        print_blob=False,
        verbosity=Verbosity.quiet,  # failures are in the report, not on stdout
    )
    @given(case=strategy)
    def one(case: Any) -> None:
        outcome.cases += 1
        response = case.call(base_url=base_url, headers=headers, timeout=15)
        case.validate_response(response, checks=checks, headers=headers)

    return one


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (type(exc).__name__ + ": " + " | ".join(lines))[:1200]
