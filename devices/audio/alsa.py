"""alsa:// — a Linux kiosk's speaker, played through ALSA's `aplay` (Debian: alsa-utils).

    alsa://default                       the system's default output
    alsa://plughw:1,0?timeout=3          card 1, device 0; give up 3 s past the clip's length
    alsa://default?player=/usr/bin/aplay the player program (default: `aplay` on the PATH)

Use `plughw:` rather than `hw:`: the clips are 16 kHz mono and `plughw` converts them to
what the card takes. Each utterance runs one `aplay` with the PCM on its stdin, killed if it
is still running `timeout` seconds (default 5) after the audio should have ended, so a
stuck sound card never holds the queue. Health: a device or player that is not there is
`offline`; anything else that stops it playing is `error`.
"""

from __future__ import annotations

import shutil
import subprocess

from devices.audio.player import DEFAULT_VOLUME, QueuedPlayer, Utterance
from devices.errors import DeviceError, DeviceTimeout, DeviceUnavailable
from devices.url import DeviceURL

# What aplay says when the device it was given does not exist or cannot be opened.
_NO_DEVICE = ("audio open error", "unknown pcm", "cannot find card", "no such file")


class AlsaSpeaker(QueuedPlayer):
    def __init__(
        self,
        device: str = "default",
        *,
        volume: int = DEFAULT_VOLUME,
        timeout_s: float = 5.0,
        player: str = "aplay",
        url: str = "",
    ) -> None:
        super().__init__(volume=volume)
        if not device:
            raise ValueError("alsa:// needs a device name, e.g. alsa://default")
        if timeout_s <= 0:
            raise ValueError(f"{url}: timeout must be more than 0")
        self.device = device
        self.timeout_s = timeout_s
        self.player = player
        self.url = url or f"alsa://{device}"
        self._child: subprocess.Popen[bytes] | None = None

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop what is playing now too: the kiosk is going away."""
        self._closed = True
        self.drop_pending()
        child = self._child
        if child is not None and child.poll() is None:
            child.kill()
        super().close(timeout_s)

    def _output(self, pcm: bytes, rate: int, utterance: Utterance) -> None:
        program = shutil.which(self.player)
        if program is None:
            raise DeviceUnavailable(f"{self.player} not found (install alsa-utils)")
        command = [program, "-q", "-D", self.device, "-t", "raw", "-f", "S16_LE"]
        command += ["-c", "1", "-r", str(rate), "-"]
        seconds = len(pcm) / (2 * rate)
        try:
            child = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as exc:
            raise DeviceUnavailable(f"{self.player} could not start: {exc}") from None
        self._child = child
        if self._closed:  # close() ran while this started: it may not have seen the child
            child.kill()
        try:
            _, stderr = child.communicate(pcm, timeout=seconds + self.timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise DeviceTimeout(
                f"{self.device}: still playing {self.timeout_s:g} s after the end; stopped"
            ) from None
        finally:
            self._child = None
        if self._closed:
            return  # killed by close(): not a device fault
        done = subprocess.CompletedProcess(command, child.returncode, b"", stderr)
        if done.returncode != 0:
            said = done.stderr.decode(errors="replace").strip().splitlines()
            last = said[-1] if said else f"exit {done.returncode}"
            if any(sign in last.lower() for sign in _NO_DEVICE):
                raise DeviceUnavailable(f"{self.device}: {last}")
            raise DeviceError(f"{self.device}: {last}")


def open_alsa(url: DeviceURL, volume: int) -> AlsaSpeaker:
    return AlsaSpeaker(
        url.target or "default",
        volume=volume,
        timeout_s=url.float_option("timeout", 5.0),
        player=url.option("player", "aplay"),
        url=str(url),
    )
