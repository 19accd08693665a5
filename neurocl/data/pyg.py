"""Conversion of a dataset to PyTorch Geometric ``Data`` objects, for users' own models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from neurocl.data.graphs import NODE_FEATURES, Sparsify

if TYPE_CHECKING:
    from neurocl.data.dataset import FCDataset


def to_pyg(
    dataset: FCDataset,
    *,
    sparsify: str | Sparsify = "none",
    node_features: str = "fc-row",
    label: str | None = None,
    fc: np.ndarray | None = None,
) -> list[Any]:
    """Turn each sample of ``dataset`` into a :class:`torch_geometric.data.Data` graph.

    Parameters
    ----------
    dataset : FCDataset
        An opened dataset (:func:`neurocl.load_dataset`).
    sparsify : str
        Edge rule: ``none`` (all weighted edges), ``topk:DENSITY``, ``knn:K`` or
        ``threshold:CUTOFF``.
    node_features : {"fc-row", "identity", "degree"}
        Node features: the FC row of each node, a one-hot identity, or degree and strength.
    label : str, optional
        A column of ``dataset.subjects`` stored as ``y`` (numeric columns only).
    fc : ndarray of shape (n_samples, n_nodes, n_nodes), optional
        Use these matrices instead of ``dataset.fc``.

    Returns
    -------
    list of Data
        ``x`` (n_nodes, n_features), ``edge_index`` (2, n_edges), ``edge_attr`` (n_edges,),
        ``sample_id`` and ``subject_id`` strings, and ``y`` when ``label`` is given.

    Examples
    --------
    >>> graphs = to_pyg(load_dataset("dev_aal.ds"), sparsify="topk:0.1")  # doctest: +SKIP
    >>> graphs[0]  # doctest: +SKIP
    Data(x=[116, 116], edge_index=[2, 1334], edge_attr=[1334], sample_id='sub-pixar001')
    """
    from torch_geometric.data import Data

    from neurocl._core.errors import ParameterError

    rule = Sparsify.parse(sparsify)
    make_features = NODE_FEATURES.get(node_features)
    matrices = dataset.fc if fc is None else fc
    if label is not None and label not in dataset.subjects:
        raise ParameterError(
            f"label {label!r} is not a column of the subjects table; columns: "
            f"{', '.join(map(str, dataset.subjects.columns))}"
        )
    graphs = []
    for i in range(len(matrices)):
        mat = torch.as_tensor(np.asarray(matrices[i], dtype=np.float32)).unsqueeze(0)
        adj = rule(mat)
        x = make_features(mat, adj)[0]
        edge_index = adj[0].nonzero().t().contiguous()
        data = Data(
            x=x,
            edge_index=edge_index,
            edge_attr=adj[0][edge_index[0], edge_index[1]],
            sample_id=str(dataset.subjects["sample_id"].iloc[i]),
            subject_id=str(dataset.subjects["subject_id"].iloc[i]),
        )
        if label is not None:
            data.y = torch.tensor([float(dataset.subjects[label].iloc[i])])
        graphs.append(data)
    return graphs
