"""Call announcements: clip sequences, the composed WAV, the packs, HTTP, the generator."""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import shutil
import string
import wave
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_CONFIG, LiveServer, make_db

from kiosk.voice import Prompt
from queue_server import voice
from queue_server.cli import main
from queue_server.voice import (
    CHIME,
    DEFAULT_PACK_DIR,
    ClipPack,
    InvalidCall,
    Silence,
    VoicePackError,
    all_clips,
    call_sequence,
    clips_used,
    compose_call,
    en_counter,
    zh_counter,
)
from tools.bench.voice import measure_compose

ZH_A023_3 = [
    "zh/qing",
    "zh/A",
    "zh/0",
    "zh/2",
    "zh/3",
    "zh/hao",
    "zh/dao",
    "zh/3",
    "zh/hao",
    "zh/chuangkou",
    "zh/banli",
]
EN_A023_3 = [
    "en/number",
    "en/A",
    "en/0",
    "en/2",
    "en/3",
    "en/please_go_to_counter",
    "en/3",
]
HAS_ESPEAK = importlib.util.find_spec("espeakng_loader") is not None


def read_wav(data: bytes) -> tuple[Any, bytes]:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getparams(), w.readframes(w.getnframes())


def clip_frames(name: str, root: Path = DEFAULT_PACK_DIR) -> int:
    with wave.open(str(root / f"{name}.wav"), "rb") as w:
        return w.getnframes()


def expected_frames(parts: list[voice.Part], rate: int) -> int:
    """Frames of the parts counted from the clip files themselves, not from the composer."""
    return sum(clip_frames(p) if isinstance(p, str) else rate * p.ms // 1000 for p in parts)


# --- what a call says --------------------------------------------------------------------


def test_a_zh_only_call_is_chime_then_the_chinese_sentence():
    parts = call_sequence("A023", 3, ["zh"])
    assert clips_used(parts) == [CHIME, *ZH_A023_3]
    assert parts[1] == Silence(voice.AFTER_CHIME_MS)
    assert parts[-1] == Silence(voice.TAIL_MS)
    # a pause between every two clips, never two clips back to back
    assert all(isinstance(a, str) != isinstance(b, str) for a, b in itertools.pairwise(parts))


def test_a_bilingual_call_adds_the_english_sentence_after_a_pause():
    parts = call_sequence("A023", 3, ["zh", "en"])
    assert clips_used(parts) == [CHIME, *ZH_A023_3, *EN_A023_3]
    banli = parts.index("zh/banli")
    assert parts[banli + 1] == Silence(voice.SENTENCE_GAP_MS)
    assert parts[banli + 2] == "en/number"


def test_the_languages_come_in_the_branchs_order():
    parts = clips_used(call_sequence("A023", 3, ["en", "zh"]))
    assert parts == [CHIME, *EN_A023_3, *ZH_A023_3]


@pytest.mark.parametrize(
    ("counter", "zh", "en"),
    [
        (1, ["1"], ["1"]),
        (3, ["3"], ["3"]),
        (10, ["ten"], ["10"]),
        (12, ["ten", "2"], ["12"]),
        (20, ["2", "ten"], ["20"]),
        (21, ["2", "ten", "1"], ["20", "1"]),
        (99, ["9", "ten", "9"], ["90", "9"]),
        (100, ["1", "hundred"], ["1", "hundred"]),
        (105, ["1", "hundred", "0", "5"], ["1", "hundred", "5"]),
        (110, ["1", "hundred", "1", "ten"], ["1", "hundred", "10"]),
        (115, ["1", "hundred", "1", "ten", "5"], ["1", "hundred", "15"]),
        (999, ["9", "hundred", "9", "ten", "9"], ["9", "hundred", "90", "9"]),
    ],
)
def test_counters_are_read_as_numbers(counter, zh, en):
    assert zh_counter(counter) == zh
    assert en_counter(counter) == en


def test_ticket_numbers_are_read_character_by_character():
    parts = clips_used(call_sequence("VIP1024", 7, ["en"]))
    assert parts[2:9] == ["en/V", "en/I", "en/P", "en/1", "en/0", "en/2", "en/4"]
    assert clips_used(call_sequence("007", 1, ["zh"]))[2:5] == ["zh/0", "zh/0", "zh/7"]


@pytest.mark.parametrize(
    ("number", "counter"),
    [
        ("a023", 3),
        ("", 3),
        ("A", 3),
        ("ABCD1", 3),
        ("A123456", 3),
        ("A-23", 3),
        ("A０２３", 3),  # full-width digits
        ("A023", 0),
        ("A023", 1000),
        ("A023", -1),
        ("A023", True),
    ],
)
def test_bad_numbers_and_counters_are_refused(number, counter):
    with pytest.raises(InvalidCall):
        call_sequence(number, counter, ["zh"])


def test_an_unknown_language_is_named():
    with pytest.raises(VoicePackError, match="'fr'"):
        call_sequence("A023", 3, ["zh", "fr"])
    with pytest.raises(InvalidCall):
        call_sequence("A023", 3, [])


# --- the packs ---------------------------------------------------------------------------


def test_every_clip_the_composer_can_ask_for_is_in_both_packs():
    asked: set[str] = set()
    for counter in range(1, voice.MAX_COUNTER + 1):
        asked.update(clips_used(call_sequence("A1", counter, ["zh", "en"])))
    for letter in string.ascii_uppercase:
        for digits in ("01234", "56789"):
            asked.update(clips_used(call_sequence(letter + digits, 1, ["zh", "en"])))
    assert asked <= set(all_clips())
    # The rest are the kiosk's prompts (kiosk/voice.py), spoken at the kiosk, not in calls.
    kiosk_prompts = {f"{language}/{p.value}" for language in ("zh", "en") for p in Prompt}
    assert set(all_clips()) - asked == kiosk_prompts, "a clip in PACK_CLIPS is never used"
    pack = ClipPack(DEFAULT_PACK_DIR)
    assert pack.missing() == []
    pack.load_all()  # one format across the chime and both languages
    assert pack.rate == 16000


def test_the_packs_are_trimmed_and_small():
    total = sum(p.stat().st_size for p in DEFAULT_PACK_DIR.rglob("*.wav"))
    assert total < 2 * 1024 * 1024
    pack = ClipPack(DEFAULT_PACK_DIR)
    for name in all_clips():
        frames = pack.frames(name)
        head = frames[: 2 * 320]  # the first 20 ms
        samples = memoryview(frames).cast("h")
        peak = max(abs(s) for s in samples)
        assert 0.2 * 32768 < peak < 32768, name
        longest = 3.0 if name.rsplit("/", 1)[-1] in set(Prompt) else 1.6  # phrases, words
        assert len(frames) / 2 / 16000 < longest, f"{name} is long: untrimmed?"
        assert any(head) or name == CHIME, f"{name} starts with 20 ms of digital silence"


# --- composing ---------------------------------------------------------------------------


@pytest.mark.parametrize("languages", [["zh"], ["zh", "en"]])
def test_the_composed_wav_is_valid_and_as_long_as_its_parts(languages):
    parts = call_sequence("A023", 3, languages)
    params, frames = read_wav(compose_call("A023", 3, languages))
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
    assert params.comptype == "NONE"
    assert len(frames) == 2 * params.nframes
    assert params.nframes == expected_frames(parts, 16000)
    # and the same within a few ms when the pauses are summed in seconds
    seconds = sum(clip_frames(p) / 16000 for p in parts if isinstance(p, str))
    seconds += sum(p.ms / 1000 for p in parts if isinstance(p, Silence))
    assert abs(params.nframes / 16000 - seconds) < 0.005
    chime = clip_frames(CHIME)
    with wave.open(str(DEFAULT_PACK_DIR / "chime.wav"), "rb") as w:
        assert frames[: 2 * chime] == w.readframes(chime)


def test_a_recall_composes_the_same_audio():
    first = compose_call("B107", 12, ["zh", "en"])
    assert compose_call("B107", 12, ["zh", "en"]) == first
    assert compose_call("B107", 13, ["zh", "en"]) != first


def test_clips_are_read_once_and_kept(tmp_path):
    pack_dir = tmp_path / "voice"
    shutil.copytree(DEFAULT_PACK_DIR, pack_dir)
    first = compose_call("A023", 3, ["zh"], pack_dir)
    assert voice.clip_pack(pack_dir) is voice.clip_pack(str(pack_dir))
    shutil.rmtree(pack_dir)  # the files are gone: the cached clips still compose
    assert compose_call("A023", 3, ["zh"], pack_dir) == first


def test_a_missing_clip_is_named(tmp_path):
    shutil.copytree(DEFAULT_PACK_DIR, tmp_path / "voice")
    (tmp_path / "voice" / "zh" / "banli.wav").unlink()
    with pytest.raises(VoicePackError, match=r"zh/banli\.wav"):
        compose_call("A023", 3, ["zh"], tmp_path / "voice")
    assert ClipPack(tmp_path / "voice").missing() == ["zh/banli"]


def test_a_clip_in_another_format_is_named(tmp_path):
    shutil.copytree(DEFAULT_PACK_DIR, tmp_path / "voice")
    with wave.open(str(tmp_path / "voice" / "zh" / "qing.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(44100)  # a studio take not converted to the pack's rate
        w.writeframes(bytes(4410 * 2))
    with pytest.raises(VoicePackError, match=r"qing\.wav is 44100 Hz"):
        compose_call("A023", 3, ["zh"], tmp_path / "voice")
    with wave.open(str(tmp_path / "voice" / "en" / "number.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(1600 * 4))
    with pytest.raises(VoicePackError, match=r"number\.wav is 2-channel"):
        compose_call("A023", 3, ["en"], tmp_path / "voice")
    assert main(["voice", "check", "--pack", str(tmp_path / "voice")]) == 1


def test_the_benchmark_reports_compose_ms(capsys):
    result = measure_compose(samples=5)
    assert result["compose_ms"] > 0 and result["baseline_ms"] > 0
    assert result["samples"] == 5 and result["languages"] == ["zh", "en"]
    assert main(["bench", "voice", "--samples", "3", "--json"]) == 0
    assert "compose_ms" in json.loads(capsys.readouterr().out)
    assert main(["voice", "check"]) == 0


# --- HTTP --------------------------------------------------------------------------------


def test_a_display_fetches_a_call_and_the_chime(server):
    display = server.client("display")
    r = display.get("/voice/call.wav", params={"number": "A023", "counter": 3})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "audio/wav"
    assert "max-age" in r.headers["cache-control"]
    # the test branch has the default languages: zh then en
    assert r.content == compose_call("A023", 3, ["zh", "en"])
    again = server.client("manager").get("/voice/call.wav?number=A023&counter=3")
    assert again.content == r.content  # a recall is announced the same way
    chime = display.get("/voice/chime.wav")
    assert chime.status_code == 200 and chime.headers["content-type"] == "audio/wav"
    params, _ = read_wav(chime.content)
    assert params.nframes == clip_frames(CHIME)


@pytest.mark.parametrize(
    "query",
    [
        {"number": "A023"},
        {"counter": 3},
        {"number": "A023", "counter": 0},
        {"number": "A023", "counter": 1000},
        {"number": "A023", "counter": "three"},
        {"number": "a023", "counter": 3},
        {"number": "A02;3", "counter": 3},
        {"number": "A" * 50, "counter": 3},
    ],
)
def test_bad_calls_get_422(server, query):
    r = server.client("display").get("/voice/call.wav", params=query)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"


def test_only_displays_and_managers_may_fetch_announcements(server):
    for role, status in (("kiosk", 403), ("counter:1", 403), ("booking", 403), (None, 401)):
        client = server.client(role)
        assert client.get("/voice/call.wav?number=A023&counter=3").status_code == status
        assert client.get("/voice/chime.wav").status_code == status


def test_a_chinese_only_branch_gets_only_the_chinese_sentence(tmp_path, clock):
    config = {**TEST_CONFIG, "branch": {**TEST_CONFIG["branch"], "languages": ["zh"]}}
    tokens = make_db(tmp_path / "branch.db", config)
    live = LiveServer(tmp_path / "branch.db", tokens, clock).start()
    try:
        r = live.client("display").get("/voice/call.wav?number=C005&counter=2")
        assert r.status_code == 200, r.text
        assert r.content == compose_call("C005", 2, ["zh"])
        params, _ = read_wav(r.content)
        assert params.nframes == expected_frames(call_sequence("C005", 2, ["zh"]), 16000)
    finally:
        live.stop()


def test_a_broken_pack_is_a_clear_503(server, tmp_path):
    shutil.copytree(DEFAULT_PACK_DIR, tmp_path / "voice")
    (tmp_path / "voice" / "en" / "please_go_to_counter.wav").unlink()
    server.app.state.voice_pack_dir = tmp_path / "voice"
    r = server.client("display").get("/voice/call.wav?number=A023&counter=3")
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "voice_pack_incomplete"
    assert "en/please_go_to_counter.wav" in r.json()["error"]["message"]


# --- generating the packs ----------------------------------------------------------------


def test_the_chime_is_synthesised_without_a_speech_engine(tmp_path):
    from queue_server.voice_generate import generate

    assert generate(["zh"], tmp_path, names=[CHIME]) == [tmp_path / "chime.wav"]
    with wave.open(str(tmp_path / "chime.wav"), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        assert 0.8 < w.getnframes() / 16000 < 2.0


@pytest.mark.skipif(not HAS_ESPEAK, reason="espeakng-loader is not installed")
def test_the_generator_speaks_a_clip_into_a_pack(tmp_path, capsys):
    args = ["voice", "generate", "--language", "zh", "--out", str(tmp_path), "--clip", "qing"]
    assert main(args) == 0
    assert "wrote 1 clips" in capsys.readouterr().out
    pack = ClipPack(tmp_path)
    frames = pack.frames("zh/qing")
    assert pack.rate == 16000
    seconds = len(frames) / 2 / 16000
    assert 0.15 < seconds < 1.5
    samples = memoryview(frames).cast("h")
    assert max(abs(s) for s in samples) > 0.5 * 32768  # normalised speech, not silence
    assert abs(samples[0]) < 500 and abs(samples[-1]) < 500  # faded: joins do not click
