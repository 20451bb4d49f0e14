"""Domain core: plain Python with no Qt, HTTP, SQLite or hardware imports."""

from .branch import RATINGS, Branch, Change
from .customer import (
    Identification,
    customer_ref,
    identify,
    is_valid_id_number,
    normalise_id_number,
    stronger_priority,
)
from .day import business_day, format_number
from .errors import DomainError, InvalidInput, InvalidState, NotFound
from .figures import CounterDay, SkillQueue, StaffDay, counter_day, skill_queues
from .model import (
    BranchSettings,
    Bundle,
    Counter,
    CounterState,
    DeviceHealth,
    DeviceStatus,
    Event,
    Guidance,
    PriorityClass,
    Service,
    Skill,
    Source,
    Ticket,
    TicketState,
)
from .policies import (
    AccumulatingPriority,
    CallingPolicy,
    effective_priority,
    eligible,
    next_customers,
)

__all__ = [
    "RATINGS",
    "AccumulatingPriority",
    "Branch",
    "BranchSettings",
    "Bundle",
    "CallingPolicy",
    "Change",
    "Counter",
    "CounterDay",
    "CounterState",
    "DeviceHealth",
    "DeviceStatus",
    "DomainError",
    "Event",
    "Guidance",
    "Identification",
    "InvalidInput",
    "InvalidState",
    "NotFound",
    "PriorityClass",
    "Service",
    "Skill",
    "SkillQueue",
    "Source",
    "StaffDay",
    "Ticket",
    "TicketState",
    "business_day",
    "counter_day",
    "customer_ref",
    "effective_priority",
    "eligible",
    "format_number",
    "identify",
    "is_valid_id_number",
    "next_customers",
    "normalise_id_number",
    "skill_queues",
    "stronger_priority",
]
