"""The ``neurocl`` command line (installed as ``neurocl.cli``)."""
