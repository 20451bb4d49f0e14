"""The head office's configuration in force, a page of the Settings tab: its version, where
it came from and when, and for each business and setting who set the value in force — the
network template, an override the centre set for this region or this branch, or the manager
here where the centre allows it — and which businesses are draining.

Read when the page opens and again after a `config.applied`, a retired business or one of
the manager's own edits of what the centre lets the branch edit; between reads the rows
follow the live model's businesses (names, targets, who waits).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from ui.client import ApiError
from ui.i18n import Translator
from ui.manager.actions import ConsoleActions
from ui.manager.office_config import (
    BusinessLine,
    ConfigView,
    Link,
    Origin,
    SettingLine,
    config_view,
)
from ui.manager.widgets import Table, short_time
from ui.widgets import TextLabel, label
from wire import EventKind

# Events after which what the page shows may have changed at the server.
RELOAD_EVENTS = (
    EventKind.CONFIG_APPLIED,
    EventKind.CONFIG_BUSINESS_RETIRED,
    EventKind.BRANCH_NOTICE,  # the notice edited here, or not any more
    EventKind.COUNTER_SKILLS,
)
OVERRIDE_STATE = "near"  # amber: a value that is not the network template's
CHANGED = (Origin.REGION, Origin.BRANCH, Origin.EDITED_HERE)
NO_LINK_TEXTS = {
    Link.UNKNOWN: "manager.office.loading",
    Link.NONE: "manager.office.none",
    Link.NO_KEY: "manager.office.no_key",
    Link.WAITING: "manager.office.waiting",
}


def _wrapping_table(tr: Translator, columns: tuple[str, ...], name: str, stretch: int) -> Table:
    """Which values an override set is the point of the page: wrapped, never cut with "…",
    rows as tall as their text at the width the columns end up with."""
    table = Table(tr, [f"manager.office.col_{c}" for c in columns], name, stretch=stretch)
    table.setWordWrap(True)
    table.setTextElideMode(Qt.TextElideMode.ElideNone)
    table.horizontalHeader().sectionResized.connect(lambda *_: table.resizeRowsToContents())
    return table


class HeadOfficePanel(QWidget):
    """Which head-office configuration is in force, and who set each value."""

    def __init__(self, tr: Translator, actions: ConsoleActions) -> None:
        super().__init__()
        self.tr_ = tr
        self.console_actions = actions
        self.version: dict[str, Any] | None = None  # GET /config/version as last read
        self.link: dict[str, Any] | None = None  # GET /head-office as last read
        self.error: str | None = None
        self.asked = False  # read at least once: events make it read again
        self.view: ConfigView = config_view(None, None, {}, ())
        self.heading = label("officeVersion", "heading")
        self.provenance = label("officeProvenance")
        self.poll = label("officePoll", "hint")
        columns = ("business", "target", "origin", "state")
        self.businesses = _wrapping_table(tr, columns, "officeBusinesses", stretch=2)
        self.settings = _wrapping_table(
            tr, ("setting", "origin", "editable"), "officeSettings", stretch=0
        )
        self.legend = TextLabel("manager.office.legend", "hint", translator=tr)
        self.business_title = TextLabel("manager.office.businesses", "heading", translator=tr)
        self.settings_title = TextLabel("manager.office.settings", "heading", translator=tr)

        left = QVBoxLayout()
        left.addWidget(self.business_title)
        left.addWidget(self.businesses, 1)
        right = QVBoxLayout()
        right.addWidget(self.settings_title)
        right.addWidget(self.settings, 1)
        self.tables = QWidget()
        row = QHBoxLayout(self.tables)
        row.setContentsMargins(0, 0, 0, 0)
        row.addLayout(left, 3)
        row.addLayout(right, 2)
        column = QVBoxLayout(self)
        column.addWidget(self.heading)
        column.addWidget(self.provenance)
        column.addWidget(self.poll)
        column.addWidget(self.tables, 1)
        column.addWidget(self.legend)
        column.addStretch(0)
        tr.languageChanged.connect(lambda _: self.redraw())
        self.redraw()

    # ------------------------------------------------------------------ render
    def show_config(self, version: dict[str, Any] | None, link: dict[str, Any] | None) -> None:
        """Show the two reads (tests, screenshots, and `load`)."""
        self.version, self.link = version, link
        self.error = None
        self.redraw()

    def redraw(self) -> None:
        t = self.tr_
        model = self.console_actions.client.model
        v = self.view = config_view(self.version, self.link, model.services, model.tickets.values())
        tz = self.console_actions.branch_timezone()
        in_force = v.link is Link.IN_FORCE
        for widget in (self.provenance, self.tables, self.legend):
            widget.setVisible(in_force)
        if not in_force:
            self.heading.setText(self.error or t.tr(NO_LINK_TEXTS[v.link]))
        else:
            self.heading.setText(t.tr("manager.office.version", version=v.version))
            times = {"issued": short_time(v.issued_at, tz), "applied": short_time(v.applied_at, tz)}
            if v.template:
                self.provenance.setText(
                    t.tr(
                        "manager.office.provenance",
                        template=v.template,
                        template_version=v.template_version or "—",
                        **times,
                    )
                )
            else:
                self.provenance.setText(t.tr("manager.office.provenance_no_template", **times))
            self._fill_businesses(v.businesses)
            self._fill_settings(v.settings)
        self.poll.setVisible(v.link in (Link.IN_FORCE, Link.WAITING) and self.error is None)
        if v.downlink_error:
            self.poll.setText(t.tr("manager.office.poll_failed", error=v.downlink_error))
        else:
            self.poll.setText(t.tr("manager.office.poll_ok", time=short_time(v.last_poll_at, tz)))

    def _origin_text(self, origin: Origin, fields: list[str] | None = None) -> str:
        t = self.tr_
        text = t.tr(f"manager.office.origin.{origin.value}")
        if not fields:
            return text
        names = [self._field_name(f) for f in fields]
        joined = t.tr("manager.office.field_sep").join(names)
        return t.tr("manager.office.origin_fields", origin=text, fields=joined)

    def _field_name(self, field: str) -> str:
        key = f"manager.office.field.{field or 'all'}"
        return self.tr_.tr(key) if self.tr_.has(key) else field

    def _fill_businesses(self, lines: tuple[BusinessLine, ...]) -> None:
        t = self.tr_
        table = self.businesses
        table.setRowCount(len(lines))
        for r, b in enumerate(lines):
            table.set_cell(r, 0, f"{b.code}  {t.pick(b.names)}")
            target_origin = b.origin_of("target_wait_min")
            table.set_cell(
                r,
                1,
                t.tr("common.minutes", minutes=b.target_wait_s // 60),
                OVERRIDE_STATE if target_origin is not Origin.NETWORK else "",
            )
            by_origin: dict[Origin, list[str]] = {}
            for field, origin in b.overridden:
                by_origin.setdefault(origin, []).append(field)
            if by_origin:
                parts = [self._origin_text(o, f) for o, f in by_origin.items()]
                text = t.tr("manager.office.origin_sep").join(parts)
                table.set_cell(r, 2, text, OVERRIDE_STATE)
            else:
                table.set_cell(r, 2, self._origin_text(Origin.NETWORK), "")
            if b.draining:
                state = t.tr("manager.office.state.draining", waiting=b.waiting)
                table.set_cell(r, 3, state, "closed")
            elif not b.enabled:
                table.set_cell(r, 3, t.tr("manager.office.state.disabled"), "closed")
            else:
                table.set_cell(r, 3, t.tr("manager.office.state.open"), "")
            target = table.item(r, 1)
            if target is not None:
                target.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        table.resizeRowsToContents()

    def _fill_settings(self, lines: tuple[SettingLine, ...]) -> None:
        t = self.tr_
        table = self.settings
        table.setRowCount(len(lines))
        for r, s in enumerate(lines):
            table.set_cell(r, 0, self._setting_name(s.path))
            state = OVERRIDE_STATE if s.origin in CHANGED else ""
            table.set_cell(r, 1, self._origin_text(s.origin), state)
            table.set_cell(
                r,
                2,
                t.tr("manager.office.editable.yes" if s.editable else "manager.office.editable.no"),
                "ok" if s.editable else "",
            )
        table.resizeRowsToContents()

    def _setting_name(self, path: str) -> str:
        key = f"manager.office.setting.{path}"
        return self.tr_.tr(key) if self.tr_.has(key) else path

    # ---------------------------------------------------------------- requests
    def refresh(self) -> None:
        """Read again what was read before (and is stale now); nothing if never opened."""
        if self.asked:
            self.load()

    def load(self) -> None:
        """Read the version in force and the head-office link (both, then one redraw)."""
        a = self.console_actions
        if not a.fetch:
            return
        self.asked = True
        answers: dict[str, Any] = {}

        def both(name: str) -> Any:
            def done(data: Any) -> None:
                answers[name] = data if isinstance(data, dict) else {}
                if len(answers) == 2:
                    self.show_config(answers["version"], answers["link"])

            return done

        def failed(error: ApiError) -> None:
            self.error = a.error_text(error)
            self.redraw()

        a.send(a.client.config_version, both("version"), failed=failed)
        a.send(a.client.head_office, both("link"), failed=failed)
