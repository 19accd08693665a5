"""neurocl.ssl."""
