"""The branch-day simulator: scenarios, arrivals, the event-driven simulation, metrics,
bounds and staffing plans, all on the production policy code. The benches use it, and so
does the server when it picks tomorrow's calling policy."""
