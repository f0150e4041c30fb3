"""The package's version, in a module of its own so that any module can name it without importing the package's
face (``dedup/__init__.py``) above it; pyproject.toml reads it from here."""

__version__ = "0.2.0"
