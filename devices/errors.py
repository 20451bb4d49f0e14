"""Typed device errors: callers degrade on these instead of hanging or crashing."""

from __future__ import annotations


class DeviceError(Exception):
    """Anything a device did wrong or could not do."""


class DeviceUnavailable(DeviceError):
    """Not connected, unplugged, or the port cannot be opened (it will be retried)."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""


class ProtocolError(DeviceError):
    """The device answered with bytes that are not a valid reply."""


class MissingDependency(DeviceError):
    """An optional library or system package this backend needs is not installed."""
