"""The framework's version (ground floor: imports nothing), read by the face and by file writers."""

__version__ = "0.1.0"
