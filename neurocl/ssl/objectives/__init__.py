"""Self-supervised objectives; pure loss functions live in :mod:`.functional`.

``OBJECTIVES`` maps names (``--objective ntxent``) to classes.
"""

from neurocl.ssl.objectives import functional
from neurocl.ssl.objectives.base import OBJECTIVES, Objective, build_objective
from neurocl.ssl.objectives.cross_model import CrossModelLoss
from neurocl.ssl.objectives.dcl import DCLLoss
from neurocl.ssl.objectives.encoder_objective import EncoderObjective
from neurocl.ssl.objectives.masked_dfc import MaskedDynamicFCLoss
from neurocl.ssl.objectives.masked_graph import MaskedGraphLoss
from neurocl.ssl.objectives.masked_signal import MaskedSignalLoss
from neurocl.ssl.objectives.multiview import MultiViewInfoNCELoss
from neurocl.ssl.objectives.ntxent import NTXentLoss
from neurocl.ssl.objectives.vicreg import VICRegLoss

__all__ = [
    "OBJECTIVES",
    "CrossModelLoss",
    "DCLLoss",
    "EncoderObjective",
    "MaskedDynamicFCLoss",
    "MaskedGraphLoss",
    "MaskedSignalLoss",
    "MultiViewInfoNCELoss",
    "NTXentLoss",
    "Objective",
    "VICRegLoss",
    "build_objective",
    "functional",
]
