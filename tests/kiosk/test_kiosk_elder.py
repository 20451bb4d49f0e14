"""Senior mode (长辈模式) as a customer uses it, on a live server with a simulated printer,
ID card reader and speaker: one tap from the attract screen, a huge tile, a printed ticket,
and the spoken prompts — in order — until the ID card is lifted."""

from __future__ import annotations

from kiosk_fixtures import LEFT, WAIT_MS, with_devices
from PySide6.QtWidgets import QApplication

from devices.audio import audio_for_url
from devices.audio.sim import SimulatedSpeaker
from kiosk.flow import PrintState, Screen
from ui import theme

CHOOSE = ("zh/choose_business",)
TAKE_CARD = ("zh/take_id_card",)


def number_said(number: str) -> tuple[str, ...]:
    return ("zh/your_number_is", *(f"zh/{c}" for c in number), "zh/take_ticket")


def enter_senior_mode(qtbot, window) -> None:
    assert window.flow.screen is Screen.ATTRACT
    qtbot.mouseClick(window.attract.elder, LEFT)
    assert window.flow.screen is Screen.ELDER_HOME and window.flow.elder
    assert window.stack.currentWidget() is window.elder_home


def test_a_senior_gets_a_printed_ticket_in_two_taps_and_hears_each_step(
    qtbot, make_kiosk, server, printer, speaker: SimulatedSpeaker
):
    window = make_kiosk(server.base_url, server.tokens["kiosk"], audio=speaker, home_s=5)
    enter_senior_mode(qtbot, window)
    assert theme.is_large_text(QApplication.instance())  # large, high-contrast text
    assert window.flow.idle_limit() == 10  # slower: twice the home screen's 5 s
    assert list(window.elder_home.tiles) == ["A", "B", "C"]  # the branch's own order
    assert window.elder_home.tiles["A"].subtitle_label.text() == "0 人等候"
    qtbot.waitUntil(lambda: speaker.clips() == [CHOOSE], timeout=WAIT_MS)

    qtbot.mouseClick(window.elder_home.tiles["A"], LEFT)  # no guidance screen in between
    qtbot.waitUntil(lambda: window.flow.screen is Screen.TICKET, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.flow.ticket.print_state is PrintState.PRINTED, timeout=WAIT_MS)
    assert printer.wait_for_tickets(1, timeout=5)
    ticket = window.flow.ticket
    assert ticket.number == "A001" == window.ticket.number.text()
    on_server = server.client("manager").get(f"/tickets/{ticket.id}").json()
    assert (on_server["number"], on_server["service"]) == ("A001", "A")

    qtbot.waitUntil(lambda: len(speaker.clips()) == 2, timeout=WAIT_MS)
    assert speaker.clips() == [CHOOSE, number_said("A001")]
    assert not window.ticket.card_reminder.isVisible()  # no card, no ID-card reminder
    # Every utterance came at the kiosk's volume and was real sound.
    assert all(p.volume == 80 and any(p.pcm) for p in speaker.played if p.clips != ("(check)",))


def test_the_id_card_reminder_is_shown_and_spoken_until_the_card_is_lifted(
    qtbot, make_kiosk, server, reader, devices, speaker: SimulatedSpeaker
):
    peripherals = with_devices(devices, idcard=f"{reader.url}?poll=0.05")
    window = make_kiosk(
        server.base_url,
        server.tokens["kiosk"],
        peripherals=peripherals,
        audio=speaker,
        voice_reminder_s=0.2,
        ticket_s=1.0,
    )
    peripherals.start()
    enter_senior_mode(qtbot, window)
    reader.place("adult")
    qtbot.waitUntil(lambda: window.flow.identified is not None, timeout=WAIT_MS)
    assert window.flow.screen is Screen.ELDER_HOME  # the card keeps them where they are
    assert "测*二" in window.elder_home.customer.message_label.text()

    qtbot.mouseClick(window.elder_home.tiles["B"], LEFT)
    qtbot.waitUntil(lambda: window.flow.screen is Screen.TICKET, timeout=WAIT_MS)
    assert window.ticket.card_reminder.isVisible()
    # The reminder comes again and again, and the screen stays, while the card lies there.
    qtbot.waitUntil(lambda: speaker.clips().count(TAKE_CARD) >= 3, timeout=WAIT_MS)
    said = speaker.clips()
    assert said[:3] == [CHOOSE, number_said("B001"), TAKE_CARD]
    assert set(said[3:]) == {TAKE_CARD}
    assert window.flow.screen is Screen.TICKET and window.ticket.card_reminder.isVisible()

    # "Done" with the card still there: not gone, reminded at once.
    before = len(speaker.clips())
    qtbot.mouseClick(window.ticket.finish, LEFT)
    assert window.flow.screen is Screen.TICKET
    qtbot.waitUntil(lambda: len(speaker.clips()) > before, timeout=WAIT_MS)

    reader.lift()
    qtbot.waitUntil(lambda: not window.ticket.card_reminder.isVisible(), timeout=WAIT_MS)
    reminders = speaker.clips().count(TAKE_CARD)
    # The ticket screen now counts down again (2 × 1 s in senior mode, ten reminder
    # intervals): once it is back at the attract screen, no reminder came after the lift.
    qtbot.waitUntil(lambda: window.flow.screen is Screen.ATTRACT, timeout=WAIT_MS)
    assert speaker.clips().count(TAKE_CARD) == reminders
    assert not window.flow.elder and not theme.is_large_text(QApplication.instance())


def test_other_businesses_keep_senior_mode_and_back_returns_to_the_big_tiles(
    qtbot, make_kiosk, server, speaker: SimulatedSpeaker
):
    window = make_kiosk(
        server.base_url, server.tokens["kiosk"], audio=speaker, elder_services=["C", "A", "Z"]
    )
    enter_senior_mode(qtbot, window)
    assert list(window.elder_home.tiles) == ["C", "A"]  # this kiosk's choice; Z is not offered
    qtbot.mouseClick(window.elder_home.others, LEFT)
    assert window.flow.screen is Screen.HOME and window.flow.elder
    qtbot.mouseClick(window.home.back, LEFT)
    assert window.flow.screen is Screen.ELDER_HOME
    qtbot.waitUntil(lambda: speaker.clips() == [CHOOSE, CHOOSE], timeout=WAIT_MS)
    qtbot.mouseClick(window.elder_home.back, LEFT)
    assert window.flow.screen is Screen.ATTRACT and not window.flow.elder


def test_a_normal_customer_hears_only_the_id_card_reminder(
    qtbot, make_kiosk, server, reader, devices, speaker: SimulatedSpeaker
):
    peripherals = with_devices(devices, idcard=f"{reader.url}?poll=0.05")
    window = make_kiosk(
        server.base_url, server.tokens["kiosk"], peripherals=peripherals, audio=speaker
    )
    peripherals.start()
    reader.place("adult")  # on the attract screen: to the normal menu
    qtbot.waitUntil(lambda: window.flow.identified is not None, timeout=WAIT_MS)
    qtbot.mouseClick(window.home.tiles["A"], LEFT)
    qtbot.mouseClick(window.guidance.take, LEFT)
    qtbot.waitUntil(lambda: speaker.clips() == [TAKE_CARD], timeout=WAIT_MS)
    assert not window.flow.elder


def test_maintenance_sets_the_volume_plays_a_test_sound_and_reports_the_speaker(
    qtbot, make_kiosk, server, speaker: SimulatedSpeaker
):
    window = make_kiosk(
        server.base_url, server.tokens["kiosk"], audio=speaker, maintenance_pin="2468"
    )
    window.flow.maintenance_gesture()
    window.flow.enter_pin("2468")
    assert window.flow.screen is Screen.MAINTENANCE
    qtbot.waitUntil(
        lambda: (
            ("kiosk.maintenance.audio", "kiosk.maintenance.health.ok", "")
            in window.maintenance.rows()
        ),
        timeout=WAIT_MS,
    )
    assert window.maintenance.volume.text() == "音量：80"
    qtbot.mouseClick(window.maintenance.volume_down, LEFT)
    qtbot.mouseClick(window.maintenance.volume_down, LEFT)
    assert speaker.volume == 60 and window.maintenance.volume.text() == "音量：60"
    qtbot.mouseClick(window.maintenance.sound_button, LEFT)
    qtbot.waitUntil(lambda: ("chime", "zh/choose_business") in speaker.clips(), timeout=WAIT_MS)
    assert speaker.played[-1].volume == 60

    def reported() -> list[tuple[str, str]]:
        found = server.client("manager").get("/devices").json()
        return [(d["kind"], d["health"]) for d in found if d["device"] == "kiosk-7/audio"]

    qtbot.waitUntil(lambda: reported() == [("audio", "ok")], timeout=WAIT_MS)


def test_a_speaker_that_fails_is_shown_to_staff_and_reported_to_the_server(
    qtbot, make_kiosk, server
):
    broken = audio_for_url("sim://?fail=offline")
    try:
        window = make_kiosk(
            server.base_url, server.tokens["kiosk"], audio=broken, maintenance_pin="2468"
        )

        def reported() -> bool:
            found = server.client("manager").get("/devices").json()
            return any(d["device"] == "kiosk-7/audio" and d["health"] == "offline" for d in found)

        qtbot.waitUntil(reported, timeout=WAIT_MS)
        window.flow.maintenance_gesture()
        window.flow.enter_pin("2468")
        part, state, _detail = window.maintenance.rows()[-1]
        assert (part, state) == ("kiosk.maintenance.audio", "kiosk.maintenance.health.offline")
        window.flow.back()  # a customer in senior mode still gets a ticket, silently
        qtbot.mouseClick(window.attract.elder, LEFT)
        qtbot.mouseClick(window.elder_home.tiles["A"], LEFT)
        qtbot.waitUntil(lambda: window.flow.screen is Screen.TICKET, timeout=WAIT_MS)
    finally:
        broken.close()
