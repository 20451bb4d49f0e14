"""The Reports tab: a range of business days as charts and tables, and export to CSV / XLSX.

The report is GET /api/v1/reports (`queue_server/api/report_schemas.py` documents it); the
figures are drawn with QtCharts (PySide6-Addons, imported here only, so a console without it
still starts and says what is missing). Export runs `ui.manager.export` on a worker thread
with a progress dialog whose Cancel stops it (the exporter leaves no partial file).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QMargins, Qt, QThread, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QResizeEvent
from PySide6.QtWidgets import (
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QProgressDialog,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.client import ApiError
from ui.i18n import Translator
from ui.manager.actions import ConsoleActions
from ui.manager.widgets import Table
from ui.widgets import BigButton, TextLabel, card, label

# One colour per business, in the report's order (the staff palette first).
# The smallest a chart is drawn: its title, legend and axis labels whole at the staff font.
CHART_MIN_W, CHART_MIN_H = 520, 230
SERIES_COLOURS = ("#0B4F8A", "#B86E00", "#2E7D32", "#8E24AA", "#00838F", "#C62828", "#5D4037")
RATING_COLOURS = {"4": "#2E7D32", "3": "#7CB342", "2": "#F2A900", "1": "#B3261E"}
RATING_KEYS = {
    "4": "rating.very_satisfied",
    "3": "rating.satisfied",
    "2": "rating.average",
    "1": "rating.dissatisfied",
}


def percent(share: Any) -> str:
    return "—" if share is None else f"{round(float(share) * 100)}%"


def mins(seconds: Any) -> str:
    return "—" if seconds is None else f"{float(seconds) / 60:.1f}"


class ExportWorker(QThread):
    """Runs one export off the GUI thread; `cancel` stops it between rows."""

    progressed = Signal(int, int)
    finished_export = Signal(object, str)  # True done, False cancelled, None failed; message

    def __init__(self, report: Mapping[str, Any], path: Path, kind: str) -> None:
        super().__init__()
        self.report, self.path, self.kind = report, path, kind
        self.cancel = threading.Event()

    def run(self) -> None:
        from ui.manager import export

        write = export.export_xlsx if self.kind == "xlsx" else export.export_csv
        try:
            done = write(
                self.report,
                self.path,
                progress=lambda n, total: self.progressed.emit(n, total),
                cancelled=self.cancel.is_set,
            )
        except export.ExportError as error:
            self.finished_export.emit(None, str(error))
            return
        except Exception as error:  # a bug must reach the manager as words, not a dead thread
            self.finished_export.emit(None, f"{type(error).__name__}: {error}")
            return
        self.finished_export.emit(bool(done), "")


class ReportsTab(QWidget):
    """Date range, the branch's figures as charts and tables, and Export."""

    def __init__(self, tr: Translator, actions: ConsoleActions) -> None:
        super().__init__()
        self.tr_ = tr
        self.console_actions = actions
        self.report: dict[str, Any] | None = None
        self.worker: ExportWorker | None = None
        self.progress: QProgressDialog | None = None
        self.on_exported: Callable[[bool | None, str], None] = lambda done, message: None
        self.start = QDateEdit(QDate.currentDate().addDays(-6))
        self.end = QDateEdit(QDate.currentDate())
        for edit in (self.start, self.end):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.load_button = BigButton("manager.reports.load", "secondary", translator=tr)
        self.export_csv = BigButton("manager.reports.export_csv", "primary", translator=tr)
        self.export_xlsx = BigButton("manager.reports.export_xlsx", "secondary", translator=tr)
        for button in (self.export_csv, self.export_xlsx):
            button.setEnabled(False)
        self.load_button.clicked.connect(self.load)
        self.export_csv.clicked.connect(lambda: self.ask_export("csv"))
        self.export_xlsx.clicked.connect(lambda: self.ask_export("xlsx"))
        self.status = TextLabel("manager.reports.pick", "hint", translator=tr)
        self.status.setObjectName("reportsStatus")
        self.totals = label("reportTotals")

        bar = QHBoxLayout()
        bar.addWidget(TextLabel("manager.reports.from", "hint", translator=tr))
        bar.addWidget(self.start)
        bar.addWidget(TextLabel("manager.reports.to", "hint", translator=tr))
        bar.addWidget(self.end)
        bar.addWidget(self.load_button)
        bar.addStretch(1)
        bar.addWidget(self.export_csv)
        bar.addWidget(self.export_xlsx)

        self.inner = QTabWidget()
        self.inner.setObjectName("settingsTabs")
        # The charts scroll: two side by side when there is room, one under another on a
        # narrow screen, never squeezed below a size their titles and legends read at.
        self.charts_page = QWidget()
        self.charts_page.setObjectName("chartsPage")
        self.chart_grid = QGridLayout(self.charts_page)
        self.chart_grid.setSpacing(8)
        self.charts_scroll = QScrollArea()
        self.charts_scroll.setObjectName("chartsScroll")
        self.charts_scroll.setWidgetResizable(True)
        self.charts_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.charts_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.charts_scroll.setWidget(self.charts_page)
        self.chart_columns = 2
        self.business_table = Table(
            tr,
            (
                "manager.reports.business",
                "manager.reports.issued",
                "manager.reports.served",
                "manager.reports.mean_wait",
                "manager.reports.p90_wait",
                "manager.reports.within",
                "manager.reports.no_show",
                "manager.reports.satisfaction",
            ),
            "reportBusinessTable",
            stretch=0,
        )
        self.desk_table = Table(
            tr,
            (
                "manager.reports.desk",
                "manager.reports.called",
                "manager.reports.served",
                "manager.reports.mean_service",
                "manager.reports.mean_wait",
                "manager.reports.no_show",
                "manager.reports.satisfaction",
            ),
            "reportDeskTable",
            stretch=0,
        )
        self.day_table = Table(
            tr,
            (
                "manager.reports.day",
                "manager.reports.issued",
                "manager.reports.served",
                "manager.reports.mean_wait",
                "manager.reports.within",
            ),
            "reportDayTable",
            stretch=0,
        )
        # What the lobby did (issue 21): diversions to self-service, the counter time they
        # saved, and the counter time of pre-reviewed customers beside the others'.
        self.lobby_report: dict[str, Any] | None = None
        self.lobby_table = Table(
            tr,
            (
                "manager.reports.business",
                "manager.reports.diverted",
                "manager.reports.diverted_channels",
                "manager.reports.time_saved",
                "manager.reports.prereviewed_time",
                "manager.reports.not_prereviewed_time",
            ),
            "reportLobbyTable",
            stretch=0,
        )
        self.pages = [
            (self.charts_scroll, "manager.reports.charts"),
            (self.business_table, "manager.reports.by_business"),
            (self.desk_table, "manager.reports.by_desk"),
            (self.day_table, "manager.reports.by_day"),
            (self.lobby_table, "manager.reports.by_lobby"),
        ]
        for page, key in self.pages:
            self.inner.addTab(page, tr.tr(key))
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 8, 0, 0)
        outer.addLayout(bar)
        outer.addWidget(self.status)
        outer.addWidget(self.totals)
        outer.addWidget(self.inner, 1)
        self.charts: list[QWidget] = []
        tr.languageChanged.connect(lambda _: self.retranslate())

    def retranslate(self) -> None:
        for page, key in self.pages:
            self.inner.setTabText(self.inner.indexOf(page), self.tr_.tr(key))
        if self.report is not None:
            self.show_report(self.report)
        if self.lobby_report is not None:
            self.show_lobby(self.lobby_report)

    def set_day(self, day: QDate) -> None:
        """The range ends on the branch's business day (the last seven days by default)."""
        self.start.setDate(day.addDays(-6))
        self.end.setDate(day)

    # ---- loading
    def load(self) -> None:
        w = self.console_actions
        if not w.fetch:
            return
        first = self.start.date().toString("yyyy-MM-dd")
        last = self.end.date().toString("yyyy-MM-dd")
        self.status.set_text("manager.reports.loading")

        def failed(error: ApiError) -> None:
            self.status.setText(w.error_text(error))

        w.send(lambda: w.client.reports(first, last), self.show_report, failed=failed)
        w.send(lambda: w.client.lobby_report(first, last), self.show_lobby, failed=failed)

    def show_lobby(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        self.lobby_report = data
        t = self.tr_
        channels = ("atm", "app", "self_service")

        def counter_time(figures: Mapping[str, Any]) -> str:
            return t.tr(
                "manager.reports.counter_time",
                minutes=mins(figures.get("mean_counter_s")),
                served=figures.get("served", 0),
            )

        self.lobby_table.retranslate()
        self.lobby_table.set_rows(
            [
                [
                    str(row.get("service")),
                    str(row.get("diverted", 0)),
                    " / ".join(
                        f"{t.tr(f'manager.reports.channel.{c}')} {row['by_channel'].get(c, 0)}"
                        for c in channels
                    ),
                    mins(row.get("counter_time_saved_s")),
                    counter_time(row.get("prereviewed") or {}),
                    counter_time(row.get("not_prereviewed") or {}),
                ]
                for row in data.get("by_business") or []
            ]
        )

    def show_report(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        self.report = data
        t = self.tr_
        self.status.set_text(
            "manager.reports.range", first=data.get("from"), last=data.get("to"),
            days=data.get("days"),
        )  # fmt: skip
        totals = data.get("totals") or {}
        self.totals.setText(
            t.tr(
                "manager.reports.totals",
                issued=totals.get("issued", 0),
                served=totals.get("served", 0),
                wait=mins(totals.get("mean_wait_s")),
                within=percent(totals.get("within_target")),
                satisfaction=percent(totals.get("satisfaction")),
            )
        )
        for button in (self.export_csv, self.export_xlsx):
            button.setEnabled(True)
        self._tables(data)
        self._charts(data)

    def _name(self, row: Mapping[str, Any]) -> str:
        return f"{row.get('service')}  {self.tr_.pick(row.get('names') or {})}".strip()

    def _tables(self, data: Mapping[str, Any]) -> None:
        t = self.tr_
        business = list(data.get("by_business") or [])
        self.business_table.retranslate()
        self.business_table.set_rows(
            [
                [
                    self._name(b),
                    str(b.get("issued", 0)),
                    str(b.get("served", 0)),
                    mins(b.get("mean_wait_s")),
                    mins(b.get("p90_wait_s")),
                    percent(b.get("within_target")),
                    percent(b.get("no_show_rate")),
                    percent(b.get("satisfaction")),
                ]
                for b in business
            ]
        )
        desks = [
            (t.tr("common.counter", counter=c.get("counter")), c)
            for c in data.get("by_counter") or []
        ] + [
            (t.tr("counter.staff", staff=s.get("staff_id")), s) for s in data.get("by_staff") or []
        ]
        self.desk_table.retranslate()
        self.desk_table.set_rows(
            [
                [
                    name,
                    str(d.get("called", 0)),
                    str(d.get("served", 0)),
                    mins(d.get("mean_service_s")),
                    mins(d.get("mean_wait_s")),
                    percent(d.get("no_show_rate")),
                    percent(d.get("satisfaction")),
                ]
                for name, d in desks
            ]
        )
        self.day_table.retranslate()
        self.day_table.set_rows(
            [
                [
                    str(d.get("day")),
                    str(d.get("issued", 0)),
                    str(d.get("served", 0)),
                    mins(d.get("mean_wait_s")),
                    percent(d.get("within_target")),
                ]
                for d in data.get("by_day") or []
            ]
        )

    # ---- charts
    def _charts(self, data: Mapping[str, Any]) -> None:
        for old in self.charts:
            self.chart_grid.removeWidget(old)
            old.deleteLater()
        self.charts = []
        try:
            views = self._chart_views(data)
        except ImportError:
            frame, column = card("managerCard")
            column.addWidget(TextLabel("manager.reports.no_charts", "body", translator=self.tr_))
            views = [frame]
        self.charts = views
        self._place_charts()

    def _place_charts(self) -> None:
        room = self.charts_scroll.viewport().width()
        columns = 2 if room >= 2 * CHART_MIN_W + self.chart_grid.spacing() else 1
        self.chart_columns = columns
        for view in self.charts:
            self.chart_grid.removeWidget(view)
        for i, view in enumerate(self.charts):
            self.chart_grid.addWidget(view, i // columns, i % columns)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        room = self.charts_scroll.viewport().width()
        wanted = 2 if room >= 2 * CHART_MIN_W + self.chart_grid.spacing() else 1
        if self.charts and wanted != self.chart_columns:
            self._place_charts()

    def _chart_views(self, data: Mapping[str, Any]) -> list[QWidget]:
        from PySide6.QtCharts import (
            QBarCategoryAxis,
            QBarSeries,
            QBarSet,
            QChart,
            QChartView,
            QPieSeries,
            QStackedBarSeries,
            QValueAxis,
        )

        t = self.tr_
        font = QFont(theme.CJK_FAMILY)
        font.setPixelSize(13)
        title_font = QFont(theme.CJK_FAMILY)
        title_font.setPixelSize(15)
        title_font.setBold(True)

        def chart(title_key: str) -> QChart:
            c = QChart()
            c.setTitle(t.tr(title_key))
            c.setTitleFont(title_font)
            c.legend().setFont(font)
            c.setAnimationOptions(QChart.AnimationOption.NoAnimation)
            c.setBackgroundRoundness(6)
            c.setMargins(QMargins(4, 2, 4, 2))  # the plot, not the frame, gets the room
            c.layout().setContentsMargins(0, 0, 0, 0)
            return c

        def bars(
            c: QChart, series: Any, categories: Sequence[str], top: float, as_int: bool = True
        ) -> None:
            c.addSeries(series)
            x = QBarCategoryAxis()
            x.append(list(categories))
            x.setLabelsFont(font)
            y = QValueAxis()
            y.setRange(0, max(1.0, top * 1.15))
            y.applyNiceNumbers()  # ticks at round numbers
            y.setLabelFormat("%d" if as_int else "%.0f")
            y.setLabelsFont(font)
            c.addAxis(x, Qt.AlignmentFlag.AlignBottom)
            c.addAxis(y, Qt.AlignmentFlag.AlignLeft)
            series.attachAxis(x)
            series.attachAxis(y)

        def view(c: QChart) -> QWidget:
            v = QChartView(c)
            v.setObjectName("reportChart")
            v.setRenderHint(QPainter.RenderHint.Antialiasing)
            v.setMinimumSize(CHART_MIN_W, CHART_MIN_H)
            return v

        business = list(data.get("by_business") or [])
        codes = [str(b.get("service")) for b in business]
        # 1. Volume by business.
        volume = chart("manager.reports.chart_volume")
        issued = QBarSet(t.tr("manager.reports.issued"))
        served = QBarSet(t.tr("manager.reports.served"))
        issued.setColor(QColor(SERIES_COLOURS[0]))
        served.setColor(QColor(SERIES_COLOURS[2]))
        for b in business:
            issued.append(float(b.get("issued") or 0))
            served.append(float(b.get("served") or 0))
        series = QBarSeries()
        series.append(issued)
        series.append(served)
        top = max([float(b.get("issued") or 0) for b in business] + [1.0])
        labels = [self._name(b) for b in business] if len(codes) <= 4 else codes
        bars(volume, series, labels, top)

        # 2. Arrivals by hour, stacked by business.
        hourly = chart("manager.reports.chart_hours")
        hours = [h for h in data.get("by_hour") or [] if (h.get("issued") or 0) > 0]
        stacked = QStackedBarSeries()
        for i, code in enumerate(codes):
            s = QBarSet(code)
            s.setColor(QColor(SERIES_COLOURS[i % len(SERIES_COLOURS)]))
            for h in hours:
                s.append(float((h.get("by_business") or {}).get(code, 0)))
            stacked.append(s)
        top = max([float(h.get("issued") or 0) for h in hours] + [1.0])
        bars(hourly, stacked, [f"{int(h['hour']):02d}" for h in hours], top)

        # 3. Waits by business, minutes: mean and 90th percentile.
        waits = chart("manager.reports.chart_waits")
        mean = QBarSet(t.tr("manager.reports.mean_wait"))
        p90 = QBarSet(t.tr("manager.reports.p90_wait"))
        mean.setColor(QColor(SERIES_COLOURS[0]))
        p90.setColor(QColor(SERIES_COLOURS[1]))
        for b in business:
            mean.append(float(b.get("mean_wait_s") or 0) / 60)
            p90.append(float(b.get("p90_wait_s") or 0) / 60)
        series = QBarSeries()
        series.append(mean)
        series.append(p90)
        top = max([float(b.get("p90_wait_s") or 0) / 60 for b in business] + [1.0])
        bars(waits, series, codes, top, as_int=False)

        # 4. Ratings.
        ratings = chart("manager.reports.chart_ratings")
        pie = QPieSeries()
        counts = (data.get("totals") or {}).get("ratings") or {}
        rated = sum(int(v) for v in counts.values()) or 1
        for level in ("4", "3", "2", "1"):
            n = int(counts.get(level, 0))
            if n:
                piece = pie.append(f"{t.tr(RATING_KEYS[level])} {n}", n)
                piece.setColor(QColor(RATING_COLOURS[level]))
                piece.setLabelVisible(n / rated >= 0.08)  # thin slices: the legend says them
                piece.setLabelFont(font)
        ratings.addSeries(pie)
        if not counts or not sum(int(v) for v in counts.values()):
            ratings.setTitle(t.tr("manager.reports.chart_ratings_none"))
        return [view(volume), view(hourly), view(waits), view(ratings)]

    # ---- export
    def ask_export(self, kind: str) -> None:
        if self.report is None:
            return
        suffix = "xlsx" if kind == "xlsx" else "csv"
        default = f"branchq-{self.report.get('from')}-{self.report.get('to')}.{suffix}"
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr_.tr("manager.reports.save_as"), default, f"*.{suffix}"
        )
        if path:
            self.export_to(Path(path), kind)

    def export_to(self, path: Path, kind: str) -> ExportWorker | None:
        """Write the report shown to `path` on a worker thread, with a progress dialog."""
        if self.report is None or (self.worker is not None and self.worker.isRunning()):
            return None
        worker = ExportWorker(self.report, path, kind)
        dialog = QProgressDialog(
            self.tr_.tr("manager.reports.exporting", file=path.name),
            self.tr_.tr("common.cancel"),
            0,
            100,
            self,
        )
        dialog.setObjectName("exportProgress")
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(worker.cancel.set)
        worker.progressed.connect(
            lambda n, total: dialog.setValue(int(100 * n / total) if total else 100)
        )
        worker.finished_export.connect(lambda done, message: self._exported(done, message, path))
        self.worker, self.progress = worker, dialog
        dialog.show()
        worker.start()
        return worker

    def _exported(self, done: bool | None, message: str, path: Path) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        if self.worker is not None:
            self.worker.wait()
        w = self.console_actions
        if done:
            w.show_message("manager.reports.exported", "info", file=str(path))
        elif done is False:
            w.show_message("manager.reports.export_cancelled", "info")
        else:
            w.show_message("manager.reports.export_failed", "error", message=message)
        self.on_exported(done, message)
