"""neurocl.io."""
