"""The kiosk's speaker ports: chosen by URL, played off the caller's thread, volume on the
samples, and health that says when the device is missing or stuck — never a hang."""

from __future__ import annotations

import array
import shutil
import stat
import threading
from pathlib import Path

import pytest

from devices.audio import audio_for_url, scale_pcm
from devices.audio.alsa import AlsaSpeaker
from devices.audio.pack import ClipPack, Silence, VoicePackError, spaced
from devices.audio.player import Utterance
from devices.audio.sim import SimulatedSpeaker

WAIT_S = 10.0
ROOT = Path(__file__).resolve().parents[2]


def tone(samples: list[int], rate: int = 16_000) -> Utterance:
    return Utterance(("zh/qing",), array.array("h", samples).tobytes(), rate)


def stuck_player(folder: Path) -> str:
    """The outermost OS boundary: a "player" program that reads nothing and never ends."""
    stuck = folder / "aplay"
    stuck.write_text("#!/bin/sh\nexec tail -f /dev/null\n")
    stuck.chmod(stuck.stat().st_mode | stat.S_IEXEC)
    return str(stuck)


def health_of(speaker, utterance: Utterance) -> tuple[str, str]:
    answered = threading.Event()
    speaker.on_health = lambda _h, _d: answered.set()
    speaker.play(utterance)
    assert answered.wait(WAIT_S), "the speaker never said how it went"
    return speaker.health


def test_the_simulator_records_the_clips_and_the_pcm_in_order():
    speaker = audio_for_url("sim://", volume=100)
    assert isinstance(speaker, SimulatedSpeaker)
    try:
        first, second = tone([1000, -1000]), Utterance(("en/take_ticket",), b"\x01\x00", 8000)
        speaker.play(first)
        assert health_of(speaker, second) == ("ok", "")
        assert speaker.clips() == [("zh/qing",), ("en/take_ticket",)]
        assert [(p.pcm, p.rate) for p in speaker.played] == [
            (first.pcm, 16_000),
            (b"\x01\x00", 8000),
        ]
    finally:
        speaker.close()


def test_volume_scales_the_samples_before_any_backend_sees_them():
    assert (
        scale_pcm(array.array("h", [20000, -20000, 7]).tobytes(), 100)
        == array.array("h", [20000, -20000, 7]).tobytes()
    )
    half = array.array("h")
    half.frombytes(scale_pcm(array.array("h", [20000, -20000, 8]).tobytes(), 50))
    assert list(half) == [5000, -5000, 2]  # (50/100)² of the amplitude
    assert set(scale_pcm(array.array("h", [32767, -32768]).tobytes(), 0)) == {0}
    speaker = audio_for_url("sim://?volume=50")
    try:
        assert health_of(speaker, tone([20000, -20000])) == ("ok", "")
        assert array.array("h", speaker.played[0].pcm).tolist() == [5000, -5000]
        assert speaker.set_volume(130) == 100 and speaker.set_volume(-5) == 0
    finally:
        speaker.close()


def test_none_is_silent_and_not_a_device():
    speaker = audio_for_url(None)
    assert speaker.url == "none://" and not speaker.configured
    assert speaker.play(tone([1, 2, 3])) is False
    assert speaker.health is None
    speaker.close()


def test_a_simulated_fault_is_reported_as_the_servers_health():
    speaker = audio_for_url("sim://?fail=offline")
    try:
        assert health_of(speaker, tone([1]))[0] == "offline"
        assert speaker.played == []
    finally:
        speaker.close()


@pytest.mark.skipif(shutil.which("aplay") is None, reason="aplay (alsa-utils) not installed")
def test_alsa_with_a_device_that_does_not_exist_reports_offline_quickly():
    speaker = audio_for_url("alsa://no_such_card_7?timeout=2")
    assert isinstance(speaker, AlsaSpeaker)
    try:
        health, detail = health_of(speaker, tone([0] * 1600))
        assert health == "offline" and "no_such_card_7" in detail
    finally:
        speaker.close()


def test_alsa_without_the_player_program_is_offline_and_says_what_to_install():
    speaker = audio_for_url("alsa://default?player=/nonexistent/aplay")
    try:
        health, detail = health_of(speaker, tone([0] * 160))
        assert health == "offline" and "alsa-utils" in detail
    finally:
        speaker.close()


def test_a_player_that_hangs_is_stopped_at_the_timeout_and_the_queue_goes_on(tmp_path):
    speaker = AlsaSpeaker("default", timeout_s=0.3, player=stuck_player(tmp_path))
    try:
        health, detail = health_of(speaker, tone([0] * 160))
        assert health == "error" and "stopped" in detail
        # The worker is free again: the next utterance is tried (and times out) too.
        answered = threading.Event()
        speaker.on_health = lambda _h, _d: answered.set()
        speaker._health = None  # forget, so the same answer is reported again
        speaker.play(tone([0] * 160))
        assert answered.wait(WAIT_S)
    finally:
        speaker.close()


def test_play_returns_at_once_and_close_stops_a_stuck_player(tmp_path):
    speaker = AlsaSpeaker("default", timeout_s=60, player=stuck_player(tmp_path))
    for _ in range(20):  # more than the queue holds: the rest are dropped, not waited for
        speaker.play(tone([0] * 160))
    assert speaker.health is None  # nothing has finished, and nothing blocked us
    worker = speaker._worker
    speaker.close()  # kills the player: no minute-long wait, no process left behind
    assert worker is not None and not worker.is_alive()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("teleport://x", "unknown audio URL scheme"),
        ("sim://?loud=1", "unknown option"),
        ("alsa://default?volume=150", "volume must be 0 to 100"),
        ("sim://?fail=sometimes", "fail must be offline or error"),
    ],
)
def test_bad_urls_are_clear_errors(url, message):
    with pytest.raises(ValueError, match=message):
        audio_for_url(url)


def test_the_kiosk_prompts_are_in_both_packs_in_the_packs_format():
    pack = ClipPack(ROOT / "assets" / "voice")
    for language in ("zh", "en"):
        parts = spaced(language, ["choose_business", "your_number_is", "take_ticket"], 100)
        pcm = pack.pcm([*parts, Silence(50), f"{language}/take_id_card"])
        assert pack.rate == 16_000 and len(pcm) > 16_000  # more than half a second of speech
    with pytest.raises(VoicePackError, match="missing"):
        pack.frames("zh/no_such_clip")
