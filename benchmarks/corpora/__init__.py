"""Generated corpora and their ground truth, built from the real article bodies in ``benchmarks/data/aeb``.

The bottom layer: imports nothing from ``benchmarks.scoring`` or ``benchmarks.timing``.
"""
