"""The head-office HTTP service: branch shipping routes (and the console's, merged in)."""
