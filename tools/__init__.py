"""Developer tooling around the product: benches, drills, soak, screenshots, the demo,
fuzzing and the branch-day simulator. Nothing in the product imports it."""
