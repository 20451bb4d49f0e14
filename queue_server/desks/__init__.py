"""The server's use cases, one home each: a desk takes a request in the branch's words, runs
it through the engine (the command bus) and storage, and returns domain values. Routes call
desks; desks never know about HTTP."""
