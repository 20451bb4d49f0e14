"""The default RS-485 address plan: which address each counter's board, keypad and pad gets.

    counter N's LED board (text or Modbus digits)   address N        (1..99)
    counter N's caller keypad                       address 100 + N  (101..199)
    counter N's rating pad                          address 200 + N  (201..247)

One address space covers both protocols on a line, so a Modbus digit board and a framed
device must never share an address. Rating pads stop at 247 (the Modbus maximum, kept for
both protocols so every address on a shared line is valid for either), which caps a
single plan-addressed line at 47 counters; a branch that large runs two lines anyway.
"""

from __future__ import annotations

from typing import Literal

MAX_COUNTER = 47

Role = Literal["board", "keypad", "rating pad"]


def _check(counter: int) -> int:
    if not 1 <= counter <= MAX_COUNTER:
        raise ValueError(f"counter {counter} is outside 1..{MAX_COUNTER} of the address plan")
    return counter


def board_address(counter: int) -> int:
    return _check(counter)


def keypad_address(counter: int) -> int:
    return 100 + _check(counter)


def rating_pad_address(counter: int) -> int:
    return 200 + _check(counter)


def counter_of(address: int) -> tuple[int, Role] | None:
    """(counter, role) the plan gives `address`, or None when it is not a plan address."""
    if 1 <= address <= 99:
        return address, "board"
    if 101 <= address <= 199:
        return address - 100, "keypad"
    if 201 <= address <= 247:
        return address - 200, "rating pad"
    return None


def plan_addresses(counters: int) -> list[int]:
    """Every address the plan uses for counters 1..`counters` (what `probe` scans)."""
    numbers = range(1, _check(counters) + 1)
    return [*numbers, *(100 + n for n in numbers), *(200 + n for n in numbers)]
