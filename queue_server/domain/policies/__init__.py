"""Calling policies: who a counter calls next.

`rules` holds the interface and what every policy shares (eligibility, appointment slots,
the rank-key base); `hall` what a policy may see beyond the queue (the other windows, the
forecast); `named` the policies a branch can choose — FIFO, strict priority,
accumulating (the default), SLA-aware — and their registry; `rollout` the lookahead policy
that tries its few best candidates forward in simulated time.
"""

from queue_server.domain.policies.hall import Forecast, Hall, HallAwarePolicy
from queue_server.domain.policies.named import (
    DEFAULT_GRACE,
    DEFAULT_POLICY,
    LOOKAHEAD_NAMES,
    POLICY_NAMES,
    AccumulatingPriority,
    Fifo,
    SlaAware,
    StrictPriority,
    default_policy,
    policy_by_name,
)
from queue_server.domain.policies.rollout import Advised, Rollout
from queue_server.domain.policies.rules import (
    CallingPolicy,
    FixedRanking,
    RankedPolicy,
    RankKey,
    effective_priority,
    eligible,
    next_customers,
    over_target,
    waited_s,
)
from queue_server.domain.policies.service_aware import GcMu, Reserving

__all__ = [
    "DEFAULT_GRACE",
    "DEFAULT_POLICY",
    "LOOKAHEAD_NAMES",
    "POLICY_NAMES",
    "AccumulatingPriority",
    "Advised",
    "CallingPolicy",
    "Fifo",
    "FixedRanking",
    "Forecast",
    "GcMu",
    "Hall",
    "HallAwarePolicy",
    "RankKey",
    "RankedPolicy",
    "Reserving",
    "Rollout",
    "SlaAware",
    "StrictPriority",
    "default_policy",
    "effective_priority",
    "eligible",
    "next_customers",
    "over_target",
    "policy_by_name",
    "waited_s",
]
