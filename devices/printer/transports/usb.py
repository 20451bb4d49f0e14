"""USB printers spoken to directly through pyusb and libusb.

URL: `escpos+usb://VID:PID[?interface=0&timeout=S]`

* VID and PID are the vendor and product ids in hex, as `lsusb` prints them:
  `escpos+usb://04b8:0e28` (an Epson TM-T20), `escpos+usb://0416:5011` (many Chinese
  80 mm printers).
* `interface` (default 0): the USB interface with the printer's bulk endpoints.
* `timeout` (seconds, default 5): the longest one job may wait for the printer.

Needs pyusb and the libusb-1.0 library (`apt-get install libusb-1.0-0`); both are only
looked for when a USB printer is opened, so the package imports on machines without them.
On Linux the usblp kernel driver is detached from the interface first, and the user needs
access to the device node (a udev rule, or use `escpos+file:///dev/usb/lp0` instead).
The bulk endpoints are found from the interface descriptor, not assumed.
"""

from __future__ import annotations

import contextlib
from typing import Any

from devices.errors import DeviceTimeout, DeviceUnavailable, MissingDependency
from devices.url import DeviceURL


def _usb() -> tuple[Any, Any]:
    try:
        import usb.core
        import usb.util
    except ImportError as exc:
        raise MissingDependency(
            "USB printers need pyusb: pip install pyusb (and apt-get install libusb-1.0-0)"
        ) from exc
    return usb.core, usb.util


class UsbTransport:
    def __init__(
        self, vendor_id: int, product_id: int, *, interface: int = 0, timeout_s: float = 5.0
    ) -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.interface = interface
        self.timeout_s = timeout_s
        self.description = f"USB {vendor_id:04x}:{product_id:04x}"
        self.can_read = True
        self._device: Any = None
        self._ep_out: Any = None
        self._ep_in: Any = None

    def open(self) -> None:
        if self._device is not None:
            return
        core, util = _usb()
        try:
            device = core.find(idVendor=self.vendor_id, idProduct=self.product_id)
        except core.NoBackendError as exc:
            raise MissingDependency(
                "USB printers need the libusb-1.0 library: apt-get install libusb-1.0-0 "
                "(on Windows, install a WinUSB driver with Zadig or use escpos+win32://)"
            ) from exc
        if device is None:
            raise DeviceUnavailable(f"no USB printer {self.description} is plugged in")
        try:
            with contextlib.suppress(NotImplementedError):  # not on Windows/macOS
                if device.is_kernel_driver_active(self.interface):
                    device.detach_kernel_driver(self.interface)
            try:
                config = device.get_active_configuration()
            except core.USBError:
                device.set_configuration()
                config = device.get_active_configuration()
            intf = config[(self.interface, 0)]

            def endpoint(direction: int) -> Any:
                return util.find_descriptor(
                    intf,
                    custom_match=lambda e: (
                        util.endpoint_direction(e.bEndpointAddress) == direction
                        and util.endpoint_type(e.bmAttributes) == util.ENDPOINT_TYPE_BULK
                    ),
                )

            self._ep_out = endpoint(util.ENDPOINT_OUT)
            self._ep_in = endpoint(util.ENDPOINT_IN)
        except (core.USBError, KeyError, IndexError) as exc:
            util.dispose_resources(device)
            raise DeviceUnavailable(f"cannot use {self.description}: {exc}") from exc
        if self._ep_out is None:
            util.dispose_resources(device)
            raise DeviceUnavailable(f"{self.description} has no bulk OUT endpoint")
        self.can_read = self._ep_in is not None
        self._device = device

    def _lost(self, exc: Exception) -> DeviceUnavailable:
        self.close()
        return DeviceUnavailable(f"{self.description} lost: {exc}")

    def write(self, data: bytes, timeout_s: float | None = None) -> None:
        limit = self.timeout_s if timeout_s is None else timeout_s
        self.open()
        core, _ = _usb()
        try:
            written = self._ep_out.write(data, timeout=max(1, int(limit * 1000)))
        except core.USBTimeoutError as exc:
            raise DeviceTimeout(
                f"{self.description}: printer did not take the data within {limit:g} s"
            ) from exc
        except core.USBError as exc:
            raise self._lost(exc) from exc
        if written != len(data):
            raise DeviceTimeout(f"{self.description}: only {written} of {len(data)} bytes sent")

    def read(self, size: int, timeout_s: float) -> bytes:
        self.open()
        if self._ep_in is None:
            return b""
        core, _ = _usb()
        try:
            # A full packet is requested: asking for less than the endpoint's packet size
            # makes libusb report an overflow when the printer sends more.
            data = self._ep_in.read(
                max(size, self._ep_in.wMaxPacketSize), timeout=max(1, int(timeout_s * 1000))
            )
        except core.USBTimeoutError:
            return b""
        except core.USBError as exc:
            raise self._lost(exc) from exc
        return bytes(data)[:size]

    def close(self) -> None:
        if self._device is not None:
            _, util = _usb()
            with contextlib.suppress(Exception):  # the device may already be gone
                util.dispose_resources(self._device)
        self._device = self._ep_out = self._ep_in = None


def _hex_id(text: str, url: DeviceURL) -> int:
    try:
        value = int(text, 16)
    except ValueError:
        raise ValueError(f"{url}: {text!r} is not a hex USB id (expected VID:PID)") from None
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{url}: USB id {text!r} out of range")
    return value


def open_usb(url: DeviceURL) -> UsbTransport:
    vid, sep, pid = url.target.strip("/").partition(":")
    if not sep:
        raise ValueError(f"{url}: expected escpos+usb://VID:PID, e.g. escpos+usb://04b8:0e28")
    transport = UsbTransport(
        _hex_id(vid, url),
        _hex_id(pid, url),
        interface=url.int_option("interface", 0),
        timeout_s=url.float_option("timeout", 5.0),
    )
    transport.open()
    return transport
