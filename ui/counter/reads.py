"""What the counter window reads besides the live model (the server's preview of the queue,
today's figures, a customer's e-form and transfer history, the knowledge base and what
changed in it), and those reads on the client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ui.client import ApiError, BranchClient

Answer = Callable[[Any, "ApiError | None"], None]


class CounterReads(Protocol):
    """The reads the window makes besides the live model."""

    def queue(self, counter: int, limit: int, done: Answer) -> None: ...
    def today(self, counter: int, done: Answer) -> None: ...
    def eform(self, ticket_id: int, done: Answer) -> None: ...
    def history(self, ticket_id: int, done: Answer) -> None: ...
    def knowledge_page(self, service: str, done: Answer) -> None: ...
    def knowledge_search(self, text: str, done: Answer) -> None: ...
    def knowledge_changes(self, counter: int, done: Answer) -> None: ...
    # Not a read, but the notice's one write: the teller has read up to `kb_version`.
    def knowledge_seen(self, counter: int, kb_version: int, done: Answer) -> None: ...


class ClientReads:
    """The reads, from the queue server through the client."""

    def __init__(self, client: BranchClient) -> None:
        self.client = client

    def queue(self, counter: int, limit: int, done: Answer) -> None:
        self.client.counter_queue(counter, limit).then(done)

    def today(self, counter: int, done: Answer) -> None:
        self.client.counter_today(counter).then(done)

    def eform(self, ticket_id: int, done: Answer) -> None:
        self.client.read_eform(ticket_id).then(done)

    def history(self, ticket_id: int, done: Answer) -> None:
        self.client.ticket_history(ticket_id).then(done)

    def knowledge_page(self, service: str, done: Answer) -> None:
        self.client.knowledge_page(service).then(done)

    def knowledge_search(self, text: str, done: Answer) -> None:
        self.client.knowledge_search(text).then(done)

    def knowledge_changes(self, counter: int, done: Answer) -> None:
        self.client.knowledge_changes(counter).then(done)

    def knowledge_seen(self, counter: int, kb_version: int, done: Answer) -> None:
        self.client.knowledge_changes_seen(counter, kb_version).then(done)
