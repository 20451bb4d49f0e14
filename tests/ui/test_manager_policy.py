"""The Calling policy tab against a real queue server: what runs and why, a tournament run
from the console with its progress, a second run refused, the choice applied.

The tournament is the server's own (worker process, real simulations), kept short as the
server tests keep it (two days, the config prior, three candidates). Its later steps wait
on a gate the test opens, so "while it runs" is a state the test holds, not a race.
"""

from __future__ import annotations

import asyncio
import itertools
import threading

from conftest import LiveServer
from PySide6.QtCore import Qt
from test_manager_window import WAIT_MS, make_manager  # noqa: F401 (a fixture)

from queue_server.domain.policies import DEFAULT_POLICY
from queue_server.simulation.tournament import candidates
from tests.server.test_policy_choice import short
from ui.i18n import translator

LEFT = Qt.MouseButton.LeftButton
GATE_S = 60.0


def hold_after(server: LiveServer, free_steps: int) -> threading.Event:
    """The tournament's first `free_steps` steps run; the others wait until the event is set."""
    desk = server.app.state.policy
    gate = threading.Event()
    started = itertools.count()
    real = desk.run_job

    def run_job(loop, job):
        if next(started) < free_steps:
            return real(loop, job)

        async def later():
            await loop.run_in_executor(None, gate.wait, GATE_S)
            return await real(loop, job)

        return asyncio.ensure_future(later(), loop=loop)

    desk.run_job = run_job
    return gate


def three_candidates(server: LiveServer) -> None:
    short(server)
    entrants = candidates()
    server.app.state.policy.entrants = lambda: [entrants[0], entrants[2], entrants[-1]]


def open_policy_tab(qtbot, window) -> None:
    window.tabs.setCurrentWidget(window.policy)
    qtbot.waitUntil(lambda: window.policy.overview is not None, timeout=WAIT_MS)


def test_the_tab_says_which_policy_runs_and_why(qtbot, make_manager, server):  # noqa: F811
    window = make_manager(server)
    open_policy_tab(qtbot, window)
    tab = window.policy
    default = translator().catalog.text(f"policy.name.{DEFAULT_POLICY}", "zh")
    assert tab.running_name.text() == default
    assert tab.since.text() == "系统默认策略，尚未经策略比赛选定"
    assert tab.reason.text() == f"尚无策略比赛结果，使用系统默认的{default}。"
    assert tab.status.text() == "还没有运行过策略比赛。"
    assert not tab.apply.isEnabled() and tab.run.isEnabled()


def test_run_now_shows_progress_refuses_a_second_run_and_applies_the_choice(
    qtbot,
    make_manager,  # noqa: F811
    server,
):
    three_candidates(server)
    gate = hold_after(server, 1)  # the forecast day is built; the candidates wait
    try:
        window = make_manager(server)
        window.policy._poll.setInterval(50)
        open_policy_tab(qtbot, window)
        tab = window.policy
        qtbot.mouseClick(tab.run, LEFT)
        qtbot.waitUntil(lambda: "第 1/4 步" in tab.status.text(), timeout=WAIT_MS)
        assert tab.progress.isVisible() and tab.progress.value() == 1
        assert not tab.run.isEnabled() and tab.run.text() == "比赛进行中…"
        job = server.app.state.policy.job

        # Another console asks too (this one's button is disabled): refused in words.
        tab.run_now()
        qtbot.waitUntil(
            lambda: (
                window.message.message_label.text() == "已有一场策略比赛在进行，请等它结束后再试"
            ),
            timeout=WAIT_MS,
        )
        assert server.app.state.policy.job is job

        gate.set()
        # The candidates' rows can show while the run still says its last step; the end is
        # the bar gone and the button back (this read them a poll early under load).
        qtbot.waitUntil(
            lambda: (
                tab.table.rowCount() == 3 and not tab.progress.isVisible() and tab.run.isEnabled()
            ),
            timeout=60_000,
        )
        assert "完成（经理手动）" in tab.status.text()
        names = [tab.table.text_at(r, 0) for r in range(3)]
        assert sum(n.startswith("★ ") for n in names) == 1
        assert any(n.startswith("累积优先（") for n in names)  # the head-start variant, worded
        assert all("[" not in n for n in names)
        assert tab.table.text_at(0, 2).endswith(" 分")  # regular p95 / target
        chosen = tab.view.chosen
        assert chosen is not None and tab.apply.isEnabled()

        qtbot.mouseClick(tab.apply, LEFT)
        assert tab.confirm.isVisible() and chosen in tab.confirm_text.text()
        qtbot.mouseClick(tab.confirm_yes, LEFT)
        qtbot.waitUntil(lambda: tab.running_name.text() == chosen, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not tab.apply.isEnabled(), timeout=WAIT_MS)
        assert tab.apply.text() == "已在使用" and "起使用" in tab.since.text()
        assert tab.reason.text().startswith(f"选择{chosen}：")
        expected = server.client("manager").get("/policy").json()["last"]["chosen"]["name"]
        assert getattr(server.engine.branch.policy, "name", None) == expected
    finally:
        gate.set()


def test_a_policy_applied_elsewhere_shows_without_a_click(qtbot, make_manager, server):  # noqa: F811
    three_candidates(server)
    window = make_manager(server)
    open_policy_tab(qtbot, window)
    manager = server.client("manager")
    assert manager.post("/policy/tournament").status_code == 202
    # The policy.tournament event makes the tab read; it follows the run to its end.
    qtbot.waitUntil(lambda: window.policy.table.rowCount() == 3, timeout=60_000)
    assert manager.post("/policy/apply").status_code == 200
    qtbot.waitUntil(lambda: window.policy.since.text().endswith("采用"), timeout=WAIT_MS)
    assert window.policy.running_name.text() == window.policy.view.chosen
