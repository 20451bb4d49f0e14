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
from .policy import AccumulatingPriority, CallingPolicy, effective_priority, eligible

__all__ = [
    "RATINGS",
    "AccumulatingPriority",
    "Branch",
    "BranchSettings",
    "Bundle",
    "CallingPolicy",
    "Change",
    "Counter",
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
    "Source",
    "Ticket",
    "TicketState",
    "business_day",
    "customer_ref",
    "effective_priority",
    "eligible",
    "format_number",
    "identify",
    "is_valid_id_number",
    "normalise_id_number",
    "stronger_priority",
]
