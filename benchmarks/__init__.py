"""dedup's benchmarks, in three layers that import downward only: ``corpora`` ← ``scoring`` ← ``timing``.

``corpora`` writes the generated corpora (and their truth), ``scoring`` scans them and scores the result
against the truth, ``timing`` measures speed and memory. The index of every benchmark is benchmarks/README.md.
"""
