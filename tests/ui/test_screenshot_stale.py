"""A whole screenshot run leaves only what it drew among the names it owns."""

from __future__ import annotations

from tools.screenshots.stale import QT_NAME, WEB_NAME, remove_stale


def test_a_whole_run_removes_every_picture_of_its_naming_it_did_not_draw(tmp_path):
    names = {
        "kiosk-home-zh-normal-1920x1080.png": "drawn",
        "kiosk-home-zh-normal.png": "qt",  # old naming
        "kiosk-lockdown-07-large-guidance-priority-zh-large.png": "qt",  # screen gone
        "display-landscape.png": "drawn",
        "display-old-zone.png": "web",
        "phone-waiting-zh.png": "drawn",
        "logo.png": "hand",
        "kiosk-home-zh-normal-1920x1080.txt": "hand",
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    written = [tmp_path / n for n, kind in names.items() if kind == "drawn"]

    removed_qt = remove_stale(tmp_path, written, [QT_NAME])
    removed_web = remove_stale(tmp_path, written, [WEB_NAME])

    assert sorted(p.name for p in removed_qt) == [
        "kiosk-home-zh-normal.png",
        "kiosk-lockdown-07-large-guidance-priority-zh-large.png",
    ]
    assert [p.name for p in removed_web] == ["display-old-zone.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        n for n, kind in names.items() if kind in ("drawn", "hand")
    )
