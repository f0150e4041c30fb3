"""Build step for dedup's compiled kernels: every ``dedup/kernels/_*.pyx`` becomes an extension module,
compiled by Cython and the machine's C compiler at install time (``pip install -e .`` does it, no extra step).

Each extension is optional: where it cannot be built (no C compiler, no Python headers) the install goes on
without it, and the kernels' numpy code runs instead (``dedup.kernels.native``), giving the same bits.
Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import Extension, setup


def _extensions() -> list[Extension]:
    sources = sorted(Path("dedup/kernels").glob("_*.pyx"))
    if not sources:
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:  # no Cython in the build environment: the numpy fallback
        return []
    modules = [
        Extension(
            "dedup.kernels." + path.stem,
            [str(path)],
            extra_compile_args=["-O3"],
            optional=True,
        )
        for path in sources
    ]
    built = cythonize(modules, language_level=3, compiler_directives={"boundscheck": False, "wraparound": False})
    for ext in built:  # cythonize makes new Extension objects: keep them optional
        ext.optional = True
    return built


setup(ext_modules=_extensions())
