"""The branch's opening hours by day of the week, as the head office sets them.

Local times in the branch's time zone. A day the centre lists with no hours is closed; a
day it does not list (or a branch that never got hours) has no branch-wide limit, only the
businesses' own hours, as before the centre managed hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Per listed day: (opens, closes), or None when the branch is closed that day."""

    days: tuple[tuple[str, tuple[time, time] | None], ...] = ()

    def on(self, day: date) -> tuple[bool, tuple[time, time] | None]:
        """(listed, hours) for a local calendar day: unlisted means no branch-wide limit."""
        name = DAYS[day.weekday()]
        for listed, hours in self.days:
            if listed == name:
                return True, hours
        return False, None

    def open_at(self, local: datetime) -> bool:
        listed, hours = self.on(local.date())
        return not listed or (hours is not None and hours[0] <= local.time() < hours[1])

    def narrow(
        self, day: date, hours: tuple[time | None, time | None]
    ) -> tuple[time | None, time | None] | None:
        """`hours` (a business's, an open end: no limit) cut to the branch's on `day`.

        None when nothing is left: the branch is closed that day, or the two do not overlap.
        """
        listed, branch = self.on(day)
        if not listed:
            return hours
        if branch is None:
            return None
        opens = branch[0] if hours[0] is None else max(hours[0], branch[0])
        closes = branch[1] if hours[1] is None else min(hours[1], branch[1])
        return (opens, closes) if opens < closes else None

    def to_wire(self) -> dict[str, list[str]]:
        return {
            day: [] if h is None else [h[0].strftime("%H:%M"), h[1].strftime("%H:%M")]
            for day, h in self.days
        }

    @classmethod
    def from_wire(cls, raw: Any) -> OpeningHours:
        """From `{"mon": ["09:00", "17:00"], "sat": [], …}`; ValueError names what is wrong."""
        if not isinstance(raw, Mapping):
            raise ValueError('opening_hours is an object like {"mon": ["09:00", "17:00"]}')
        days: list[tuple[str, tuple[time, time] | None]] = []
        for day in DAYS:
            if day not in raw:
                continue
            value = raw[day]
            if value == []:
                days.append((day, None))
                continue
            if not (
                isinstance(value, list)
                and len(value) == 2
                and all(isinstance(v, str) and len(v) == 5 and v[2] == ":" for v in value)
            ):
                raise ValueError(f'opening_hours.{day}: ["HH:MM", "HH:MM"], or [] when closed')
            try:
                opens, closes = time.fromisoformat(value[0]), time.fromisoformat(value[1])
            except ValueError:
                raise ValueError(f"opening_hours.{day}: {value} are not times of day") from None
            if opens >= closes:
                raise ValueError(f"opening_hours.{day}: it must open before it closes")
            days.append((day, (opens, closes)))
        unknown = sorted(str(k) for k in raw if k not in DAYS)
        if unknown:
            days_named = ", ".join(DAYS)
            raise ValueError(f"opening_hours: {', '.join(unknown)} is not a day ({days_named})")
        return cls(tuple(days))
