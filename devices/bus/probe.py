"""Field diagnostics for an RS-485 line: who answers at which address, and board set-up.

`probe(url)` polls each address once (framed poll, then a Modbus register read for board
addresses) with a short reply timeout and reports what answered. `configure_digit_board`
sets a Modbus digit board's address, baud rate or decimal point. Both open the line
themselves, so stop whatever else uses it (the bus hub) first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from devices.bus import frames, modbus, plan
from devices.bus.bus import parse_bus_url
from devices.bus.link import BusLink
from devices.errors import DeviceError, DeviceTimeout, DeviceUnavailable
from devices.serialport import SerialLine

PROBE_TIMEOUT_S = 0.05  # a poll reply takes ~10 ms at 9600 baud; silence costs this much
DEFAULT_COUNTERS = 20


def _open(url: str, reply_timeout_s: float) -> tuple[SerialLine, BusLink]:
    settings = parse_bus_url(url)
    line = SerialLine(settings.port, baudrate=settings.baud, timeout_s=reply_timeout_s)
    line.open()
    return line, BusLink(line, reply_timeout_s=reply_timeout_s, echo=settings.echo)


def _role(address: int) -> str:
    where = plan.counter_of(address)
    return f"counter {where[0]} {where[1]} by the address plan" if where else "not a plan address"


def probe(
    url: str,
    addresses: Iterable[int] | None = None,
    *,
    reply_timeout_s: float = PROBE_TIMEOUT_S,
) -> str:
    """A readable report of every device that answers on the line at `url`.

    By default scans the address plan for counters 1..20 (60 addresses, at most ~4 s when
    nothing answers); pass `addresses=range(1, 248)` for a full scan (~20 s). Modbus digit
    boards are looked for at board addresses (1..99) only.
    """
    scan = list(addresses) if addresses is not None else plan.plan_addresses(DEFAULT_COUNTERS)
    try:
        settings = parse_bus_url(url)
        line, link = _open(url, reply_timeout_s)
    except (ValueError, DeviceUnavailable) as exc:
        return f"{url}: {exc}"
    started = time.monotonic()
    found: list[str] = []
    damaged: list[int] = []
    try:
        for address in scan:
            line_text = _probe_address(link, address, damaged)
            if line_text:
                found.append(line_text)
    except DeviceUnavailable as exc:
        return f"{url}: the line was lost during the scan: {exc}"
    finally:
        line.close()
    took = time.monotonic() - started
    head = (
        f"Probe of {url} at {settings.baud} baud: {len(scan)} addresses in {took:.1f} s, "
        f"{len(found)} answered."
    )
    out = [head, *found]
    if damaged:
        out.append(
            "Damaged replies (noise, wrong baud or a missing terminator) at: "
            + ", ".join(map(str, damaged))
        )
    if not found:
        out.append(
            "Nothing answered. Check the devices have power, the baud rate (?baud=), that "
            "A and B are not swapped, and the 120 Ω terminators at both ends of the line."
        )
    return "\n".join(out)


def _probe_address(link: BusLink, address: int, damaged: list[int]) -> str:
    try:
        reply = frames.parse_reply(link.exchange_framed(frames.poll(address)))
    except DeviceTimeout:
        pass
    except DeviceUnavailable:
        raise
    except DeviceError:
        damaged.append(address)
    else:
        notes = []
        if reply.fresh:
            notes.append("just powered on")
        if reply.command is frames.Command.KEY_PRESSED:
            notes.append("has unread keys")
        note = f" ({', '.join(notes)})" if notes else ""
        kind = frames.kind_label(reply.kind)
        return f"  {address:3d}  {kind:<22} {_role(address)}{note}"
    if address > 99:
        return ""
    try:
        adu = link.exchange_modbus(modbus.read_registers(address, modbus.REG_VALUE))
    except DeviceTimeout:
        return ""
    except DeviceUnavailable:
        raise
    except DeviceError:
        damaged.append(address)
        return ""
    if adu.is_exception:
        detail = f"no register read: exception {adu.exception_code}"
    else:
        detail = f"value register = {modbus.read_values(adu)[0]}"
    return f"  {address:3d}  {'Modbus digit board':<22} {_role(address)} ({detail})"


def configure_digit_board(
    url: str,
    address: int,
    *,
    new_address: int | None = None,
    baud: int | None = None,
    decimal_point: int | None = None,
) -> str:
    """Commission a Modbus digit board; returns what was done. Raises DeviceError.

    The baud rate is changed last because the board answers that write at the old speed
    and listens at the new one afterwards (power-cycle it if the manual says so).
    """
    line, link = _open(url, 0.5)
    done = []
    try:
        if decimal_point is not None:
            request = modbus.set_decimal_point(address, decimal_point)
            modbus.check_reply(request, link.exchange_modbus(request))
            done.append(f"decimal point {decimal_point}")
        if new_address is not None:
            request = modbus.set_address(address, new_address)
            modbus.check_reply(request, link.exchange_modbus(request))
            done.append(f"address {address} → {new_address}")
            address = new_address
        if baud is not None:
            request = modbus.set_baud(address, baud)
            modbus.check_reply(request, link.exchange_modbus(request))
            done.append(f"baud {baud} (index {modbus.BAUD_INDEX[baud]})")
    finally:
        line.close()
    return "digit board: " + (", ".join(done) if done else "nothing to change")
