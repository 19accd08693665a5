"""Views: the batch a view acts on, the view interface, the registry and the pipeline."""

from __future__ import annotations

import abc
import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch

from neurocl._core.errors import ParameterError
from neurocl._core.registry import Registry

#: view name -> class
VIEWS: Registry[Any] = Registry("view")


@dataclasses.dataclass(frozen=True)
class ViewBatch:
    """What a view sees and returns (tensors are never modified in place).

    Attributes
    ----------
    fc : Tensor of shape (batch, n_nodes, n_nodes)
        The FC matrices of the view.
    timeseries : Tensor of shape (batch, n_times, n_nodes) or None
        Signals (zero-padded), for views that recompute FC.
    lengths : Tensor of shape (batch,) or None
        Valid time points of each signal.
    x : Tensor of shape (batch, n_nodes, n_features) or None
        Node features, once computed from ``fc``.
    node_mask : Tensor of shape (batch, n_nodes), bool, or None
        False for dropped nodes.
    """

    fc: torch.Tensor
    timeseries: torch.Tensor | None = None
    lengths: torch.Tensor | None = None
    x: torch.Tensor | None = None
    node_mask: torch.Tensor | None = None

    def replace(self, **changes: Any) -> ViewBatch:
        """Return a copy with some fields replaced."""
        return dataclasses.replace(self, **changes)


class View(abc.ABC):
    """Base class of the views.

    ``stage`` is ``"fc"`` for views that act on the matrices (applied first, in the order
    given) and ``"features"`` for views that act on node features (applied after the
    encoder has built them from the viewed matrices).
    """

    stage: ClassVar[str] = "fc"
    needs_timeseries: ClassVar[bool] = False

    @abc.abstractmethod
    def __call__(self, batch: ViewBatch, generator: torch.Generator | None = None) -> ViewBatch:
        """Return a new :class:`ViewBatch`; ``batch`` is left unchanged."""

    def params(self) -> dict[str, Any]:
        """Return the constructor parameters (for the resolved config)."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {n: getattr(self, n) for n in names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


def check_probability(value: float, name: str) -> float:
    """Raise :class:`ParameterError` unless ``0 <= value < 1``."""
    if not 0 <= float(value) < 1:
        raise ParameterError(f"{name} must be in [0, 1); got {value!r}")
    return float(value)


def parse_view(spec: str | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Parse ``"edge-drop:p=0.3"`` (or a ``{"name": ..., **params}`` dict) into name, params.

    Raises
    ------
    ParameterError
        On an unknown view, a parameter it does not take, or a value that is not a number.
    """
    if isinstance(spec, dict):
        params = dict(spec)
        name = str(params.pop("name", ""))
    else:
        name, *parts = str(spec).strip().split(":")
        params = {}
        for part in parts:
            key, sep, raw = part.partition("=")
            if not sep:
                raise ParameterError(
                    f"view {spec!r}: parameters are written name:key=value (e.g. edge-drop:p=0.3)"
                )
            try:
                params[key.strip().replace("-", "_")] = float(raw)
            except ValueError:
                raise ParameterError(f"view {spec!r}: {key}={raw!r} is not a number") from None
    key = VIEWS.resolve(name)
    allowed = list(inspect.signature(VIEWS.get(key).__init__).parameters)[1:]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ParameterError(
            f"view {key!r} has no parameter {', '.join(unknown)}; it takes "
            f"{', '.join(allowed) or 'no parameters'}"
        )
    return key, params


def build_view(spec: str | dict[str, Any], **context: Any) -> View:
    """Build a view from a spec; ``context`` supplies parameters the view accepts but lacks."""
    name, params = parse_view(spec)
    cls = VIEWS.get(name)
    allowed = list(inspect.signature(cls.__init__).parameters)[1:]
    for key, value in context.items():
        if key in allowed and key not in params:
            params[key] = value
    return cls(**params)


class ViewPipeline:
    """Compose views: matrix views in the order given, then node-feature views.

    Parameters
    ----------
    views : sequence of View or str
        The views (or their specs, e.g. ``"fc-crop"``, ``"edge-drop:p=0.2"``).
    **context
        Parameters passed to the views that take them (``fisher_z`` for ``fc-crop``).

    Examples
    --------
    >>> pipe = ViewPipeline(["edge-drop:p=0.5"])
    >>> fc = torch.ones(2, 4, 4)
    >>> view = pipe(ViewBatch(fc), featurize=lambda m: m)
    >>> bool((fc == 1).all()), view.fc.shape
    (True, torch.Size([2, 4, 4]))
    """

    def __init__(self, views: Sequence[View | str | dict[str, Any]], **context: Any) -> None:
        self.views = [v if isinstance(v, View) else build_view(v, **context) for v in views]

    @property
    def needs_timeseries(self) -> bool:
        """Whether any view recomputes FC from the signals."""
        return any(v.needs_timeseries for v in self.views)

    @property
    def has_feature_views(self) -> bool:
        """Whether any view acts on node features."""
        return any(v.stage == "features" for v in self.views)

    def __call__(
        self,
        batch: ViewBatch,
        *,
        featurize: Callable[[torch.Tensor], torch.Tensor],
        generator: torch.Generator | None = None,
    ) -> ViewBatch:
        """Apply the views to ``batch`` (unchanged) and return the view.

        Parameters
        ----------
        batch : ViewBatch
        featurize : callable
            Builds node features (batch, n, f) from matrices (batch, n, n), before the
            node-feature views.
        generator : torch.Generator, optional
            Random source on the batch's device.
        """
        for view in self.views:
            if view.stage == "fc":
                batch = view(batch, generator)
        feature_views = [v for v in self.views if v.stage == "features"]
        if feature_views:
            if batch.x is None:
                batch = batch.replace(x=featurize(batch.fc))
            for view in feature_views:
                batch = view(batch, generator)
        return batch

    def specs(self) -> list[dict[str, Any]]:
        """Return the resolved view list for a config file."""
        return [{"name": _name_of(v), **v.params()} for v in self.views]


def _name_of(view: View) -> str:
    for name in VIEWS:
        if VIEWS.get(name) is type(view):
            return name
    return type(view).__name__
