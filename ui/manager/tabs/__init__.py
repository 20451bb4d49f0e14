"""The manager console's tabs, one module each; each renders what it is given and sends its
requests through the `ConsoleActions` it was built with (the window only arranges them)."""
