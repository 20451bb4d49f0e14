"""A running kiosk shows the head office's texts as soon as the branch applies them: the
centre publishes a signed `config`, the branch server applies it as one `config.applied`
event, and the kiosk's attract screen follows that event with no restart."""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk_fixtures import WAIT_MS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))
import shipping_double as sd
from test_config_downlink import body, catalogue, reported

centre_cert, link, branch = sd.centre_cert, sd.link, sd.branch  # fixtures
TEXTS = {
    "zh": {"welcome": "{branch}欢迎您，总行祝您顺心", "footer": "服务热线 95588"},
    "en": {"welcome": "Good to see you at {branch}"},
}


def test_a_running_kiosk_shows_the_centres_texts_after_the_apply(qtbot, make_kiosk, branch, link):
    kiosk = make_kiosk(branch.base_url, branch.tokens["kiosk"])
    attract, tr = kiosk.attract, kiosk.tr_
    name = branch.engine.branch.settings.name
    assert attract.welcome.text() == tr.tr("kiosk.attract.welcome", branch=name)
    assert attract.footer.isHidden()

    link.centre.publish("config", body(catalogue(kiosk_texts=TEXTS)))
    qtbot.waitUntil(
        lambda: attract.welcome.text() == f"{name}欢迎您，总行祝您顺心", timeout=WAIT_MS
    )
    assert reported(link, 1)["outcome"] == "applied"
    assert attract.footer.text() == "服务热线 95588" and not attract.footer.isHidden()
    # In English: the centre's English welcome; it gives no English footer, so none is shown
    # (never the Chinese one on an English screen).
    tr.set_language("en")
    assert attract.welcome.text() == f"Good to see you at {name}"
    assert attract.footer.isHidden()
    # The centre takes its texts back: the kiosk's own welcome returns, live.
    tr.set_language("zh")
    link.centre.publish("config", body(catalogue()))
    qtbot.waitUntil(
        lambda: attract.welcome.text() == tr.tr("kiosk.attract.welcome", branch=name),
        timeout=WAIT_MS,
    )
    assert attract.footer.isHidden()
