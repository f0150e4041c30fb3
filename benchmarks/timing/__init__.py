"""Speed and memory: the scan, the readers, the index, the server, the output, Ray.

The top layer: may import ``benchmarks.corpora`` and ``benchmarks.scoring``; nothing imports it.
"""
