"""Device URLs: `scheme://target?option=value`, one scheme per backend module.

Examples: `escpos+tcp://10.0.0.5:9100`, `sdt+serial:///dev/ttyUSB0?baud=115200`,
`camera://0`, `file://tests/data/qr.avi`, `sim://`. A serial target is itself a pyserial
URL or device path, so `loop://`, `socket://host:port` and `rfc2217://host:port` work too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class DeviceURL:
    scheme: str
    target: str  # everything between :// and ?
    options: dict[str, str] = field(default_factory=dict)

    def option(self, name: str, default: str) -> str:
        return self.options.get(name, default)

    def int_option(self, name: str, default: int) -> int:
        value = self.options.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"option {name}={value!r} must be a whole number") from None

    def float_option(self, name: str, default: float) -> float:
        value = self.options.get(name)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"option {name}={value!r} must be a number") from None

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.options.items())
        return f"{self.scheme}://{self.target}" + (f"?{query}" if query else "")


def parse_device_url(url: str) -> DeviceURL:
    """Split a device URL; raises ValueError with a readable message when malformed."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise ValueError(f"not a device URL: {url!r} (expected scheme://target)")
    target, _, query = rest.partition("?")
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise ValueError(f"bad options in device URL {url!r}") from None
    return DeviceURL(scheme.lower(), target, options)


def serial_target(url: DeviceURL) -> str:
    """The pyserial URL or device path a serial backend opens.

    `x+serial:///dev/ttyUSB0` → `/dev/ttyUSB0`; `x+serial://socket://host:1234` →
    `socket://host:1234`; `x+serial://loop://` → `loop://`.
    """
    target = url.target
    if "://" in target or target.startswith("/"):
        return target
    if target.startswith("COM") or target.startswith("com"):
        return target
    return "/" + target if target else target
