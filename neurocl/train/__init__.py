"""neurocl.train."""
