"""labgen: generate, run, break and verify a Jenkins high-availability lab."""

__version__ = "0.1.0"
