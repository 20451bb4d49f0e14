"""The branch-day simulator of the benches: scenarios, arrivals, the event-driven simulation,
metrics, bounds and staffing plans, all on the production policy and predictor code."""
