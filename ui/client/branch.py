"""BranchClient: the one Qt-native connection of a kiosk or staff app to the queue server.

HTTP goes through QNetworkAccessManager and the live stream through a WebSocket on
QTcpSocket; both are Qt's asynchronous I/O on the GUI thread's event loop, so nothing
here ever blocks the screen and no thread is needed. The client keeps a `BranchModel`
current from the stream and says what changed through signals.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from PySide6.QtCore import SIGNAL, Property, QByteArray, QObject, QTimer, QUrl, Signal
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest

from ui.client.websocket import EventSocket
from ui.model.branch import BranchModel, GapError
from wire import CALL_KINDS, MessageType

log = logging.getLogger(__name__)
API = "/api/v1"
FINISHED = SIGNAL("finished(PyObject,PyObject)")  # Reply.finished, for receivers()


class ApiError(Exception):
    """A request the server refused (status and its stable code), or could not be made.

    status 0 with code "offline" means no answer: the link is down, or the request timed
    out, in which case the server may or may not have acted on it.
    """

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        # Extra fields the server put next to code and message (e.g. an appointment's slot).
        self.details: dict[str, Any] = details or {}

    @property
    def offline(self) -> bool:
        return self.status == 0


Done = Callable[[Any, "ApiError | None"], None]


class Reply(QObject):
    """The answer to one request, delivered later: `finished(data, error)`, exactly once.

    `data` is the decoded JSON body (None on error); `error` is an ApiError or None.
    `then(callback)` is the same as connecting to `finished`, and also works when the
    reply has already finished.
    """

    finished = Signal(object, object)

    def __init__(
        self, action: str, idempotency_key: str | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.action = action
        self.idempotency_key = idempotency_key  # reuse it to retry this very action
        self.attempts = 0
        self.done = False
        self.data: Any = None
        self.error: ApiError | None = None

    def then(self, callback: Done) -> Reply:
        if self.done:
            callback(self.data, self.error)
        else:
            self.finished.connect(callback)
        return self

    def _resolve(self, data: Any, error: ApiError | None) -> None:
        if self.done:
            return
        self.done, self.data, self.error = True, data, error
        self.finished.emit(data, error)
        # It fires once: drop the slots now. Their closures usually hold this reply, a
        # cycle through Qt that Python's collector cannot see — one leaked reply (and all
        # it captured) per request, for as long as the app runs. Counted by the signal's
        # signature: `QMetaMethod.fromSignal(self.finished)` itself keeps the reply alive
        # for good in PySide6 6.11 (tests/ui/test_reply_memory.py).
        if self.receivers(FINISHED) > 0:
            self.finished.disconnect()


class BranchClient(QObject):
    """Live branch state plus the actions of kiosks, counters and the manager.

    Call `start()` once; the client connects, loads a snapshot into `model`, follows the
    event stream and reconnects by itself (backoff 0.5 s doubling to 3 s), resuming from
    the last event it holds or reloading a snapshot when the server cannot resume.

    A server certificate this PC does not trust is the exception: trying again cannot
    change it, so the client stops, says why in `stream_error`, sets `stream_refused` and
    emits `streamRefused`; `reconnect()` tries again once the certificate is installed.
    """

    connectedChanged = Signal(bool)
    snapshotLoaded = Signal()
    # Every event, in sequence order, after the model applied it. Not named `event`, which
    # would shadow QObject.event(QEvent).
    eventReceived = Signal(dict)
    ticketChanged = Signal(dict)  # the ticket as it is now
    counterChanged = Signal(dict)
    serviceChanged = Signal(dict)
    deviceChanged = Signal(dict)
    called = Signal(dict)  # the whole ticket.called / ticket.recalled event: ticket, counter
    waitsChanged = Signal()  # the server's waiting summary per business (model.waiting) moved
    streamRefused = Signal(str)  # the server's certificate was refused: why (no more retries)

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 5.0,
        heartbeat_s: float = 2.0,
        issue_retries: int = 2,
        backoff_s: tuple[float, float] = (0.5, 3.0),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        base = base_url.rstrip("/")
        self.base_url = base.removesuffix(API)
        self._token = token
        self.timeout_s = timeout_s
        self.issue_retries = issue_retries
        self.model = BranchModel()
        self.last_sync: str | None = None  # "snapshot" or "resume": how the link came up
        self.stream_error: str | None = None  # why the stream last went down
        self.stream_refused = False  # stopped on an untrusted certificate until reconnect()
        self._online = False
        self._running = False
        self._socket: EventSocket | None = None
        self._backoff_min, self._backoff_max = backoff_s
        self._backoff = self._backoff_min
        self._pending: set[Reply] = set()
        self._nam = QNetworkAccessManager(self)
        # A link that says nothing for three heartbeats is dead even if TCP has not noticed
        # (a pulled cable, a sleeping switch port): without this we would show stale calls.
        self._watchdog = QTimer(self)
        self._watchdog.setSingleShot(True)
        self._watchdog.setInterval(int(3 * heartbeat_s * 1000))
        self._watchdog.timeout.connect(lambda: self._drop("no message for three heartbeats"))
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(self._connect)

    # ------------------------------------------------------------- the stream
    def _get_online(self) -> bool:
        return self._online

    online = Property(bool, _get_online, notify=connectedChanged)

    @property
    def reconnect_scheduled(self) -> bool:
        """A new connection attempt is waiting for its backoff to pass."""
        return self._retry.isActive()

    def start(self) -> None:
        """Connect the live stream; from here on the client keeps itself connected."""
        if not self._running:
            self._running = True
            self._connect()

    def stop(self) -> None:
        """Close the stream and stop reconnecting (the app is closing)."""
        self._running = False
        self._retry.stop()
        self._watchdog.stop()
        if self._socket is not None:
            sock, self._socket = self._socket, None
            sock.close()
            sock.deleteLater()
        # Idle keep-alive connections too: a server restarting waits for its peers to close,
        # and over TLS for their close_notify, which a client that stopped would never send.
        self._nam.clearConnectionCache()
        self._set_online(False)

    def reconnect(self) -> None:
        """Drop the link now and come back at once, resuming from the last event held."""
        self.stream_refused = False
        self._backoff = 0.0
        if self._socket is None and self._running:
            self._retry.start(0)  # skip the rest of a backoff wait
        self._drop("reconnect requested")

    def _connect(self) -> None:
        if not self._running or self._socket is not None:
            return
        query: dict[str, str | int] = {}
        if self.model.loaded and self.model.epoch is not None:
            query = {"since": self.model.seq, "epoch": self.model.epoch}
        url = "ws" + self.base_url.removeprefix("http") + API + "/events"
        if query:
            url += "?" + urlencode(query)
        sock = EventSocket(self)
        sock.textReceived.connect(lambda text: self._on_text(sock, text))
        sock.closed.connect(lambda reason: self._on_closed(sock, reason))
        self._socket = sock
        self._watchdog.start()  # also bounds the TCP connect and the handshake
        # The token goes in a header rather than the URL, which ends up in logs.
        sock.open(QUrl(url), {"Authorization": f"Bearer {self._token}"})

    def _drop(self, reason: str) -> None:
        if self._socket is not None:
            self._socket.abort(reason)  # _on_closed follows at once
        elif self._running and not self._retry.isActive():
            self._schedule_reconnect()

    def _on_closed(self, sock: EventSocket, reason: str) -> None:
        if sock is not self._socket:
            return  # an old connection we already gave up on
        self._socket = None
        sock.deleteLater()
        self._watchdog.stop()
        if sock.close_code == 4401:
            reason = "the server refused this device's token"
        self.stream_error = reason
        self._set_online(False)
        if sock.certificate_errors:
            # Retrying would fail the same way forever, unseen: stop and say so once.
            self.stream_refused = True
            log.error("event stream refused, not retrying: %s", reason)
            self.streamRefused.emit(reason)
            return
        log.info("event stream down: %s", reason)
        if self._running:
            self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        self._retry.start(int(self._backoff * 1000))
        self._backoff = min(max(self._backoff * 2, self._backoff_min), self._backoff_max)

    def _on_text(self, sock: EventSocket, text: str) -> None:
        if sock is not self._socket:
            return
        self._watchdog.start()
        try:
            message = json.loads(text)
            kind = message["type"]
        except (ValueError, KeyError, TypeError):
            self._drop("unreadable message from the server")
            return
        if kind == MessageType.SNAPSHOT:
            self.model.load_snapshot(message)
            self.last_sync = "snapshot"
            self._synced()
            self.snapshotLoaded.emit()
        elif kind == MessageType.RESUME:
            if message.get("epoch") != self.model.epoch:
                self._drop("resumed on another epoch")
                return
            self.last_sync = "resume"
            self._synced()
        elif kind == MessageType.EVENTS:
            self._on_events(message.get("events", []))
        elif kind == MessageType.WAITS:  # not an event: no seq, the resume position stays
            if self.model.apply_waits(message):
                self.waitsChanged.emit()
        elif kind == MessageType.HEARTBEAT and message.get("epoch") != self.model.epoch:
            self._drop("the server restarted")  # it will send a snapshot on reconnect

    def _synced(self) -> None:
        self._backoff = self._backoff_min
        self.stream_error = None
        self._set_online(True)

    def _on_events(self, events: list[dict[str, Any]]) -> None:
        for ev in events:
            try:
                applied = self.model.apply(ev)
            except GapError as exc:
                # Never show a model with a hole in it; a resume fills the hole exactly.
                self._drop(str(exc))
                return
            if not applied:
                continue
            self.eventReceived.emit(ev)
            if (ticket := ev.get("ticket")) is not None:
                self.ticketChanged.emit(ticket)
            if (counter := ev.get("counter")) is not None:
                self.counterChanged.emit(counter)
            if (service := ev.get("service")) is not None:
                self.serviceChanged.emit(service)
            if (device := ev.get("device")) is not None:
                self.deviceChanged.emit(device)
            if ev.get("kind") in CALL_KINDS:
                self.called.emit(ev)

    def _set_online(self, online: bool) -> None:
        if online != self._online:
            self._online = online
            self.connectedChanged.emit(online)

    # ---------------------------------------------------------------- requests
    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        action: str,
        idempotency_key: str | None = None,
        retries: int = 0,
        change: bool = True,
    ) -> Reply:
        # No Qt parent: the caller owns the reply; `_pending` keeps it alive until it has
        # finished, so a long-running kiosk does not collect one child object per request.
        reply = Reply(action, idempotency_key)
        self._pending.add(reply)
        reply.finished.connect(lambda *_: self._pending.discard(reply))
        if change and not self._online:
            # Refused now rather than queued: a queued action could be applied long after
            # the customer left, or twice; the teller decides what to do instead.
            err = ApiError(0, "offline", "not connected to the queue server; nothing was done")
            QTimer.singleShot(0, lambda: reply._resolve(None, err))
            return reply
        self._send(reply, method, path, body, retries)
        return reply

    def _send(
        self, reply: Reply, method: str, path: str, body: dict[str, Any] | None, retries: int
    ) -> None:
        reply.attempts += 1
        request = QNetworkRequest(QUrl(self.base_url + API + path))
        request.setTransferTimeout(int(self.timeout_s * 1000))
        request.setRawHeader(b"Authorization", f"Bearer {self._token}".encode())
        request.setRawHeader(b"Accept", b"application/json")
        if reply.idempotency_key:
            request.setRawHeader(b"Idempotency-Key", reply.idempotency_key.encode())
        data = QByteArray()
        if body is not None:
            request.setHeader(QNetworkRequest.KnownHeaders.ContentTypeHeader, "application/json")
            data = QByteArray(json.dumps(body).encode())
        qreply = self._nam.sendCustomRequest(request, method.encode(), data)

        def finished() -> None:
            result, error = _decode(qreply)
            qreply.deleteLater()
            if error is not None and retries > 0 and _retryable(error):
                # Only actions that are safe to repeat get here (same Idempotency-Key).
                log.info("%s: %s; retrying with the same key", reply.action, error)
                delay = int(self._backoff_min * 1000 * reply.attempts)
                QTimer.singleShot(delay, lambda: self._send(reply, method, path, body, retries - 1))
                return
            reply._resolve(result, error)

        qreply.finished.connect(finished)

    # ----------------------------------------------------------------- tickets
    def issue_ticket(
        self,
        service: str,
        *,
        priority: str = "regular",
        vip_tier: int = 0,
        appointment_id: str | None = None,
        appointment_slot: str | None = None,
        bundle: str | None = None,
        identity: dict[str, str] | None = None,
        eform: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Reply:
        """Issue a ticket (kiosk or staff). One key per customer action, reused on retry.

        `identity` ({id_number, birth_date}) lets the server find the customer's priority
        and keep only a keyed hash; `eform` is the ID card data the customer agreed to
        share with the teller (held in the server's memory until the visit ends).

        Lost answers are retried automatically (up to `issue_retries` times) with the same
        Idempotency-Key, so the server hands back the ticket it already made. To retry by
        hand after a failure, pass `idempotency_key=reply.idempotency_key`.
        """
        body: dict[str, Any] = {"service": service, "priority": priority, "vip_tier": vip_tier}
        if appointment_id is not None:
            body["appointment_id"] = appointment_id
        if appointment_slot is not None:
            body["appointment_slot"] = appointment_slot
        if bundle is not None:
            body["bundle"] = bundle
        if identity is not None:
            body["identity"] = identity
        if eform is not None:
            body["eform"] = eform
        return self._request(
            "POST",
            "/tickets",
            body,
            action="issue_ticket",
            idempotency_key=idempotency_key or new_key(),
            retries=self.issue_retries,
        )

    def identify_customer(self, id_number: str, birth_date: str) -> Reply:
        """Who is this ID card's holder to the bank: priority by age, VIP tier."""
        body = {"id_number": id_number, "birth_date": birth_date}
        return self._request("POST", "/customers/identify", body, action="identify")

    def check_in(self, qr: str, *, idempotency_key: str | None = None) -> Reply:
        """Check in an appointment by its QR text: a ticket, or a refusal with its code."""
        return self._request(
            "POST",
            "/appointments/check-in",
            {"qr": qr},
            action="check_in",
            idempotency_key=idempotency_key or new_key(),
            retries=self.issue_retries,
        )

    def read_eform(self, ticket_id: int) -> Reply:
        """The pre-filled form the customer shared at the kiosk (counter holding the ticket)."""
        return self._request("GET", f"/tickets/{ticket_id}/eform", action="eform", change=False)

    def read_ticket(self, ticket_id: int) -> Reply:
        """A ticket with its live position and estimated wait."""
        return self._request("GET", f"/tickets/{ticket_id}", action="read_ticket", change=False)

    def ticket_history(self, ticket_id: int) -> Reply:
        """The ticket's whole visit: {"visit_id", "legs": [tickets, each with its note]}."""
        return self._request(
            "GET", f"/tickets/{ticket_id}/history", action="ticket_history", change=False
        )

    def cancel_ticket(self, ticket_id: int) -> Reply:
        return self._request("POST", f"/tickets/{ticket_id}/cancel", action="cancel_ticket")

    def rate_ticket(self, ticket_id: int, rating: int) -> Reply:
        """The customer's rating, 1 (不满意) to 4 (非常满意)."""
        return self._request(
            "POST", f"/tickets/{ticket_id}/rating", {"rating": rating}, action="rate_ticket"
        )

    # ---------------------------------------------------------------- counters
    def call_next(self, counter: int, *, idempotency_key: str | None = None) -> Reply:
        """Call the next customer; data is {"ticket": {...} or None when nobody waits}.

        The key makes a repeated press (or a manual retry with `reply.idempotency_key`)
        return the same customer instead of calling a second one.
        """
        return self._request(
            "POST",
            f"/counters/{counter}/call-next",
            action="call_next",
            idempotency_key=idempotency_key or new_key(),
        )

    def call_ticket(
        self, counter: int, *, ticket_id: int | None = None, number: str | None = None
    ) -> Reply:
        """Call a specific customer out of turn, by ticket id or printed number."""
        body = {k: v for k, v in (("ticket_id", ticket_id), ("number", number)) if v is not None}
        return self._request("POST", f"/counters/{counter}/call", body, action="call_ticket")

    def recall(self, counter: int, ticket_id: int | None = None) -> Reply:
        return self._ticket_action(counter, "recall", ticket_id)

    def start_serving(self, counter: int, ticket_id: int | None = None) -> Reply:
        return self._ticket_action(counter, "start", ticket_id)

    def finish(self, counter: int, ticket_id: int | None = None) -> Reply:
        return self._ticket_action(counter, "finish", ticket_id)

    def no_show(self, counter: int, ticket_id: int | None = None) -> Reply:
        return self._ticket_action(counter, "no-show", ticket_id)

    def _ticket_action(self, counter: int, verb: str, ticket_id: int | None) -> Reply:
        # Naming the ticket the teller sees keeps a stale screen from acting on another.
        body = {"ticket_id": ticket_id} if ticket_id is not None else {}
        return self._request("POST", f"/counters/{counter}/{verb}", body, action=verb)

    def transfer(
        self,
        counter: int,
        *,
        to_service: str | None = None,
        to_counter: int | None = None,
        note: str = "",
        ticket_id: int | None = None,
    ) -> Reply:
        body: dict[str, Any] = {"note": note}
        for k, v in (
            ("to_service", to_service),
            ("to_counter", to_counter),
            ("ticket_id", ticket_id),
        ):
            if v is not None:
                body[k] = v
        return self._request("POST", f"/counters/{counter}/transfer", body, action="transfer")

    def open_counter(self, counter: int) -> Reply:
        return self._request("POST", f"/counters/{counter}/open", action="open")

    def pause_counter(self, counter: int, reason: str = "") -> Reply:
        return self._request(
            "POST", f"/counters/{counter}/pause", {"reason": reason}, action="pause"
        )

    def close_counter(self, counter: int) -> Reply:
        return self._request("POST", f"/counters/{counter}/close", action="close")

    def sign_in(self, counter: int, staff_id: str, pin: str) -> Reply:
        body = {"staff_id": staff_id, "pin": pin}
        return self._request("POST", f"/counters/{counter}/sign-in", body, action="sign_in")

    def sign_out(self, counter: int) -> Reply:
        return self._request("POST", f"/counters/{counter}/sign-out", action="sign_out")

    def counter_today(self, counter: int) -> Reply:
        """Today's figures for a counter: served, no-shows, average times, ratings."""
        return self._request(
            "GET", f"/counters/{counter}/today", action="counter_today", change=False
        )

    def counter_queue(self, counter: int, limit: int = 5) -> Reply:
        """Who call-next would give the counter next, and the queues of its businesses."""
        return self._request(
            "GET",
            f"/counters/{counter}/queue?{urlencode({'limit': limit})}",
            action="counter_queue",
            change=False,
        )

    def set_skills(self, counter: int, skills: list[dict[str, Any]]) -> Reply:
        """Manager: the businesses a counter serves, in order ({service, weight, overflow})."""
        return self._request(
            "PUT", f"/counters/{counter}/skills", {"skills": skills}, action="set_skills"
        )

    # ---------------------------------------------------------- knowledge base
    def knowledge_search(self, text: str) -> Reply:
        """Knowledge pages holding every word of `text`, Chinese or English: {"pages": [...]}."""
        return self._request(
            "GET",
            f"/knowledge?{urlencode({'q': text})}",
            action="knowledge_search",
            change=False,
        )

    def knowledge_page(self, service: str) -> Reply:
        """One business's knowledge page (404 `unknown_page` when the centre wrote none)."""
        return self._request(
            "GET", f"/knowledge/{quote(service, safe='')}", action="knowledge_page", change=False
        )

    def knowledge_changes(self, counter: int) -> Reply:
        """What changed in the knowledge base that the teller signed in here has not read:
        {"kb_version", "staff_id", "unseen": [{"kb_version", "published_at", "changes"}]}."""
        return self._request(
            "GET",
            f"/counters/{counter}/knowledge-changes",
            action="knowledge_changes",
            change=False,
        )

    def knowledge_changes_seen(self, counter: int, kb_version: int) -> Reply:
        """The teller signed in here has read the changes up to `kb_version`."""
        return self._request(
            "POST",
            f"/counters/{counter}/knowledge-changes/seen",
            {"kb_version": kb_version},
            action="knowledge_changes_seen",
        )

    # ------------------------------------------------------ reads and devices
    def list_services(self) -> Reply:
        return self._request("GET", "/services", action="list_services", change=False)

    def fetch_snapshot(self) -> Reply:
        """The whole state over HTTP (the stream already keeps `model` current)."""
        return self._request("GET", "/snapshot", action="snapshot", change=False)

    def report_device(
        self, device: str, kind: str, health: str, detail: str = "", counter: int | None = None
    ) -> Reply:
        """Report a device's health (e.g. "kiosk-1/printer", "printer", "error", "no paper")."""
        body: dict[str, Any] = {"device": device, "kind": kind, "health": health, "detail": detail}
        if counter is not None:
            body["counter"] = counter
        return self._request("POST", "/devices/status", body, action="report_device")


def new_key() -> str:
    """A fresh Idempotency-Key: one per user action, never per attempt."""
    return uuid.uuid4().hex


def _retryable(error: ApiError) -> bool:
    # No answer, or the server said the change was not saved: repeating with the same key
    # either makes the change once or returns the one already made.
    return error.status == 0 or error.code == "storage_unavailable"


def _decode(qreply: QNetworkReply) -> tuple[Any, ApiError | None]:
    status = qreply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
    raw = bytes(qreply.readAll().data())
    if not status:
        if qreply.error() == QNetworkReply.NetworkError.OperationCanceledError:
            message = "no answer in time; the server may or may not have done it"
        else:
            message = qreply.errorString() or "network error"
        return None, ApiError(0, "offline", message)
    status = int(status)
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = None
    if status >= 400:
        detail = payload.get("error") if isinstance(payload, dict) else None
        extra: dict[str, Any] = {}
        if isinstance(detail, dict):
            code = str(detail.get("code", f"http_{status}"))
            message = str(detail.get("message", ""))
            extra = {k: v for k, v in detail.items() if k not in ("code", "message")}
        else:
            code, message = f"http_{status}", raw[:200].decode("utf-8", "replace")
        return None, ApiError(status, code, message, extra)
    return payload, None
