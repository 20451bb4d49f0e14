"""Shared machinery for device simulators: a pty device and a TCP device on loopback."""

from devices.sim.base import PtyDevice, TcpDevice

__all__ = ["PtyDevice", "TcpDevice"]
