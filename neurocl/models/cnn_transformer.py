"""A dual-branch encoder of multichannel signals: a CNN branch and a transformer branch."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from neurocl._core.errors import ParameterError
from neurocl._core.validation import check_in
from neurocl.models._temporal import masked_mean, sinusoidal_positions, transformer_stack
from neurocl.models.registry import ENCODERS

FUSIONS = ("concat", "gate")
#: graph options that the signal encoder accepts only at their defaults (it reads no graph)
_GRAPH_DEFAULTS = {"node_features": "fc-row", "sparsify": "topk:0.2", "readout": "flatten"}


class DualBranchOutput(NamedTuple):
    """What :class:`CNNTransformerEncoder` returns.

    Attributes
    ----------
    graph : Tensor of shape (batch, embedding_dim)
        The fused embedding of each sample (the representation).
    nodes : Tensor of shape (batch, n_channels, filters)
        One embedding per channel: the mean activation of each temporal filter.
    cnn : Tensor of shape (batch, hidden)
        The CNN branch's embedding.
    transformer : Tensor of shape (batch, hidden)
        The transformer branch's embedding (mean of the visible patch tokens).
    patches : Tensor of shape (batch, n_patches, hidden)
        Contextual patch tokens of the transformer branch.
    """

    graph: torch.Tensor
    nodes: torch.Tensor
    cnn: torch.Tensor
    transformer: torch.Tensor
    patches: torch.Tensor


def _norm2d(kind: str, channels: int) -> nn.Module:
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


@ENCODERS.register("cnn-transformer", "dual-branch", "cnn-tf")
class CNNTransformerEncoder(nn.Module):
    """Dual-branch encoder of signals (batch, n_times, n_channels): CNN + transformer, fused.

    Input signals are standardised per sample (mean removed per channel, divided by the
    sample's overall standard deviation), so EEG in volts and z-scored ROI signals look alike
    while the relative amplitude of the channels is kept.

    * CNN branch (EEGNet / ShallowConvNet-like), local spatio-temporal features: a temporal
      convolution (``filters`` kernels of ``kernel`` samples), a depthwise spatial
      convolution over all channels (``depth`` spatial filters per temporal filter), ELU,
      average pooling, a separable convolution, adaptive pooling to 8 time bins, linear.
    * Transformer branch, global temporal dependencies: the signal is cut into patches of
      ``patch`` samples (all channels), each linearly embedded, plus a sinusoidal position;
      ``layers`` transformer layers; the branch embedding is the mean of the patch tokens.
    * Fusion: ``concat`` (concatenate, then linear) or ``gate`` (a learned sigmoid gate
      mixing the two branch embeddings, then linear).

    Parameters
    ----------
    n_nodes : int
        Number of channels (EEG electrodes or ROIs).
    hidden : int
        Width of both branch embeddings and of the transformer.
    layers : int
        Transformer layers.
    heads : int
        Attention heads (``hidden`` must be divisible by it).
    out_dim : int, optional
        Size of the fused embedding (default: ``hidden``).
    patch : int
        Samples per patch of the transformer branch (and of masked-signal modelling).
    kernel : int
        Length of the temporal convolution of the CNN branch, in samples.
    filters : int
        Temporal filters of the CNN branch.
    depth : int
        Spatial filters per temporal filter.
    pool : int
        Average-pooling factor over time after the spatial convolution.
    fusion : {"concat", "gate"}
        How the branch embeddings are fused.
    dropout : float
        Dropout in both branches.
    norm : {"layer", "batch", "none"}
        Normalisation of the CNN feature maps (GroupNorm with one group for ``layer``).
    node_features, sparsify, readout : str
        Graph options; this encoder reads signals, so only their defaults are accepted.

    Examples
    --------
    >>> import torch
    >>> enc = CNNTransformerEncoder(n_nodes=5, hidden=16, layers=1, heads=2, patch=4)
    >>> out = enc(torch.randn(3, 37, 5))
    >>> out.graph.shape, out.patches.shape, out.nodes.shape
    (torch.Size([3, 16]), torch.Size([3, 9, 16]), torch.Size([3, 5, 8]))
    """

    #: input the encoder reads: signals (batch, n_times, n_channels)
    inputs = ("timeseries",)
    uses_node_features = False

    def __init__(
        self,
        n_nodes: int,
        *,
        hidden: int = 64,
        layers: int = 2,
        heads: int = 4,
        out_dim: int | None = None,
        patch: int = 8,
        kernel: int = 25,
        filters: int = 8,
        depth: int = 2,
        pool: int = 4,
        fusion: str = "concat",
        dropout: float = 0.1,
        norm: str = "layer",
        node_features: str = "fc-row",
        sparsify: str = "topk:0.2",
        readout: str = "flatten",
    ) -> None:
        super().__init__()
        given = {"node_features": node_features, "sparsify": sparsify, "readout": readout}
        for key, value in given.items():
            if value != _GRAPH_DEFAULTS[key]:
                raise ParameterError(
                    f"cnn-transformer reads signals, not graphs, so {key}={value!r} would do "
                    f"nothing; drop --{key.replace('_', '-')}"
                )
        if heads < 1 or hidden % heads:
            raise ParameterError(
                f"cnn-transformer: hidden ({hidden}) must be divisible by heads ({heads})"
            )
        for name, value in (("patch", patch), ("kernel", kernel), ("filters", filters),
                            ("depth", depth), ("pool", pool), ("layers", layers)):
            if int(value) < 1:
                raise ParameterError(f"cnn-transformer: {name} must be >= 1; got {value!r}")
        self.n_nodes = int(n_nodes)
        self.hidden = int(hidden)
        self.patch = int(patch)
        self.fusion = check_in(fusion, FUSIONS, "fusion")
        self.embedding_dim = int(out_dim or hidden)
        check_in(norm, ("layer", "batch", "none"), "norm")
        f2 = filters * depth
        # CNN branch
        self.temporal_conv = nn.Conv2d(1, filters, (1, kernel), padding=(0, kernel // 2),
                                       bias=False)
        self.temporal_norm = _norm2d(norm, filters)
        self.spatial_conv = nn.Conv2d(filters, f2, (self.n_nodes, 1), groups=filters, bias=False)
        self.spatial_norm = _norm2d(norm, f2)
        self.pool1 = nn.AvgPool2d((1, pool), ceil_mode=True)
        self.separable = nn.Sequential(
            nn.Conv2d(f2, f2, (1, 9), padding=(0, 4), groups=f2, bias=False),
            nn.Conv2d(f2, f2, 1, bias=False),
        )
        self.separable_norm = _norm2d(norm, f2)
        self.pool2 = nn.AdaptiveAvgPool2d((1, 8))
        self.cnn_out = nn.Linear(f2 * 8, hidden)
        self.drop = nn.Dropout(dropout)
        # transformer branch
        self.patch_embed = nn.Linear(self.patch * self.n_nodes, hidden)
        self.mask_token = nn.Parameter(torch.randn(hidden) * 0.02)
        self.transformer = transformer_stack(hidden, heads, layers, dropout)
        self.transformer_norm = nn.LayerNorm(hidden)
        # fusion
        if self.fusion == "gate":
            self.gate = nn.Linear(2 * hidden, hidden)
            self.out = nn.Linear(hidden, self.embedding_dim)
        else:
            self.out = nn.Linear(2 * hidden, self.embedding_dim)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise signals (batch, n_times, n_channels) per sample (input left unchanged)."""
        x = x - x.mean(dim=1, keepdim=True)
        scale = x.flatten(1).std(dim=1).clamp(min=1e-12)
        return x / scale.view(-1, 1, 1)

    def n_patches(self, n_times: int) -> int:
        """Return the number of whole patches in ``n_times`` samples (a tail is unused)."""
        return n_times // self.patch

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """Cut (batch, n_times, n_channels) into (batch, n_patches, patch * n_channels)."""
        b, t, c = x.shape
        p = self.n_patches(t)
        return x[:, : p * self.patch].reshape(b, p, self.patch * c)

    def _check_shape(self, x: torch.Tensor) -> None:
        if x.ndim != 3 or x.shape[2] != self.n_nodes:
            raise ParameterError(
                f"cnn-transformer was built for {self.n_nodes} channels and expects signals of "
                f"shape (batch, n_times, {self.n_nodes}); got {tuple(x.shape)}"
            )
        if x.shape[1] < self.patch:
            raise ParameterError(
                f"the signals have {x.shape[1]} time points, fewer than one patch of "
                f"{self.patch}; use a smaller patch or longer signals"
            )

    def forward(self, x: torch.Tensor, patch_mask: torch.Tensor | None = None) -> DualBranchOutput:
        """Embed a batch of signals.

        Parameters
        ----------
        x : Tensor of shape (batch, n_times, n_channels)
            Signals (time x channels).
        patch_mask : Tensor of shape (batch, n_patches), bool, optional
            False for masked patches: they are zeroed in the CNN input and replaced by the
            mask token in the transformer branch.

        Returns
        -------
        DualBranchOutput
        """
        self._check_shape(x)
        x = self.normalize(x)
        b, t, c = x.shape
        n_p = self.n_patches(t)
        if patch_mask is not None:
            keep_t = patch_mask.bool().repeat_interleave(self.patch, dim=1)
            if t > n_p * self.patch:
                keep_t = torch.cat([keep_t, keep_t.new_ones(b, t - n_p * self.patch)], dim=1)
            x = x * keep_t.unsqueeze(-1).to(x.dtype)
        # CNN branch: (batch, 1, channels, time)
        h = self.temporal_norm(self.temporal_conv(x.transpose(1, 2).unsqueeze(1)))
        h = nn.functional.elu(h)
        nodes = h.mean(-1).transpose(1, 2)  # (batch, channels, filters)
        h = nn.functional.elu(self.spatial_norm(self.spatial_conv(h)))
        h = self.drop(self.pool1(h))
        h = nn.functional.elu(self.separable_norm(self.separable(h)))
        cnn = self.cnn_out(self.drop(self.pool2(h).flatten(1)))
        # transformer branch
        tokens = self.patch_embed(self.patchify(x))
        if patch_mask is not None:
            tokens = torch.where(patch_mask.bool().unsqueeze(-1), tokens,
                                 self.mask_token.to(tokens.dtype))
        tokens = tokens + sinusoidal_positions(n_p, self.hidden, device=x.device,
                                               dtype=tokens.dtype)
        patches = self.transformer_norm(self.transformer(tokens))
        trans = masked_mean(patches, patch_mask)
        # fusion
        both = torch.cat([cnn, trans], dim=-1)
        if self.fusion == "gate":
            g = torch.sigmoid(self.gate(both))
            fused = self.out(g * cnn + (1 - g) * trans)
        else:
            fused = self.out(both)
        return DualBranchOutput(fused, nodes, cnn, trans, patches)
