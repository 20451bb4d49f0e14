"""Typed device errors: callers degrade on these instead of hanging or crashing."""

from __future__ import annotations


class DeviceError(Exception):
    """Anything a device did wrong or could not do."""


class DeviceFault(DeviceError):
    """The device or the line to it failed: this belongs in the branch's device health.

    Its opposite is a problem with what the device was handed (a card it cannot read, a
    code it cannot decode): the customer is told, and the device is still healthy.
    """


class DeviceUnavailable(DeviceFault):
    """Not connected, unplugged, or the port cannot be opened (it will be retried)."""


class DeviceTimeout(DeviceFault):
    """The device did not answer in time."""


class ProtocolError(DeviceError):
    """The device answered with bytes that are not a valid reply."""


class MissingDependency(DeviceError):
    """An optional library or system package this backend needs is not installed."""
