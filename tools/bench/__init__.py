"""Benchmarks behind `branchq bench …`: each prints its figures next to a same-run baseline."""
