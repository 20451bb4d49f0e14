"""What the kiosk says aloud, and when: voice prompts decided from the flow (no Qt).

`KioskVoice` watches `KioskFlow` and hands `say(parts)` the clips of each prompt (clip
names of `devices.audio.pack` and pauses); the window turns them into PCM and plays them on
the audio port, off the GUI thread. In senior mode (and for everyone with `VoiceMode.ALWAYS`):

* entering the senior home screen: 请选择业务 (Please choose a service);
* a ticket made: 您的号码是 A 0 0 1 (the number character by character), then 请取走号票
  once it is printed (a printer fault leaves that out: there is no ticket to take).

For every customer, whatever the mode: while their ID card lies on the reader at the ticket
screen, 请取回您的身份证, again every `reminder_every_s` and at once when they tap "done",
until they lift it — a forgotten ID card costs a customer far more than a moment's sound.
`tick()` (the window's timer) drives the repeats. The language is the screen's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum

from devices.audio.pack import LANGUAGES, PACK_CLIPS, Part, Silence, spaced
from kiosk.flow import KioskFlow, PrintState, Screen

# Slower than the hall's announcements: a customer standing at the screen, often elderly.
CHAR_GAP_MS = 120
WORD_GAP_MS = 300
SENTENCE_GAP_MS = 700


class Prompt(StrEnum):
    """The kiosk's own clips in each language's pack."""

    CHOOSE_BUSINESS = "choose_business"  # 请选择业务
    YOUR_NUMBER = "your_number_is"  # 您的号码是
    TAKE_TICKET = "take_ticket"  # 请取走号票
    TAKE_ID_CARD = "take_id_card"  # 请取回您的身份证


class VoiceMode(StrEnum):
    ELDER = "elder"  # prompts in senior mode; the ID-card reminder for everyone
    ALWAYS = "always"  # every prompt for every customer


def spoken_language(language: str) -> str:
    return language if language in LANGUAGES else LANGUAGES[0]


def prompt(language: str, which: Prompt) -> list[Part]:
    return [f"{spoken_language(language)}/{which.value}"]


def ticket_prompt(language: str, number: str, *, printed: bool) -> list[Part]:
    """您的号码是 A 0 0 1 [请取走号票]: characters the pack cannot say are left out."""
    language = spoken_language(language)
    characters = [c for c in number.upper() if c in PACK_CLIPS[language]]
    parts: list[Part] = [*prompt(language, Prompt.YOUR_NUMBER), Silence(WORD_GAP_MS)]
    parts += spaced(language, characters, CHAR_GAP_MS)
    if printed:
        parts += [Silence(SENTENCE_GAP_MS), *prompt(language, Prompt.TAKE_TICKET)]
    return parts


class KioskVoice:
    """Decides the prompts from the flow's changes; `say` plays them (never blocking)."""

    def __init__(
        self,
        flow: KioskFlow,
        say: Callable[[Sequence[Part]], object],
        *,
        language: Callable[[], str] = lambda: "zh",
        mode: VoiceMode = VoiceMode.ELDER,
        reminder_every_s: float = 8.0,
        hush: Callable[[], object] = lambda: None,
    ) -> None:
        self.flow = flow
        self.say = say
        self.language = language
        self.mode = mode
        self.reminder_every_s = reminder_every_s
        self.hush = hush  # drop what is queued: the customer has gone
        self._screen = flow.screen
        self._announced: int | None = None  # the ticket whose number was said
        self._nudges = flow.card_nudges
        self._next_reminder: float | None = None
        flow.subscribe(self._changed)

    @property
    def speaks_all(self) -> bool:
        return self.mode is VoiceMode.ALWAYS or self.flow.elder

    def _changed(self) -> None:
        flow = self.flow
        if flow.screen is not self._screen:
            self._screen = flow.screen
            self._next_reminder = None
            if flow.screen is Screen.ATTRACT:
                self.hush()
                self._announced = None
            elif flow.screen is Screen.ELDER_HOME and self.speaks_all:
                self.say(prompt(self.language(), Prompt.CHOOSE_BUSINESS))
        ticket = flow.ticket
        if (
            flow.screen is Screen.TICKET
            and ticket is not None
            and ticket.print_state is not PrintState.PRINTING
            and ticket.id != self._announced
        ):
            self._announced = ticket.id
            if self.speaks_all:
                printed = ticket.print_state is PrintState.PRINTED
                self.say(ticket_prompt(self.language(), ticket.number, printed=printed))
        reminding = (
            flow.screen is Screen.TICKET
            and flow.card_present
            and ticket is not None
            and ticket.id == self._announced
        )
        if not reminding:
            self._next_reminder = None
        elif self._next_reminder is None or flow.card_nudges != self._nudges:
            self._remind()  # the first time, or "done" tapped with the card still there
        self._nudges = flow.card_nudges

    def tick(self) -> None:
        """About once a second: the ID-card reminder again when it is due."""
        due = self._next_reminder
        if due is not None and self.flow.card_present and self.flow.clock() >= due:
            self._remind()

    def _remind(self) -> None:
        self.say(prompt(self.language(), Prompt.TAKE_ID_CARD))
        self._next_reminder = self.flow.clock() + self.reminder_every_s
