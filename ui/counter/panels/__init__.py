"""The counter window's panels, one module each: each renders what it is given (a view, a
mapping) and exposes its buttons and fields; the window wires them to the session."""
