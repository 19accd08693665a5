"""Views (augmentations) for self-supervision; each never modifies its input.

``VIEWS`` maps names (``--augment fc-crop,edge-drop``) to classes; :class:`ViewPipeline`
composes them.
"""

from neurocl.ssl.views.amplitude_scale import AmplitudeScale
from neurocl.ssl.views.base import VIEWS, View, ViewBatch, ViewPipeline, build_view, parse_view
from neurocl.ssl.views.channel_drop import ChannelDrop
from neurocl.ssl.views.edge_drop import EdgeDrop
from neurocl.ssl.views.edge_noise import EdgeNoise
from neurocl.ssl.views.fc_crop import FCCrop
from neurocl.ssl.views.feature_mask import FeatureMask
from neurocl.ssl.views.freq_mask import FrequencyMask
from neurocl.ssl.views.gaussian_noise import GaussianNoise
from neurocl.ssl.views.node_drop import NodeDrop
from neurocl.ssl.views.signal_base import SignalView
from neurocl.ssl.views.time_crop import TimeCrop
from neurocl.ssl.views.time_mask import TimeMask
from neurocl.ssl.views.time_shift import TimeShift

__all__ = [
    "VIEWS",
    "AmplitudeScale",
    "ChannelDrop",
    "EdgeDrop",
    "EdgeNoise",
    "FCCrop",
    "FeatureMask",
    "FrequencyMask",
    "GaussianNoise",
    "NodeDrop",
    "SignalView",
    "TimeCrop",
    "TimeMask",
    "TimeShift",
    "View",
    "ViewBatch",
    "ViewPipeline",
    "build_view",
    "parse_view",
]
