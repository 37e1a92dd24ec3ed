"""Benchmarks that print a ratio against a baseline run in the same process."""
