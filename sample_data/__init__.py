"""Small real recordings bundled with neurocl (see README.md in this folder)."""

from pathlib import Path


def path() -> Path:
    """Return the folder holding the bundled sample data."""
    return Path(__file__).resolve().parent
