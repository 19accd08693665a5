"""neurocl.data."""
