"""neurocl: functional-connectivity datasets, self-supervised encoders and honest probes.

The Python API lives in :mod:`neurocl.api`; datasets open with :func:`load_dataset`.
"""

from neurocl._version import __version__
from neurocl.data.dataset import FCDataset, load_dataset

__all__ = ["FCDataset", "__version__", "load_dataset"]
