"""neurocl.evaluate."""
