"""Self-supervision: views (augmentations) and objectives, each in a registry."""

from neurocl.ssl.objectives import OBJECTIVES, Objective, build_objective
from neurocl.ssl.views import VIEWS, View, ViewBatch, ViewPipeline, build_view

__all__ = [
    "OBJECTIVES",
    "VIEWS",
    "Objective",
    "View",
    "ViewBatch",
    "ViewPipeline",
    "build_objective",
    "build_view",
]
