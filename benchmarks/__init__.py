"""Benchmarks: scripts run by ``make bench``, not timed tests; results go to ``docs/benchmarks.md``."""
