# cython: language_level=3
# The hash mixing every compiled kernel shares (cimported by _read.pyx and _match.pyx; inline, so nothing of it
# is a module at run time): exactly dedup.hashing's, wrap-around uint64 arithmetic.

from libc.stdint cimport uint64_t

cdef extern from *:
    """
    #define DEDUP_GOLDEN 0x9E3779B97F4A7C15ULL
    """
    const uint64_t GOLDEN "DEDUP_GOLDEN"  # hashing.GOLDEN (a C constant: a .pxd cannot hold a module variable)


cdef inline uint64_t mix64(uint64_t z) noexcept nogil:
    """hashing.mix64 (SplitMix64's finaliser)."""
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)
