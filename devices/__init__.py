"""Device drivers and their simulators, one package per device kind.

Shared here: typed errors (`errors`), device URLs (`url`), the serial line every RS-485
and serial device uses (`serialport`), and simulator transports (`sim`).
"""
