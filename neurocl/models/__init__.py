"""neurocl.models."""
