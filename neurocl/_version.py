"""The neurocl version."""

__version__ = "0.1.0.dev0"
