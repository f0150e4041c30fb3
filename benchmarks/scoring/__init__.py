"""Accuracy: scan a generated corpus and score the result against its truth (one shared ``harness``).

Imports ``benchmarks.corpora`` only, never ``benchmarks.timing``.
"""
