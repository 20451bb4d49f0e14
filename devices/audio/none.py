"""none:// — no speaker: the kiosk stays silent (the default when no audio is configured).

none://
"""

from __future__ import annotations

from devices.audio.player import DEFAULT_VOLUME, QueuedPlayer, Utterance
from devices.url import DeviceURL


class NoSpeaker(QueuedPlayer):
    configured = False

    def __init__(self, *, volume: int = DEFAULT_VOLUME) -> None:
        super().__init__(volume=volume)
        self.url = "none://"

    def play(self, utterance: Utterance) -> bool:
        return False  # no worker thread, nothing queued

    def _output(self, pcm: bytes, rate: int, utterance: Utterance) -> None:
        """Never reached: nothing is queued."""


def open_none(url: DeviceURL, volume: int) -> NoSpeaker:
    return NoSpeaker(volume=volume)
