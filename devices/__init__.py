"""Device drivers and their simulators, one package per device kind."""
