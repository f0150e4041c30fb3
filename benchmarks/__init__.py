"""Benchmarks for dedup: throughput (``python -m benchmarks.throughput``) and accuracy."""
