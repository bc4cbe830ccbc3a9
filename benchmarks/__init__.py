"""Benchmarks: `python -m benchmarks NAME` (see docs/benchmarks.md). Never imported by `reader`."""
