"""The head-office console in Debian's Chromium at 1366×768 against a real centre on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from test_display import browser  # noqa: F401  # one Chromium per module, as the display's

from tools.console_network import PASSWORD, ConsoleServer, seed_network

VIEW = {"width": 1366, "height": 768}
WAIT_MS = 10_000
HOOK = "window.branchqConsole"


@pytest.fixture
def console(central_dsn: str) -> Iterator[ConsoleServer]:
    with psycopg.connect(central_dsn) as conn:
        seed_network(conn)
    with ConsoleServer(central_dsn) as server:
        yield server


def shown(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "#network-body tr", "rows => rows.map(r => r.dataset.branch)"
    )
    return ids


def test_a_manager_signs_in_sorts_filters_drills_down_and_sees_a_row_change_live(
    browser: Any,  # noqa: F811  # the fixture imported above
    console: ConsoleServer,
    central_dsn: str,
) -> None:
    context = browser.new_context(viewport=VIEW)
    try:
        page = context.new_page()
        page.goto(console.base_url + "/console")
        page.fill("#username", "hq")
        page.fill("#password", PASSWORD)
        page.click("#sign-in-form button[type=submit]")
        page.wait_for_function(f"{HOOK}.connection === 'live'", timeout=WAIT_MS)
        assert sorted(shown(page)) == sorted(
            ["sh-lujiazui", "sh-xujiahui", "hz-xihu", "bj-guomao", "tj-binhai"]
        )
        # Longest wait against target first by default: the branch over its target on top.
        assert shown(page)[0] == "sh-lujiazui"
        assert page.locator("tr.over").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= VIEW["width"]

        page.click("th[data-key=waiting]")  # descending first for a figure
        assert shown(page)[:2] == ["sh-lujiazui", "bj-guomao"]
        page.click("th[data-key=waiting]")
        assert shown(page)[0] == "tj-binhai"
        page.select_option("#region-filter", "north")
        assert shown(page) == ["tj-binhai", "bj-guomao"]
        page.check("#attention-filter")
        assert shown(page) == ["tj-binhai"]
        page.uncheck("#attention-filter")

        with psycopg.connect(central_dsn, autocommit=True) as conn:
            conn.execute("UPDATE live_branch SET waiting = 37 WHERE branch_id = 'bj-guomao'")
            conn.execute("SELECT pg_notify('network', 'bj-guomao')")
        page.wait_for_function(f"{HOOK}.lastUpdate === 'bj-guomao'", timeout=WAIT_MS)
        row = page.locator("tr[data-branch=bj-guomao] td").nth(2)
        assert row.inner_text() == "37"

        page.click("tr[data-branch=bj-guomao]")
        page.wait_for_function(f"{HOOK}.drill && {HOOK}.drill.branch.id === 'bj-guomao'")
        assert "北京国贸支行" in page.inner_text("#branch-title")
        assert page.locator("#counter-table tbody tr").count() == 4
        assert page.locator("#call-table tbody tr").count() == 8
    finally:
        context.close()


def sign_in_as_head_office(page: Any, base_url: str) -> None:
    from tools.screenshots.central import sign_in

    sign_in(page, base_url, "hq", PASSWORD)


def test_every_console_screen_fits_both_sizes_and_a_cut_cell_is_caught(
    browser: Any,  # noqa: F811  # the fixture imported above
    console: ConsoleServer,
    tmp_path: Any,
) -> None:
    from tools.screenshots.central import FIT_PROBLEMS, SCREENS, SIZES, shoot_console

    written = shoot_console(browser, console.base_url, tmp_path)  # raises where one does not fit
    assert len(written) == len(SCREENS) * len(SIZES) and all(p.stat().st_size > 0 for p in written)
    context = browser.new_context(viewport=VIEW)
    try:
        page = context.new_page()
        sign_in_as_head_office(page, console.base_url)
        page.evaluate("location.hash = '#branch/sh-lujiazui'")
        page.wait_for_function(f"{HOOK}.drill && {HOOK}.drill.calls.length > 0", timeout=WAIT_MS)
        # The alert says how bad it is in the manager's language, not the machine's code.
        badge = page.inner_text("li .badge")
        assert badge == "严重", badge
        assert page.evaluate(FIT_PROBLEMS) == []
        page.add_style_tag(content="td { max-width: 12px; overflow: hidden; white-space: nowrap; }")
        cut = page.evaluate(FIT_PROBLEMS)
        assert any(p.startswith("sideways cut: <td") for p in cut), cut
    finally:
        context.close()
