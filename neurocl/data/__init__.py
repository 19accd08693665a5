"""neurocl.data."""

from typing import Any


def __getattr__(name: str) -> Any:
    # to_pyg needs torch: imported on first use so that ``neurocl --help`` stays fast
    if name == "to_pyg":
        from neurocl.data.pyg import to_pyg

        return to_pyg
    raise AttributeError(f"module 'neurocl.data' has no attribute {name!r}")
