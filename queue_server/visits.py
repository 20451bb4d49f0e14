"""What a visit brings with it: identification, bundles, and the pre-filled e-form.

E-forms (the ID card data a customer agreed to share, so the teller need not retype it) are
personal data and are held ONLY in this process's memory, keyed by ticket id: never in
SQLite, the event log, the server log, snapshots or events. A ticket says only whether one
was attached (`has_eform`). A form is purged when the visit ends (done, no-show,
cancelled), follows the customer to the new leg on a transfer, and is dropped for every
ticket at the business-day rollover.

A server restart therefore loses every held form, on purpose: writing them anywhere to
survive a restart would put identity data on disk. The teller's screen shows "no form"
(GET …/eform answers 404 `no_eform`) and the teller asks the customer again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from queue_server.domain import (
    Branch,
    Change,
    InvalidInput,
    PriorityClass,
    Ticket,
    stronger_priority,
)
from queue_server.wire_encode import bundle_wire
from wire import BundleWire


class EformStore:
    """Pre-filled forms by ticket id, each with the business day it was attached on."""

    def __init__(self) -> None:
        self._forms: dict[int, tuple[date, dict[str, str]]] = {}

    def __len__(self) -> int:
        return len(self._forms)

    def __contains__(self, ticket_id: object) -> bool:
        return ticket_id in self._forms

    def attach(self, ticket_id: int, fields: Mapping[str, str], day: date) -> None:
        self._forms[ticket_id] = (day, dict(fields))

    def get(self, ticket_id: int, today: date) -> dict[str, str] | None:
        self.purge_before(today)
        held = self._forms.get(ticket_id)
        return dict(held[1]) if held is not None else None

    def purge_before(self, today: date) -> None:
        """Drop every form attached on an earlier business day."""
        if any(day != today for day, _ in self._forms.values()):
            self._forms = {tid: f for tid, f in self._forms.items() if f[0] == today}

    def follow(self, change: Change, today: date) -> None:
        """Keep the forms in step with a change: move on transfer, purge at the visit's end."""
        self.purge_before(today)
        if not self._forms:
            return
        for ticket in change.tickets:
            previous = ticket.previous_id
            if previous is not None and previous in self._forms and not ticket.state.is_final:
                self._forms[ticket.id] = self._forms.pop(previous)
        for ticket in change.tickets:
            if ticket.state.is_final:
                self._forms.pop(ticket.id, None)

    def retain(self, open_tickets: Mapping[int, Ticket]) -> None:
        """Keep only the forms of tickets still open (after state was reloaded)."""
        self._forms = {
            tid: f
            for tid, f in self._forms.items()
            if tid in open_tickets and not open_tickets[tid].state.is_final
        }

    def clear(self) -> None:
        self._forms.clear()


def bundle_views(branch: Branch) -> list[BundleWire]:
    """The branch's bundles as the kiosk shows them, each with whether it needs a form."""
    out = []
    for b in sorted(branch.bundles.values(), key=lambda b: (b.sort, b.code)):
        view = bundle_wire(b)
        view["needs_form"] = branch.needs_form(b.service, b.code)
        out.append(view)
    return out


@dataclass(frozen=True)
class VisitPlan:
    """What a ticket request resolves to before it is issued."""

    service: str
    priority: PriorityClass
    vip_tier: int
    customer_ref: str | None
    bundle: str | None
    eform: dict[str, str] | None


def plan_visit(
    branch: Branch,
    *,
    service: str | None,
    bundle: str | None,
    priority: PriorityClass,
    vip_tier: int,
    identified: tuple[str, PriorityClass, int] | None,
    eform: Mapping[str, str] | None,
) -> VisitPlan:
    """Resolve the queue (from the bundle when given), the final priority and the form.

    `identified` is (customer_ref, priority, VIP tier) from identification. The final
    priority is the stronger of the declared and the identified one.
    """
    if bundle is not None:
        queue = branch.bundle(bundle).service
        if service is not None and service != queue:
            raise InvalidInput(
                f"bundle {bundle} queues for {queue}, not {service}", code="bundle_service"
            )
        service = queue
    if service is None:
        raise InvalidInput("give a service or a bundle", code="missing_service")
    branch.service(service)
    ref = None
    if identified is not None:
        ref, found, found_tier = identified
        priority, vip_tier = stronger_priority(priority, vip_tier, found, found_tier)
    form = dict(eform) if eform else None
    if form is not None and not branch.needs_form(service, bundle):
        raise InvalidInput(
            f"{bundle or service} needs no form: nothing may be attached", code="eform_not_needed"
        )
    return VisitPlan(service, priority, vip_tier, ref, bundle, form)
