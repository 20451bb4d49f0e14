"""The wire contract between the queue server and its clients: event kinds, ticket states,
and the JSON shapes of entities and stream messages.

Dependency-free (standard library and typing only) so the server, the Qt apps, the bus hub
and tools can all import it; the server's domain derives its final ticket states from here.
"""

from wire.kinds import CALL_KINDS, FINAL_STATES, EventKind, MessageType
from wire.shapes import (
    AppointmentWire,
    BranchWire,
    BundleWire,
    CentreNoticeWire,
    CounterWire,
    DeviceWire,
    EventsMessage,
    EventWire,
    GuidanceWire,
    HeartbeatMessage,
    ResumeMessage,
    ServiceWire,
    SkillWire,
    Snapshot,
    SnapshotMessage,
    TicketIssued,
    TicketMessage,
    TicketView,
    TicketWire,
    WaitingSummary,
    WaitsMessage,
)

__all__ = [
    "CALL_KINDS",
    "FINAL_STATES",
    "AppointmentWire",
    "BranchWire",
    "BundleWire",
    "CentreNoticeWire",
    "CounterWire",
    "DeviceWire",
    "EventKind",
    "EventWire",
    "EventsMessage",
    "GuidanceWire",
    "HeartbeatMessage",
    "MessageType",
    "ResumeMessage",
    "ServiceWire",
    "SkillWire",
    "Snapshot",
    "SnapshotMessage",
    "TicketIssued",
    "TicketMessage",
    "TicketView",
    "TicketWire",
    "WaitingSummary",
    "WaitsMessage",
]
