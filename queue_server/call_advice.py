"""Call-next under a lookahead policy, decided off the event loop.

The rollout simulates the next hour for a few candidates at every call (tens of ms at a
busy branch, `branchq bench rollout`): on the event loop that would stall every other
request for as long. So the decision runs in the predictor process on a frozen copy of the
open part of the branch, and comes back as a ticket id. The call itself is then made on the
loop as a normal policy call through `Advised`: the advised ticket if the counter may still
call it (someone else may have called it meanwhile), else the fallback policy's choice (the
base unless the rollout names one that starves nobody) — as it is when the predictor is slow
(`ADVICE_TIMEOUT_S`), broken or gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime
from functools import partial

from queue_server.domain import Branch, CallingPolicy, Ticket
from queue_server.domain.policies import Advised, Rollout
from queue_server.predictor import run_in_predictor

log = logging.getLogger(__name__)

ADVICE_TIMEOUT_S = 0.25  # a teller waits at most this long for the lookahead

Advise = Callable[[Branch, int, datetime], int | None]


def advise_call(branch: Branch, counter_no: int, now: datetime) -> int | None:
    """In the predictor process: the ticket the branch's policy would call (None: nobody).

    The branch's own call-next on its copy, so the hall and eligibility are exactly those of
    a call; the change is never applied anywhere."""
    chosen = branch.call_next(counter_no, now).result
    return chosen.id if isinstance(chosen, Ticket) else None


async def advised_policy(
    branch: Branch,
    counter_no: int,
    now: datetime,
    *,
    executor: Executor | None = None,
    advise: Advise = advise_call,
    timeout_s: float = ADVICE_TIMEOUT_S,
) -> CallingPolicy | None:
    """This call's policy: None when the branch's policy is cheap enough to run here."""
    policy = branch.policy
    if not isinstance(policy, Rollout):
        return None
    loop = asyncio.get_running_loop()
    job = partial(advise, branch.frozen_copy(open_only=True), counter_no, now)
    try:
        if executor is not None:
            running = loop.run_in_executor(executor, job)
        else:
            running = run_in_predictor(loop, job)
        chosen = await asyncio.wait_for(running, timeout_s)
    except TimeoutError:
        log.warning("lookahead call took over %.0f ms; the base policy called", timeout_s * 1e3)
        chosen = None
    except Exception:  # a broken predictor must never stop a teller calling
        log.exception("lookahead call failed; the base policy called")
        chosen = None
    return Advised(chosen, policy.fallback or policy.base)
