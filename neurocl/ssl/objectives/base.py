"""The objective interface and registry."""

from __future__ import annotations

import abc
import inspect
from typing import Any, ClassVar

import torch

from neurocl._core.errors import ParameterError
from neurocl._core.registry import Registry

#: objective name -> class
OBJECTIVES: Registry[Any] = Registry("objective")


class Objective(abc.ABC):
    """A self-supervised loss of ``V`` projected views (each (batch, dim)).

    ``min_views`` / ``max_views`` bound how many views the objective takes.
    """

    min_views: ClassVar[int] = 2
    max_views: ClassVar[int | None] = 2

    @abc.abstractmethod
    def __call__(
        self, views: list[torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Return the scalar loss of the projected ``views``."""

    def check_views(self, n_views: int) -> None:
        """Raise :class:`ParameterError` unless the objective takes ``n_views`` views."""
        hi = self.max_views
        if n_views < self.min_views or (hi is not None and n_views > hi):
            allowed = f"{self.min_views}" if hi == self.min_views else f">= {self.min_views}"
            raise ParameterError(
                f"objective {type(self).__name__} takes {allowed} views, got n_views={n_views}; "
                "use multiview-infonce for more than 2 views"
            )

    def params(self) -> dict[str, Any]:
        """Return the constructor parameters (for the resolved config)."""
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return {n: getattr(self, n) for n in names}


def build_objective(name: str, **params: Any) -> Objective:
    """Build the objective ``name``; a parameter it does not take is an error.

    Parameters
    ----------
    name : str
        A registered objective (``ntxent``, ``dcl``, ``multiview-infonce``, ``vicreg``).
    **params
        Its parameters (``temperature``, ``hard_negatives``...); None values are dropped.

    Raises
    ------
    ParameterError
        On an unknown objective or parameter.
    """
    cls = OBJECTIVES.get(name)
    allowed = list(inspect.signature(cls.__init__).parameters)[1:]
    given = {k: v for k, v in params.items() if v is not None}
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ParameterError(
            f"objective {OBJECTIVES.resolve(name)!r} has no parameter {', '.join(unknown)}; "
            f"it takes {', '.join(allowed) or 'no parameters'}"
        )
    return cls(**given)
