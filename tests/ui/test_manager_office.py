"""The manager console's head-office page against a real queue server on loopback: which
configuration version is in force and who set each value, following `config.applied` from
the live stream. Versions are signed as the centre signs them and handed to the branch's
own applier (what the downlink follower does once it has checked them)."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import TEST_CONFIG, LiveServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_manager_window import WAIT_MS, make_manager  # noqa: F401 (a fixture)

from central.signing import sign
from ui.manager.tabs.head_office import OVERRIDE_STATE, HeadOfficePanel
from ui.manager.window import ManagerWindow

KEY = Ed25519PrivateKey.generate()


def publish(server: LiveServer, version: int, *, drop: str | None = None, **body: Any) -> None:
    """Version `version` of the branch's configuration, applied as the follower applies it."""
    services = [dict(s) for s in TEST_CONFIG["services"] if s["code"] != drop]
    services[0]["target_wait_min"] = 8 if body.get("overridden") else 10
    document = sign(
        {
            "kind": "config",
            "branch": TEST_CONFIG["branch"]["id"],
            "version": version,
            "issued_at": "2026-11-27T01:50:00+00:00",
            "body": {
                "catalogue": {
                    "services": services,
                    "bundles": [],
                    "appointments": {},
                    "notice": "总行公告",
                },
                "branch_editable": ["counters.skills", "notice"],
                "overridden": {},
                "template": {"id": "retail", "version": 3},
                **body,
            },
        },
        KEY,
    )
    applier = server.app.state.configuration.apply
    asyncio.run_coroutine_threadsafe(applier(document), server.engine._loop).result(timeout=10)


def open_page(qtbot, window: ManagerWindow) -> HeadOfficePanel:
    window.tabs.setCurrentWidget(window.settings)
    window.settings.inner.setCurrentWidget(window.settings.office_page)
    page = window.settings.office_page
    qtbot.waitUntil(lambda: page.link is not None and page.version is not None, timeout=WAIT_MS)
    return page


def row_of(page: HeadOfficePanel, code: str) -> int:
    table = page.businesses
    rows = [r for r in range(table.rowCount()) if table.text_at(r, 0).startswith(f"{code} ")]
    assert len(rows) == 1, code
    return rows[0]


def cell(page: HeadOfficePanel, code: str, column: int) -> tuple[str, Any]:
    item = page.businesses.item(row_of(page, code), column)
    assert item is not None
    return item.text(), item.data(256)  # Qt.UserRole: the cell's state


def setting(page: HeadOfficePanel, name: str) -> tuple[str, str]:
    table = page.settings
    for r in range(table.rowCount()):
        if table.text_at(r, 0) == name:
            return table.text_at(r, 1), table.text_at(r, 2)
    raise AssertionError(name)


def test_a_branch_without_a_head_office_says_so_in_one_line(qtbot, make_manager, server):  # noqa: F811
    page = open_page(qtbot, make_manager(server))
    assert page.heading.text() == "本网点未连接总行：业务和设置都由本网点自己管理。"
    assert not page.tables.isVisible() and not page.poll.isVisible()


def test_the_page_follows_each_version_applied_and_marks_what_was_overridden(
    qtbot,
    make_manager,  # noqa: F811
    server,
):
    publish(server, 1)
    window = make_manager(server)
    page = open_page(qtbot, window)
    assert page.heading.text() == "正在使用总行配置第 1 版"
    assert page.provenance.text().startswith("来自总行模板“retail”第 3 版；总行 11-27 09:50 下发")
    assert cell(page, "A", 1) == ("10 分钟", "")
    assert cell(page, "A", 2) == ("总行模板", "")
    assert cell(page, "C", 3) == ("正常取号", "")
    assert setting(page, "大厅公告") == ("总行模板", "本网点可改")
    assert setting(page, "预约规则") == ("总行模板", "仅总行可改")

    # A customer still waits for C when version 2 drops it: C drains.
    r = server.client("kiosk").post("/tickets", json={"service": "C"})
    assert r.status_code == 201, r.text
    publish(server, 2, drop="C", overridden={"services.A.target_wait_min": "region"})
    # Nothing but the live stream's config.applied tells the page to read again.
    qtbot.waitUntil(lambda: page.heading.text() == "正在使用总行配置第 2 版", timeout=WAIT_MS)
    assert cell(page, "A", 1) == ("8 分钟", OVERRIDE_STATE)
    assert cell(page, "A", 2) == ("区域覆盖：目标等候", OVERRIDE_STATE)
    assert cell(page, "B", 2) == ("总行模板", "")
    assert cell(page, "C", 3) == ("停止取号（仍有 1 人等候）", "closed")

    # The manager edits the notice the centre lets the branch edit: marked as changed here.
    r = server.client("manager").put("/branch/notice", json={"text": "本网点今日装修"})
    assert r.status_code == 200, r.text
    qtbot.waitUntil(lambda: setting(page, "大厅公告")[0] == "本网点已修改", timeout=WAIT_MS)

    window.tr_.set_language("en")
    assert page.heading.text() == "Head office configuration v2 in force"
    assert cell(page, "A", 2)[0] == "Region override: target wait"
    assert setting(page, "Hall notice") == ("Changed here", "Editable here")


def test_what_the_page_says_before_any_version_and_whose_the_counters_skills_are():
    from ui.manager.office_config import Link, Origin, config_view

    def link_of(version: dict[str, Any], link: dict[str, Any]) -> Link:
        return config_view(version, link, {}, ()).link

    none = {"version": None}
    assert link_of(none, {"configured": False}) is Link.NONE
    assert link_of(none, {"configured": True, "downlink": {"configured": False}}) is Link.NO_KEY
    assert link_of(none, {"configured": True, "downlink": {"configured": True}}) is Link.WAITING
    in_force = {"version": 4, "branch_editable": ["counters.skills"], "overridden": {}}
    [*_, skills] = config_view(in_force, {"configured": True}, {}, ()).settings
    assert (skills.path, skills.origin, skills.editable) == (
        "counters.skills",
        Origin.BRANCH_OWN,
        True,
    )
