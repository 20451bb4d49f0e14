"""The head office's kiosk texts, voice pack and location, applied at a serving branch: in
force at once (the next call's announcement, the next hello to the centre), carried by the
`config.applied` event for the kiosks, kept across a restart; a pack the branch lacks, or a
text the kiosk cannot show, is refused and changes nothing."""

from __future__ import annotations

import json
import shutil
import sys
import wave
from pathlib import Path

import pytest
from conftest import LiveServer
from test_config_downlink import body, catalogue, kinds, reported

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shipping_double as sd

from queue_server import voice

centre_cert, link, branch = sd.centre_cert, sd.link, sd.branch  # fixtures
WAIT_S = 15.0
TEXTS = {
    "zh": {"welcome": "欢迎光临{branch}，总行祝您顺心", "footer": "服务热线 95588"},
    "en": {"welcome": "Good to see you at {branch}"},
}
HERE = {"lat": 31.2304, "lon": 121.4737}


@pytest.fixture
def packs(tmp_path: Path) -> Path:
    """The standard pack, and a pack named "calm" whose chime is the standard one at half
    the volume (so a call sounds different, and the test can tell which pack spoke)."""
    root = tmp_path / "voice"
    shutil.copytree(voice.DEFAULT_PACK_DIR, root)
    calm = root / "calm"
    shutil.copytree(voice.DEFAULT_PACK_DIR / "zh", calm / "zh")
    shutil.copytree(voice.DEFAULT_PACK_DIR / "en", calm / "en")
    with wave.open(str(voice.DEFAULT_PACK_DIR / "chime.wav"), "rb") as w:
        params, frames = w.getparams(), w.readframes(w.getnframes())
    quiet = b"".join(
        (int.from_bytes(frames[i : i + 2], "little", signed=True) // 2).to_bytes(
            2, "little", signed=True
        )
        for i in range(0, len(frames), 2)
    )
    with wave.open(str(calm / "chime.wav"), "wb") as w:
        w.setparams(params)
        w.writeframes(quiet)
    return root


def announcement(server: LiveServer, number: str) -> bytes:
    r = server.client("display").get("/voice/call.wav", params={"number": number, "counter": 3})
    assert r.status_code == 200, r.text
    return r.content


def test_kiosk_texts_voice_pack_and_location_are_in_force_at_once_and_after_a_restart(
    branch, link, packs, branch_db, clock
):
    server = branch
    server.app.state.voice_pack_dir = packs
    languages = list(server.engine.branch.settings.languages)
    standard = voice.compose_call("A024", 3, languages, packs)
    assert announcement(server, "A023") == voice.compose_call("A023", 3, languages, packs)
    link.centre.wait_for(lambda: bool(link.centre.hellos))
    assert link.centre.hellos[-1]["location"] is None  # the TOML gives none

    look = {"kiosk_texts": TEXTS, "voice_pack": "calm", "location": HERE}
    link.centre.publish("config", body(catalogue(**look)))
    assert reported(link, 1)["outcome"] == "applied"

    settings = server.engine.branch.settings
    assert settings.kiosk_texts == TEXTS
    assert (settings.voice_pack, settings.location) == ("calm", (HERE["lat"], HERE["lon"]))
    [applied] = kinds(server.db, "config.applied")
    assert applied["data"]["kiosk_texts"] == TEXTS and applied["data"]["voice_pack"] == "calm"
    assert applied["data"]["location"] == HERE
    changed = applied["data"]["changed"]
    assert changed["kiosk_texts"] and changed["voice_pack"] and changed["location"]
    snapshot = server.client("kiosk").get("/snapshot").json()["branch"]
    assert (snapshot["kiosk_texts"], snapshot["voice_pack"]) == (TEXTS, "calm")
    # The next call is announced with the centre's pack.
    calm = announcement(server, "A024")
    assert calm == voice.compose_call("A024", 3, languages, packs / "calm") and calm != standard
    # The centre hears where the branch now stands without waiting for a heartbeat (15 s).
    link.centre.wait_for(lambda: link.centre.hellos[-1]["location"] == HERE, WAIT_S)

    server.stop()
    again = LiveServer(branch_db[0], branch_db[1], clock).start()
    try:
        again.app.state.voice_pack_dir = packs
        kept = again.engine.branch.settings
        assert (kept.kiosk_texts, kept.voice_pack) == (TEXTS, "calm")
        assert kept.location == (HERE["lat"], HERE["lon"])
        assert again.client("kiosk").get("/snapshot").json()["branch"]["kiosk_texts"] == TEXTS
        assert announcement(again, "A024") == calm
    finally:
        again.stop()


def test_a_version_without_them_brings_back_the_kiosks_own_texts_and_the_standard_pack(
    branch, link, packs
):
    server = branch
    server.app.state.voice_pack_dir = packs
    link.centre.publish("config", body(catalogue(kiosk_texts=TEXTS, voice_pack="calm")))
    assert reported(link, 1)["outcome"] == "applied"
    link.centre.publish("config", body(catalogue()))
    assert reported(link, 2)["outcome"] == "applied"
    settings = server.engine.branch.settings
    assert (dict(settings.kiosk_texts), settings.voice_pack) == ({}, "standard")
    second = kinds(server.db, "config.applied")[1]["data"]
    assert (second["kiosk_texts"], second["voice_pack"]) == ({}, "standard")


REFUSED = [
    ({"voice_pack": "opera"}, "no voice pack 'opera'"),
    ({"voice_pack": "../voice"}, "is not"),
    ({"voice_pack": "zh"}, "no voice pack 'zh'"),  # a language folder is not a pack
    ({"kiosk_texts": {"zh": {"slogan": "存款送礼"}}}, "no kiosk text 'slogan'"),
    ({"kiosk_texts": {"zh": {"welcome": "欢" * 61}}}, "60 characters at most"),
    ({"kiosk_texts": {"zh": "欢迎"}}, "not {language"),
    ({"location": {"lat": 91, "lon": 0}}, "location is"),
    ({"location": {"lat": True, "lon": 0}}, "location is"),
]


def test_a_pack_the_branch_lacks_or_a_text_the_kiosk_cannot_show_is_refused_and_changes_nothing(
    branch, link, packs
):
    server = branch
    server.app.state.voice_pack_dir = packs
    before = server.engine.branch.settings
    seq = server.engine.branch.last_seq
    for version, (look, reason) in enumerate(REFUSED, start=1):
        # With a business added and a notice: none of the rest is applied either.
        link.centre.publish("config", body(catalogue(notice="总行公告", **look)))
        report = reported(link, version)
        assert report["outcome"] == "refused", look
        assert report["reason"].startswith("invalid_config:") and reason in report["reason"]
    assert server.engine.branch.settings == before
    assert "D" not in server.engine.branch.services
    assert kinds(server.db, "config.applied") == []
    assert server.engine.branch.last_seq == seq + len(REFUSED)  # the refusals' alerts only
    row = server.engine.read_conn.execute("SELECT value FROM meta WHERE key = 'settings'")
    stored = json.loads(row.fetchone()[0])
    assert stored["voice_pack"] == "standard" and stored["kiosk_texts"] == {}
