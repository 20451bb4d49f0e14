"""The customer touchscreen kiosk (PySide6)."""
