"""Training: the pretraining loop, run folders, checkpoints, devices and schedules."""

from neurocl.train.config import PretrainConfig
from neurocl.train.run import Run, load_run, pretrain

__all__ = ["PretrainConfig", "Run", "load_run", "pretrain"]
