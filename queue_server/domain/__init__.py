"""Domain core: plain Python with no Qt, HTTP, SQLite or hardware imports."""

from .branch import RATINGS, Branch, Change
from .day import business_day, format_number
from .errors import DomainError, InvalidInput, InvalidState, NotFound
from .model import (
    BranchSettings,
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
    "CallingPolicy",
    "Change",
    "Counter",
    "CounterState",
    "DeviceHealth",
    "DeviceStatus",
    "DomainError",
    "Event",
    "Guidance",
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
    "effective_priority",
    "eligible",
    "format_number",
]
