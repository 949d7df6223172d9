"""Benchmarks: scripts that print tables, run by hand; not tests (pytest collects none of them)."""
