"""The names on the wire: event kinds, stream message types, and which ticket states are final."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """Every kind of event the server records and streams (the `kind` of an event).

    A member is its string, so it compares equal to the kind in a decoded message.
    """

    BRANCH_INITIALISED = "branch.initialised"
    BRANCH_NOTICE = "branch.notice"
    # The head office's hall notice, apart from the manager's (data: text, until — ISO 8601
    # UTC or null; "" text clears it). Displays stop showing it at `until` by themselves.
    BRANCH_CENTRE_NOTICE = "branch.centre_notice"

    TICKET_ISSUED = "ticket.issued"
    TICKET_CANCELLED = "ticket.cancelled"
    TICKET_LATE = "ticket.late"
    TICKET_RATED = "ticket.rated"
    TICKET_CALLED = "ticket.called"
    TICKET_RECALLED = "ticket.recalled"
    TICKET_SERVING = "ticket.serving"
    TICKET_DONE = "ticket.done"
    TICKET_NO_SHOW = "ticket.no_show"
    TICKET_TRANSFERRED = "ticket.transferred"
    TICKET_REQUEUED = "ticket.requeued"

    # The lobby's triage (issue 21); each carries the ticket, and `data.reason` when given
    # (free text: blanked before it ships). A business change ends the waiting leg with
    # `ticket.business_changed` and queues the next with `ticket.requeued`, as a transfer.
    TICKET_BUSINESS_CHANGED = "ticket.business_changed"
    TICKET_CARE_GRANTED = "ticket.care_granted"
    TICKET_DOCUMENTS_CHECKED = "ticket.documents_checked"
    TICKET_NOTED = "ticket.noted"
    TICKET_HELD = "ticket.held"
    TICKET_RELEASED = "ticket.released"
    TICKET_PREREVIEWED = "ticket.prereviewed"

    # The lobby app (issue 21): a customer sent to self-service instead of queueing (data:
    # business — its code, channel: atm | app | self_service, reason), and staff sessions on
    # a lobby tablet (data: staff_id).
    LOBBY_DIVERTED = "lobby.diverted"
    LOBBY_SIGNED_IN = "lobby.signed_in"
    LOBBY_SIGNED_OUT = "lobby.signed_out"
    APPOINTMENT_VISIT_RECORDED = "appointment.visit_recorded"

    COUNTER_SIGNED_IN = "counter.signed_in"
    COUNTER_SIGNED_OUT = "counter.signed_out"
    COUNTER_OPENED = "counter.opened"
    COUNTER_PAUSED = "counter.paused"
    COUNTER_CLOSED = "counter.closed"
    COUNTER_SKILLS = "counter.skills"

    SERVICE_UPDATED = "service.updated"

    # A configuration version from the head office, applied at once (data: version, template,
    # changed: added/updated/draining/removed businesses, bundles, appointments, kiosk_texts,
    # voice_pack, location; bundles, removed, kiosk_texts, voice_pack and location, each
    # when it changed: for clients to follow). A business it drops while people wait drains first,
    # then goes with `config.business_retired` (data: services).
    CONFIG_APPLIED = "config.applied"
    CONFIG_BUSINESS_RETIRED = "config.business_retired"
    # A knowledge base from the head office, stored whole (data: kb_version, published_at,
    # services: the business codes its changes name). Counters ask their teller's "what
    # changed" and reload the page they show; nothing in the queue changes.
    KNOWLEDGE_APPLIED = "knowledge.applied"
    DEVICE_STATUS = "device.status"

    APPOINTMENT_BOOKED = "appointment.booked"
    APPOINTMENT_CHANGED = "appointment.changed"
    APPOINTMENT_CANCELLED = "appointment.cancelled"
    APPOINTMENT_CHECKED_IN = "appointment.checked_in"
    APPOINTMENT_RELEASED = "appointment.released"

    ALERT_RAISED = "alert.raised"
    ALERT_ACKNOWLEDGED = "alert.acknowledged"
    ALERT_CLEARED = "alert.cleared"
    FOLLOWUP_OPENED = "followup.opened"
    FOLLOWUP_UPDATED = "followup.updated"

    # The calling policy the branch runs from now on (data: policy, params, label, why).
    POLICY_APPLIED = "policy.applied"
    POLICY_TOURNAMENT = "policy.tournament"  # a manager asked for a tournament now

    # Provisioning, for the audit log.
    TOKEN_CREATED = "token.created"
    TOKEN_REVOKED = "token.revoked"
    STAFF_CREATED = "staff.created"
    STAFF_PIN_RESET = "staff.pin_reset"
    STAFF_LOCKED = "staff.locked"  # sign-in refused for a while after repeated wrong PINs

    # The head office showed this database to be a restored (older) copy of its log: events
    # from `first_seq` on ship under a new log (data: log_id, restored_from, first_seq).
    LOG_RESTORED = "log.restored"


# A call puts a ticket on the hall display: the first call and every recall.
CALL_KINDS = frozenset({EventKind.TICKET_CALLED, EventKind.TICKET_RECALLED})


class MessageType(StrEnum):
    """The `type` of a message on a live stream (the branch's or one ticket's)."""

    SNAPSHOT = "snapshot"
    RESUME = "resume"
    EVENTS = "events"
    WAITS = "waits"
    HEARTBEAT = "heartbeat"
    TICKET = "ticket"


# A ticket in one of these states has left the queue for good. The one definition: the
# server's domain builds its TicketState set from it, clients drop such tickets.
FINAL_STATES: frozenset[str] = frozenset({"done", "no_show", "transferred", "cancelled"})
