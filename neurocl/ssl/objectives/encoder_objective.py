"""Objectives that compute their loss from the encoder itself, with their own modules."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn

from neurocl._core.errors import ParameterError
from neurocl.ssl.objectives.base import Objective

#: signature of the augmentation a view-using objective receives: signals in, a view out
Augment = Callable[[torch.Tensor], torch.Tensor]


class EncoderObjective(Objective):
    """An objective that runs the encoder on its own (masked or augmented) inputs.

    Unlike the contrastive losses of projected views, these objectives own trainable modules
    (decoders, mask tokens, per-branch projection heads): :meth:`build_modules` makes them
    for a given encoder, and the training loop keeps them in place of the projection head.
    Only the encoder is used for embeddings.

    Attributes
    ----------
    inputs : tuple of str
        Inputs the objective works on: ``fc`` (batch, n, n), ``dynamic``
        (batch, n_windows, n, n) or ``timeseries`` (batch, n_times, n_channels).
    uses_views : bool
        Whether the objective takes the ``--augment`` views.
    """

    inputs: ClassVar[tuple[str, ...]] = ("fc",)
    uses_views: ClassVar[bool] = False

    def check_views(self, n_views: int) -> None:
        """Raise :class:`ParameterError` unless ``n_views`` is the default of 2 (not used)."""
        if n_views != 2:
            raise ParameterError(
                f"objective {self.name()} does not take several views, so n_views={n_views} "
                "would do nothing; drop --n-views"
            )

    def name(self) -> str:
        """Return the registered name of the objective."""
        from neurocl.ssl.objectives.base import OBJECTIVES

        for key in OBJECTIVES:
            if OBJECTIVES.get(key) is type(self):
                return key
        return type(self).__name__

    def check_encoder(self, encoder: nn.Module) -> None:
        """Raise :class:`ParameterError` when ``encoder`` cannot serve this objective."""

    @abc.abstractmethod
    def build_modules(self, encoder: nn.Module, proj_dim: int) -> nn.Module:
        """Return the objective's trainable modules for ``encoder``."""

    @abc.abstractmethod
    def loss(
        self,
        encoder: nn.Module,
        modules: nn.Module,
        inputs: torch.Tensor,
        *,
        augment: Augment | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Return the scalar loss of a batch of ``inputs``.

        Parameters
        ----------
        encoder : nn.Module
            The encoder being trained.
        modules : nn.Module
            What :meth:`build_modules` returned.
        inputs : Tensor
            A batch of the objective's input kind.
        augment : callable, optional
            Makes an augmented view of ``inputs`` (objectives with ``uses_views``).
        generator : torch.Generator, optional
            Random source of the masks, on the batch's device.
        """

    def __call__(self, views: list[torch.Tensor], generator: Any = None) -> torch.Tensor:
        """Not available: these objectives need the encoder (see :meth:`loss`)."""
        raise ParameterError(
            f"objective {self.name()} computes its loss from the encoder; call .loss(encoder, "
            "modules, inputs)"
        )
