"""Runnable benchmarks (see docs/benchmarks.md)."""
