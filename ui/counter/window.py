"""CounterWindow: the teller's screen — sign-in, the customer at the counter, the actions.

The window holds no rules of its own: `CounterSession` (Qt-free) derives what is shown and
what is allowed from the client's live model; the window renders it, turns clicks and
function keys into client calls, and shows each refusal in words. Actions are sent at
once, one at a time; an answer is shown the moment it comes (before its event, even), and
nothing is ever queued while the server is unreachable.

Reads the model cannot answer (the server's preview of who comes next, today's figures, a
customer's e-form and transfer history) go through `CounterReads`, refetched after this
counter's own actions and relevant events, coalesced by a short debounce, and at most
every `refresh_every_s` otherwise; a test or the screenshots pass other reads. The window
is given its session and reads; `open_counter` builds them for a live client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLayout,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui.client import ApiError, BranchClient, Reply
from ui.counter.compact import CompactBar
from ui.counter.dialogs import CallNumberDialog, PauseDialog, TransferDialog
from ui.counter.keys import ActionButton
from ui.counter.panels.customer import CustomerPanel
from ui.counter.panels.knowledge import KnowledgeNotice, KnowledgePanel
from ui.counter.panels.signin import SignInPage
from ui.counter.panels.today import TodayPanel
from ui.counter.panels.waiting import WaitingPanel
from ui.counter.reads import Answer, ClientReads, CounterReads
from ui.counter.session import (
    ACTION_KEYS,
    RATING_KEYS,
    SHORTCUTS,
    Action,
    CounterSession,
    CounterState,
    CounterView,
    Customer,
    error_key,
    transfer_targets,
    transfers,
)
from ui.i18n import Translator, translator
from ui.widgets import (
    Banner,
    BigButton,
    LanguageToggle,
    counter_title,
    label,
    restyle,
)
from wire import EventKind

_D = TypeVar("_D", bound=QDialog)
log = logging.getLogger(__name__)
# The eight buttons, in function-key order: two rows of four.
BUTTONS = (
    Action.CALL_NEXT,
    Action.RECALL,
    Action.START,
    Action.FINISH,
    Action.NO_SHOW,
    Action.TRANSFER,
    Action.PAUSE,
    Action.CALL_NUMBER,
)
COMPACT_SETTING = "counter/compact"


def open_counter(
    client: BranchClient, counter: int, *, reads: CounterReads | None = None, **options: Any
) -> CounterWindow:
    """The caller app for one counter of a live client: its session over the client's model,
    reads through the client unless others are given; `options` go to the window."""
    session = CounterSession(client.model, counter)
    return CounterWindow(session, client, reads or ClientReads(client), **options)


class CounterWindow(QWidget):
    """One counter's caller app: sign-in, then the customer, the actions, the queue."""

    def __init__(
        self,
        session: CounterSession,
        client: BranchClient,
        reads: CounterReads,
        *,
        tr: Translator | None = None,
        staff_id: str = "",
        queue_limit: int = 5,
        refresh_ms: int = 300,
        refresh_every_s: float = 30.0,
        knowledge_retry_ms: int = 5000,
        offline_grace_ms: int = 1000,
        tick_ms: int = 1000,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("counterApp")
        # Where the teller's choice of the compact bar is remembered (None: not at all).
        self.settings = settings
        self.compact: CompactBar | None = None
        self.client = client  # the teller's actions go through it; its signals bring news
        self.counter = session.counter
        self.tr_ = tr or translator()
        self.reads = reads
        self.queue_limit = queue_limit
        self.session = session
        self.session.online = bool(client.online)
        self.busy: Action | None = None  # the action waiting for its answer
        self._signing_in = False
        self.transfer_dialog: TransferDialog | None = None
        self.pause_dialog: PauseDialog | None = None
        self.call_dialog: CallNumberDialog | None = None
        self._eform_for: int | None = None
        self._history_for: int | None = None
        self._want: set[str] = set()
        self._fetching: set[str] = set()
        self._offline_shown = False
        # The knowledge page of the customer (by ticket) last asked for; whether the tab
        # was switched to it for them (and goes back to the queue when they leave).
        self._knowledge_for: int | None = None
        self._knowledge_auto = False
        self._knowledge_retry = False
        self._page_asked = 0  # answers to an older page or search request are dropped
        self._kb_version: int | None = None  # the branch's knowledge base, as last read
        self._changes_staff: str | None = None  # the teller the notice is for
        self._checking_changes = False
        self._check_again = False  # news came while a check was on its way
        self.knowledge_checks = 0  # answers to "what changed" so far
        self._build(staff_id)

        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(refresh_ms)
        self._refresh.timeout.connect(self.refresh_now)
        self._slow = QTimer(self)
        self._slow.setInterval(int(refresh_every_s * 1000))
        self._slow.timeout.connect(lambda: self.refresh_soon("queue"))
        self._slow.start()
        self._grace = QTimer(self)
        self._grace.setSingleShot(True)
        self._grace.setInterval(offline_grace_ms)
        self._grace.timeout.connect(self._show_offline)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.message.hide)
        self._tick = QTimer(self)
        self._tick.setInterval(tick_ms)
        self._tick.timeout.connect(self.update_view)
        self._tick.start()
        # A new knowledge base comes as a `knowledge.applied` event; one missed while the
        # stream was down comes with its resume (or the snapshot after it), which asks
        # again too. So no polling: only a failed answer is asked again, once, shortly.
        self._knowledge_retry_timer = QTimer(self)
        self._knowledge_retry_timer.setSingleShot(True)
        self._knowledge_retry_timer.setInterval(knowledge_retry_ms)
        self._knowledge_retry_timer.timeout.connect(self.check_knowledge_changes)

        client.connectedChanged.connect(self.connection_changed)
        client.snapshotLoaded.connect(self._snapshot_loaded)
        client.eventReceived.connect(self._event)
        self.tr_.languageChanged.connect(lambda _: self.update_view())
        for action in BUTTONS:
            key = SHORTCUTS[action]
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda action=action: self._shortcut(action))
        if client.model.loaded:
            self._snapshot_loaded()
        self.connection_changed(bool(client.online))
        self.update_view()

    # ------------------------------------------------------------------ layout
    def _build(self, staff_id: str) -> None:
        t = self.tr_
        self.title = label("counterTitle", "title")
        self.title.setWordWrap(False)
        self.state = label("counterState")
        self.state.setWordWrap(False)
        self.staff = label("counterStaff")
        self.staff.setWordWrap(False)
        self.language = LanguageToggle(translator=t)
        self.compact_button = BigButton("counter.compact.enter", "secondary", translator=t)
        self.compact_button.setObjectName("enterCompact")
        self.compact_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.compact_button.clicked.connect(self.enter_compact)
        self.sign_out = BigButton("counter.action.sign_out", "secondary", translator=t)
        self.sign_out.setObjectName("action_sign_out")
        self.sign_out.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.sign_out.clicked.connect(lambda: self.press(Action.SIGN_OUT))
        bar = QHBoxLayout()
        bar.setSpacing(12)
        bar.addWidget(self.title)
        bar.addWidget(self.state)
        bar.addWidget(self.staff)
        bar.addStretch(1)
        bar.addWidget(self.language)
        bar.addWidget(self.compact_button)
        bar.addWidget(self.sign_out)

        self.offline = Banner("counter.offline", "warning", translator=t)
        self.offline.setObjectName("offlineBanner")
        self.offline.hide()
        self.message = Banner("counter.error.other", "error", translator=t)
        self.message.setObjectName("messageBanner")
        self.message.hide()

        self.sign_in = SignInPage(t, staff_id)
        self.sign_in.submit.clicked.connect(self.submit_sign_in)
        self.sign_in.pin.returnPressed.connect(self.submit_sign_in)

        self.paused = Banner("counter.paused", "warning", translator=t)
        self.paused.setObjectName("pausedBanner")
        self.customer = CustomerPanel(t)
        self.rating = label("ratingLine")
        self.buttons: dict[Action, ActionButton] = {}
        grid = QGridLayout()
        grid.setSpacing(10)
        for index, action in enumerate(BUTTONS):
            button = ActionButton(action, t)
            button.clicked.connect(lambda _=False, action=action: self.press(action))
            grid.addWidget(button, index // 4, index % 4)
            self.buttons[action] = button
        left = QVBoxLayout()
        left.setSpacing(10)
        left.addWidget(self.paused)
        left.addWidget(self.customer, 1)
        left.addWidget(self.rating)
        left.addLayout(grid)
        self.waiting = WaitingPanel(t)
        self.today = TodayPanel(t)
        self.queue_tab = QWidget()
        queue = QVBoxLayout(self.queue_tab)
        queue.setContentsMargins(0, 0, 0, 0)
        queue.setSpacing(10)
        queue.addWidget(self.waiting, 1)
        queue.addWidget(self.today)
        self.knowledge = KnowledgePanel(t, self._service_name)
        self.knowledge.searchRequested.connect(self.search_knowledge)
        self.knowledge.pageRequested.connect(self._knowledge_link)
        self.knowledge.backRequested.connect(self.knowledge_back)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("counterTabs")
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tabs.addTab(self.queue_tab, "")
        self.tabs.addTab(self.knowledge, "")
        self.tabs.tabBar().tabBarClicked.connect(self._tab_clicked)
        # Above the tabs, beside the customer: it never covers them or the call buttons.
        self.notice = KnowledgeNotice(t)
        self.notice.dismissed.connect(self._dismiss_changes)
        right = QVBoxLayout()
        right.setSpacing(10)
        right.addWidget(self.notice)
        right.addWidget(self.tabs, 1)
        t.languageChanged.connect(lambda _: self._name_tabs())
        self._name_tabs()
        self.main = QWidget()
        row = QHBoxLayout(self.main)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(12)
        row.addLayout(left, 5)
        row.addLayout(right, 2)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.sign_in)
        self.stack.addWidget(self.main)
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 12, 16, 12)
        column.setSpacing(10)
        column.addLayout(bar)
        column.addWidget(self.offline)
        column.addWidget(self.message)
        column.addWidget(self.stack, 1)

    # ------------------------------------------------------------------ render
    def update_view(self) -> None:
        """Show the session's view now (after any change, and once a second for the waits)."""
        t = self.tr_
        self.customer.timezone = str(self.client.model.branch.get("timezone") or "Asia/Shanghai")
        view = self.session.view()
        title = counter_title(t, self.counter, view.name)
        self.setWindowTitle(f"{t.tr('counter.app_title')} · {title}")
        self.title.setText(title)
        self.state.setText(t.tr(f"counter.state.{view.state.value}"))
        restyle(self.state, "state", view.state.value)
        self.staff.setVisible(view.signed_in)
        self.staff.setText(t.tr("counter.staff", staff=self.staff_name(view)))
        self.sign_out.setVisible(view.signed_in)
        self.sign_out.setEnabled(view.can(Action.SIGN_OUT))
        self.stack.setCurrentWidget(self.main if view.signed_in else self.sign_in)
        self._render_sign_in(view)
        if view.signed_in:
            self._render_main(view)
        self._follow_customer(view.customer)
        self._follow_teller(view.staff_id)
        if self.compact is not None and self.compact.isVisible():
            self.compact.show_view(view, self.staff_name(view))

    def staff_name(self, view: CounterView) -> str:
        """The teller's name where the counter record carries it, else their staff id."""
        name = self.session.counter_dict().get("staff_name")
        return str(name or view.staff_id or "")

    def _render_sign_in(self, view: CounterView) -> None:
        page = self.sign_in
        page.counter.setText(counter_title(self.tr_, self.counter, view.name))
        if not view.online:
            page.status.set_text("counter.sign_in.connecting")
        elif view.known:
            page.status.set_text("counter.sign_in.hint")
        else:
            page.status.set_text("counter.no_counter", counter=self.counter)
        page.hint.setVisible(view.online)
        page.status.setVisible(not view.online or not view.known)
        page.submit.setEnabled(not self._signing_in)

    def _render_main(self, view: CounterView) -> None:
        t = self.tr_
        paused = view.state is CounterState.PAUSED
        self.paused.setVisible(paused)
        if paused:
            key = view.pause_reason_key
            reason = t.tr(key) if key else view.pause_reason
            self.paused.set_message("counter.paused", reason=reason or "—")
        self.customer.show_customer(view.customer, view)
        for action, button in self.buttons.items():
            if action is Action.PAUSE:
                action = view.pause_action
                button.set_text(ACTION_KEYS[action])
            button.setEnabled(view.can(action))
        if view.rating is None:
            self.rating.hide()
        else:
            self.rating.show()
            if view.rating.rating is None:
                self.rating.setText(t.tr("counter.rating.waiting", number=view.rating.number))
            else:
                self.rating.setText(
                    t.tr(
                        "counter.rating.got",
                        number=view.rating.number,
                        rating=t.tr(RATING_KEYS.get(view.rating.rating, "rating.average")),
                    )
                )
        self.waiting.show_view(view, self._service_name)
        self.today.show_today(view.today)

    def _service_name(self, code: str) -> str:
        return self.tr_.pick(self.client.model.services.get(code, {}).get("names", {})) or code

    # ------------------------------------------------------- e-form and history
    def _follow_customer(self, customer: Customer | None) -> None:
        tid = customer.ticket_id if customer is not None else None
        if tid != self._eform_for:
            self._eform_for = tid
            self.customer.clear_eform()
            if customer is not None and customer.has_eform:
                self.customer.eform_loading()
                self.reads.eform(customer.ticket_id, self._answer_for(self._eform, customer))
        self._follow_knowledge(customer)
        if tid != self._history_for:
            self._history_for = tid
            self.customer.show_history([])
            if customer is not None and customer.transferred:
                self.reads.history(customer.ticket_id, self._answer_for(self._history, customer))

    @staticmethod
    def _answer_for(
        handler: Callable[[int, Any, ApiError | None], None], customer: Customer
    ) -> Answer:
        tid = customer.ticket_id
        return lambda data, error: handler(tid, data, error)

    def _eform(self, tid: int, data: Any, error: ApiError | None) -> None:
        if tid != self._eform_for:
            return  # that customer has gone: never show their form to the next one
        if error is None and isinstance(data, dict):
            self.customer.show_eform(data.get("fields") or {})
        elif error is not None and error.offline:
            self._eform_for = None  # try again after the reconnect
            self.customer.clear_eform()
        else:
            self.customer.eform_gone()

    def _history(self, tid: int, data: Any, error: ApiError | None) -> None:
        if tid != self._history_for:
            return
        if error is not None or not isinstance(data, dict):
            self._history_for = None if error is not None and error.offline else tid
            return
        t = self.tr_
        lines = []
        for step in transfers(data.get("legs", []), tid):
            counter = step["from_counter"]
            target = (
                t.tr("common.counter", counter=step["to_counter"])
                if step["to_counter"]
                else self._service_name(step["to_service"])
            )
            lines.append(
                t.tr(
                    "counter.history.transfer",
                    number=step["number"],
                    service=self._service_name(step["from_service"]),
                    counter=t.tr("common.counter", counter=counter) if counter else "—",
                    target=target,
                )
            )
            if step["note"]:
                lines.append("    " + t.tr("counter.history.note", note=step["note"]))
        self.customer.show_history(lines)

    # ------------------------------------------------------------ knowledge
    def _name_tabs(self) -> None:
        self.tabs.setTabText(0, self.tr_.tr("counter.tab.queue"))
        self.tabs.setTabText(1, self.tr_.tr("counter.tab.knowledge"))

    def _tab_clicked(self, index: int) -> None:
        # The teller chose a tab: leave it where they put it when the customer goes.
        self._knowledge_auto = False
        panel = self.knowledge
        nothing_shown = panel.page is None and panel.results is None
        if self.tabs.widget(index) is panel and nothing_shown and panel.customer_service is None:
            self.search_knowledge("")  # nothing shown yet: every page, to pick from

    def _follow_knowledge(self, customer: Customer | None) -> None:
        tid = customer.ticket_id if customer is not None else None
        if tid == self._knowledge_for:
            return
        self._knowledge_for = tid
        self.knowledge.set_customer_service(customer.service if customer else None)
        if customer is None:
            if self._knowledge_auto:
                self.tabs.setCurrentWidget(self.queue_tab)
            self._knowledge_auto = False
            return
        # A call opens the business's page, whatever the teller was reading.
        self.open_knowledge(customer.service)
        if self.tabs.currentWidget() is not self.knowledge:
            self.tabs.setCurrentWidget(self.knowledge)
            self._knowledge_auto = True

    def open_knowledge(self, service: str) -> None:
        """Show one business's page (fetched from the branch server)."""
        self._page_asked += 1
        asked = self._page_asked
        self.knowledge.show_status("counter.knowledge.loading")
        self.reads.knowledge_page(
            service, lambda data, error: self._knowledge_page(asked, service, data, error)
        )

    def _knowledge_page(self, asked: int, service: str, data: Any, error: ApiError | None) -> None:
        if asked != self._page_asked:
            return  # the teller (or a call) has asked for something else since
        if error is None and isinstance(data, dict):
            self.knowledge.show_page(data)
        elif error is not None and error.code == "unknown_page":
            self.knowledge.show_status(
                "counter.knowledge.no_page", service=self._service_name(service)
            )
        else:
            if service == self.knowledge.customer_service:
                self._knowledge_retry = True  # asked again once the link is back
            self._knowledge_error(error)

    def _knowledge_error(self, error: ApiError | None) -> None:
        if error is not None and error.offline:
            self.knowledge.show_status("counter.knowledge.offline")
        else:
            code = error.code if error is not None else "bad_answer"
            self.knowledge.show_status("counter.error.other", code=code)

    def _knowledge_link(self, service: str) -> None:
        self._knowledge_auto = False
        self.open_knowledge(service)

    def knowledge_back(self) -> None:
        """Back to the called customer's business."""
        if self.knowledge.customer_service is not None:
            self.open_knowledge(self.knowledge.customer_service)

    def search_knowledge(self, text: str) -> None:
        """Pages holding every word of `text` (Chinese or English); all of them for none."""
        self._knowledge_auto = False
        self._page_asked += 1
        asked = self._page_asked
        self.reads.knowledge_search(text, lambda data, error: self._found(asked, data, error))

    def _found(self, asked: int, data: Any, error: ApiError | None) -> None:
        if asked != self._page_asked:
            return
        if error is None and isinstance(data, dict):
            self.knowledge.show_results(data.get("pages") or [])
        else:
            self._knowledge_error(error)

    def _follow_teller(self, staff_id: str | None) -> None:
        if staff_id == self._changes_staff:
            return
        # Another teller (or none): the last one's unread changes are not theirs.
        self._changes_staff = staff_id
        self.notice.show_changes([])
        if staff_id is not None:
            self.check_knowledge_changes()

    def check_knowledge_changes(self) -> None:
        """Ask what changed that the teller signed in here has not read (the notice)."""
        if self._changes_staff is None or not self.session.online:
            return
        if self._checking_changes:
            # Its answer may have been read before the news: ask once more after it.
            self._check_again = True
            return
        self._checking_changes = True
        self._check_again = False
        staff = self._changes_staff
        self.reads.knowledge_changes(
            self.counter, lambda data, error: self._changes(staff, data, error)
        )

    def _changes(self, staff: str, data: Any, error: ApiError | None) -> None:
        self._checking_changes = False
        if error is not None or not isinstance(data, dict):
            self._knowledge_retry_timer.start()  # the notice stays as it was meanwhile
            return
        self.knowledge_checks += 1
        if staff == self._changes_staff and data.get("staff_id") == staff:
            self._show_changes(data)  # else the teller changed while this was on its way
        if self._check_again:
            self.check_knowledge_changes()

    def _show_changes(self, data: dict[str, Any]) -> None:
        version = int(data.get("kb_version") or 0)
        if self._kb_version is not None and version != self._kb_version:
            # A new knowledge base: the page on screen may have changed with it.
            shown = self.knowledge.shown_service
            if shown is not None:
                self.open_knowledge(shown)
        self._kb_version = version
        self.notice.show_changes(data.get("unseen") or [])

    def _dismiss_changes(self, version: int) -> None:
        staff = self._changes_staff

        def answered(data: Any, error: ApiError | None) -> None:
            if error is not None:
                self.notice.dismiss.setEnabled(True)
                self.show_message(error_key(error.code), "error", code=error.code)
            elif staff == self._changes_staff and isinstance(data, dict):
                self._show_changes(data)

        self.reads.knowledge_seen(self.counter, version, answered)

    # ------------------------------------------------------ the server's news
    def connection_changed(self, online: bool) -> None:
        self.session.online = online
        if online:
            self._grace.stop()
            if self._offline_shown:
                self._offline_shown = False
                self.offline.hide()
                self.show_message("counter.reconnected", "info")
        elif not self._offline_shown and not self._grace.isActive():
            self._grace.start()
        self.update_view()
        if online:
            self.check_knowledge_changes()  # the teller may have been found while offline

    def _show_offline(self) -> None:
        if not self.session.online:
            self._offline_shown = True
            self.offline.show()

    def _snapshot_loaded(self) -> None:
        self.session.snapshot_loaded()
        # Anything fetched before may be out of date: a reconnect shows the true state.
        self._eform_for = self._history_for = None
        if self._knowledge_retry:
            self._knowledge_retry = False
            self._knowledge_for = None
        self.refresh_soon("queue", "today")
        self.update_view()
        self.check_knowledge_changes()  # an update may have come while the link was down

    def _event(self, event: dict[str, Any]) -> None:
        if event.get("kind") == EventKind.KNOWLEDGE_APPLIED:
            self.check_knowledge_changes()  # its answer reloads the page shown, if it changed
        self.session.model_changed()
        self.session.event(event)
        want = []
        if self.session.affects_queue(event):
            want.append("queue")
        if self.session.affects_today(event):
            want.append("today")
        if want:
            self.refresh_soon(*want)
        self.update_view()

    def refresh_soon(self, *what: str) -> None:
        """Refetch the preview and/or today's figures once, shortly, however often asked."""
        self._want.update(what)
        if not self._refresh.isActive():
            self._refresh.start()

    def refresh_now(self) -> None:
        if not self.session.online:
            return  # the snapshot after reconnecting asks again
        for what in sorted(self._want - self._fetching):
            self._want.discard(what)
            self._fetching.add(what)
            done = lambda data, error, what=what: self._refreshed(what, data, error)  # noqa: E731
            if what == "queue":
                self.reads.queue(self.counter, self.queue_limit, done)
            else:
                self.reads.today(self.counter, done)

    def _refreshed(self, what: str, data: Any, error: ApiError | None) -> None:
        self._fetching.discard(what)
        if error is None and isinstance(data, dict):
            if what == "queue":
                self.session.queue = data
            else:
                self.session.today = data
            self.update_view()
        if what in self._want:
            self.refresh_soon()  # asked again while this one was on its way

    # ----------------------------------------------------------------- actions
    def _shortcut(self, action: Action) -> None:
        if self.stack.currentWidget() is self.main:
            self.press(action)

    def press(self, action: Action) -> None:
        """A button or its function key: check, then send at once or open its dialog."""
        view = self.session.view()
        if action in (Action.PAUSE, Action.RESUME):
            action = view.pause_action
        refusal = self.session.refusal(action, view)
        if refusal is not None:
            self.show_message(refusal, "error")
            return
        if self.busy is not None:
            return  # one action at a time; a double press must not act twice
        if action is Action.TRANSFER:
            self.open_transfer(view)
        elif action is Action.PAUSE:
            self.open_pause()
        elif action is Action.CALL_NUMBER:
            self.open_call_number()
        else:
            self._send(action, view)

    def _send(self, action: Action, view: CounterView, **options: Any) -> None:
        c, n = self.client, self.counter
        # Naming the ticket on screen keeps a stale screen from acting on another customer.
        tid = view.customer.ticket_id if view.customer is not None else None
        requests: dict[Action, Callable[[], Reply]] = {
            Action.CALL_NEXT: lambda: c.call_next(n),
            Action.RECALL: lambda: c.recall(n, tid),
            Action.START: lambda: c.start_serving(n, tid),
            Action.FINISH: lambda: c.finish(n, tid),
            Action.NO_SHOW: lambda: c.no_show(n, tid),
            Action.TRANSFER: lambda: c.transfer(n, ticket_id=tid, **options),
            Action.PAUSE: lambda: c.pause_counter(n, str(options.get("reason", ""))),
            Action.RESUME: lambda: c.open_counter(n),
            Action.CALL_NUMBER: lambda: c.call_ticket(n, number=str(options["number"])),
            Action.SIGN_OUT: lambda: c.sign_out(n),
        }
        sent_online = self.session.online
        self.busy = action
        requests[action]().then(
            lambda data, error: self._answered(action, data, error, sent_online)
        )

    def _answered(self, action: Action, data: Any, error: ApiError | None, sent: bool) -> None:
        self.busy = None
        if error is not None:
            log.info("counter %s: %s refused: %s", self.counter, action.value, error.code)
            self.show_message(error_key(error.code, sent_online=sent), "error", code=error.code)
            self.update_view()
            return
        ticket = None
        if action is Action.CALL_NEXT:
            ticket = data.get("ticket") if isinstance(data, dict) else None
            if ticket is None:
                self.show_message("counter.none_waiting", "info")
        elif action not in (Action.PAUSE, Action.RESUME, Action.SIGN_OUT):
            ticket = data if isinstance(data, dict) else None
        if action is Action.TRANSFER:
            ticket = None  # the answer is the new leg, queued elsewhere: nobody is here now
            self.session.echo = None
        if self.message.kind == "error":
            self.message.hide()  # done now: an earlier refusal no longer applies
        self.session.action_answered(ticket)
        self.refresh_soon("queue", "today")
        self.update_view()

    def open_transfer(self, view: CounterView | None = None) -> TransferDialog:
        view = view or self.session.view()
        current = view.customer.service if view.customer is not None else None
        codes, counters = transfer_targets(self.client.model, self.counter, current)
        model = self.client.model
        services = [(code, model.services[code].get("names", {})) for code in codes]
        states = [(n, name, model.counters[n].get("state", "closed")) for n, name in counters]
        dialog = TransferDialog(self.tr_, services, states, self)
        ticket = view.customer.ticket_id if view.customer is not None else None

        def still_here(now: CounterView) -> bool:
            # The dialog stayed open while the customer changed (a keypad, another app).
            return now.customer is not None and now.customer.ticket_id == ticket

        self.transfer_dialog = dialog
        return self._open_dialog(
            dialog, "transfer_dialog", Action.TRANSFER, dialog.target, still_here
        )

    def open_pause(self) -> PauseDialog:
        dialog = PauseDialog(self.tr_, self)
        self.pause_dialog = dialog
        return self._open_dialog(
            dialog, "pause_dialog", Action.PAUSE, lambda: {"reason": dialog.reason()}
        )

    def open_call_number(self) -> CallNumberDialog:
        dialog = CallNumberDialog(self.tr_, self)
        self.call_dialog = dialog
        return self._open_dialog(
            dialog, "call_dialog", Action.CALL_NUMBER, lambda: {"number": dialog.number()}
        )

    def _open_dialog(
        self,
        dialog: _D,
        name: str,
        action: Action,
        arguments: Callable[[], dict[str, Any]],
        still_valid: Callable[[CounterView], bool] | None = None,
    ) -> _D:
        """Open `dialog` without blocking; on OK, check the action is still allowed now
        (the state may have moved while it was open) and send it."""

        def accepted() -> None:
            now = self.session.view()
            if still_valid is not None and not still_valid(now):
                self.show_message("counter.error.stale", "error")
                return
            refusal = self.session.refusal(action, now)
            if refusal is not None:
                self.show_message(refusal, "error")
                return
            self._send(action, now, **arguments())

        dialog.accepted.connect(accepted)
        dialog.finished.connect(lambda _: self._dialog_closed(name))
        dialog.open()
        return dialog

    def _dialog_closed(self, name: str) -> None:
        dialog = getattr(self, name)
        setattr(self, name, None)
        if dialog is not None:
            dialog.deleteLater()
        # The function keys belong to this window: take the focus back at once.
        self.activateWindow()

    # ------------------------------------------------------------------ sign-in
    def submit_sign_in(self) -> None:
        page = self.sign_in
        staff, pin = page.staff.text().strip(), page.pin.text().strip()
        if not staff or not pin:
            page.show_error("counter.sign_in.missing")
            return
        if not self.session.online:
            page.show_error("counter.error.offline")
            return
        if self._signing_in:
            return
        self._signing_in = True
        page.error.hide()
        page.status.set_text("counter.sign_in.working")
        page.status.show()
        sent = self.session.online
        self.client.sign_in(self.counter, staff, pin).then(
            lambda data, error: self._signed_in(error, sent)
        )

    def _signed_in(self, error: ApiError | None, sent: bool) -> None:
        self._signing_in = False
        page = self.sign_in
        page.pin.clear()
        if error is not None:
            page.show_error(error_key(error.code, sent_online=sent), code=error.code)
            page.pin.setFocus()
        self.update_view()

    # ----------------------------------------------------------------- messages
    def show_message(self, key: str, kind: str = "info", **values: object) -> None:
        """One line under the bar: why an action was refused, or what just happened."""
        self.message.set_message(key, kind, **values)
        self.message.show()
        if self.compact is not None and self.compact.isVisible():
            self.compact.show_note(self.tr_.tr(key, **values))
        self._message_timer.start(10_000 if kind == "error" else 4_000)

    # ---------------------------------------------------------- compact bar
    def enter_compact(self) -> CompactBar:
        """Swap this window for the small always-on-top bar (remembered for next time)."""
        if self.compact is None:
            bar = CompactBar(self)
            # The bar is a top-level window of its own (a parent would make it a transient
            # of this hidden window, which window managers may hide with it), so the two
            # lifetimes are tied by hand: the bar goes with this window, and this window
            # forgets the bar whenever it goes, however it was deleted.
            self.destroyed.connect(bar.deleteLater)
            bar.destroyed.connect(self._compact_gone)
            self._message_timer.timeout.connect(bar.note.hide)
            self.compact = bar
        self.compact.note.hide()
        self.compact.show()
        self.update_view()
        self.hide()
        self._remember(compact=True)
        return self.compact

    def _compact_gone(self) -> None:
        self.compact = None

    def leave_compact(self) -> None:
        """Back to the full window."""
        self.show()
        if self.compact is not None:
            self.compact.hide()
        self.activateWindow()
        self._remember(compact=False)

    def _remember(self, *, compact: bool) -> None:
        if self.settings is not None:
            self.settings.setValue(COMPACT_SETTING, compact)
            self.settings.sync()

    def restore_mode(self) -> None:
        """Open as the teller left it: as the compact bar if that was their choice."""
        if self.settings is not None and _truthy(self.settings.value(COMPACT_SETTING, False)):
            self.enter_compact()

    def setVisible(self, visible: bool) -> None:
        if visible and not self.isVisible():
            # Parts hidden before the window was ever shown leave their layouts' cached
            # sizes stale (Qt is not told of them); the window would take its minimum from
            # those, and open taller than a 1366×768 screen.
            for layout in self.findChildren(QLayout):
                layout.invalidate()
        super().setVisible(visible)

    def closeEvent(self, event: QCloseEvent) -> None:
        for timer in (self._tick, self._slow, self._refresh, self._grace,
                      self._knowledge_retry_timer):  # fmt: skip
            timer.stop()
        if self.compact is not None:
            self.compact.close()
            self.compact.deleteLater()
            self.compact = None
        super().closeEvent(event)


def _truthy(value: object) -> bool:
    # QSettings gives back "true"/"false" strings from an INI file, a bool from the registry.
    return value is True or str(value).lower() == "true"
