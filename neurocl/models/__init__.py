"""Encoders of brain graphs: dense GNNs, BrainNetCNN and a transformer over nodes.

Every encoder takes FC matrices (batch, n_nodes, n_nodes), builds node features and a
sparsified adjacency on the batch's device, and returns an :class:`EncoderOutput` with a
subject embedding and node embeddings. ``ENCODERS`` maps names (``--encoder gin``) to classes.
"""

from neurocl.models.base import BrainGraphEncoder, EncoderOutput, NodeNorm
from neurocl.models.brainnetcnn import BrainNetCNNEncoder
from neurocl.models.cnn_transformer import CNNTransformerEncoder, DualBranchOutput
from neurocl.models.gat import GATEncoder
from neurocl.models.gcn import GCNEncoder
from neurocl.models.gin import GINEncoder
from neurocl.models.head import ProjectionHead
from neurocl.models.readout import READOUTS
from neurocl.models.registry import ENCODERS, build_encoder
from neurocl.models.sage import SAGEEncoder
from neurocl.models.st_gnn import SpatioTemporalGNNEncoder, SpatioTemporalOutput
from neurocl.models.transformer import NodeTransformerEncoder

__all__ = [
    "ENCODERS",
    "READOUTS",
    "BrainGraphEncoder",
    "BrainNetCNNEncoder",
    "CNNTransformerEncoder",
    "DualBranchOutput",
    "EncoderOutput",
    "GATEncoder",
    "GCNEncoder",
    "GINEncoder",
    "NodeNorm",
    "NodeTransformerEncoder",
    "ProjectionHead",
    "SAGEEncoder",
    "SpatioTemporalGNNEncoder",
    "SpatioTemporalOutput",
    "build_encoder",
]
