"""The encoder registry: ``--encoder gin`` names a class registered here."""

from __future__ import annotations

from typing import Any

from neurocl._core.registry import Registry

#: encoder name -> class (filled by the encoder modules of :mod:`neurocl.models`)
ENCODERS: Registry[Any] = Registry("encoder")


def build_encoder(name: str, n_nodes: int, **params: Any) -> Any:
    """Build the encoder registered as ``name`` for graphs of ``n_nodes`` nodes.

    Parameters
    ----------
    name : str
        A registered encoder (see ``neurocl list encoders``).
    n_nodes : int
        Number of nodes of every graph (the atlas size).
    **params
        Keyword arguments of the encoder class (``hidden``, ``layers``, ``sparsify``...).

    Returns
    -------
    BrainGraphEncoder
    """
    import neurocl.models  # noqa: F401  (registers every encoder)

    return ENCODERS.get(name)(n_nodes=n_nodes, **params)
