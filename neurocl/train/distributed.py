"""Several processes, one model: torchrun detection, DDP, the sampler and gathers with gradients.

``torchrun --nproc_per_node=N -m neurocl pretrain ...`` starts N processes with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in their environment.
:func:`setup` sees them, joins the process group (NCCL on CUDA, gloo on CPU) and returns a
:class:`DistributedContext`; without them it returns the single-process context, for which
every helper here is the identity.

The global batch (``--batch-size``) is split evenly over the processes. Each process encodes
its share; :meth:`DistributedContext.gather` joins the projections of all processes along the
batch axis while keeping autograd, so a contrastive loss sees every sample of the global batch
as a negative (and VICReg its statistics) and equals the single-process loss on that batch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from neurocl._core.errors import ParameterError, TrainingError

T = TypeVar("T")

#: whether :func:`setup` started the process group of this process
_STARTED = False

#: variables torchrun (and torch.distributed.launch) set for every process
ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def env_world_size() -> int:
    """Return ``WORLD_SIZE`` from the environment (1 when unset or not a number)."""
    try:
        return max(int(os.environ.get("WORLD_SIZE", "1")), 1)
    except ValueError:
        return 1


def is_main_process() -> bool:
    """Return True in a single process and in the process of rank 0 under torchrun."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return os.environ.get("RANK", "0").strip() in ("", "0")


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 whose backward sums the gradients of every process.

    Each process computes a loss from the gathered tensor; the gradient that reaches its own
    rows is the sum over processes of the gradient of their losses (an all-reduce, which every
    backend supports, then the slice of this rank).
    """

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        import torch.distributed as dist

        tensor = tensor.contiguous()
        world, rank = dist.get_world_size(), dist.get_rank()
        parts = [torch.empty_like(tensor) for _ in range(world)]
        dist.all_gather(parts, tensor)
        ctx.rows, ctx.rank = tensor.shape[0], rank
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        import torch.distributed as dist

        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = ctx.rank * ctx.rows
        return grad[start : start + ctx.rows]


class _Apply(nn.Module):
    """Holds a model so that DDP can run any function of it as its forward pass."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Return ``fn(model, *args, **kwargs)``."""
        return fn(self.model, *args, **kwargs)


class Replica:
    """Run functions of ``model`` as forward passes, through DDP when distributed.

    DDP synchronises gradients only for passes that go through its own ``forward``; the
    masked and cross-model objectives call the encoder and their decoders themselves, so
    every loss is computed inside ``replica(fn)``, which is ``fn(model)`` in one process.

    Parameters
    ----------
    model : nn.Module
        The model (its parameters are averaged over processes after each backward).
    context : DistributedContext
        Where the process stands.
    device : torch.device
        The model's device.
    """

    def __init__(self, model: nn.Module, context: DistributedContext,
                 device: torch.device) -> None:
        self.model = model
        self.ddp: nn.Module | None = None
        if context.enabled:
            from torch.nn.parallel import DistributedDataParallel

            self.ddp = DistributedDataParallel(
                _Apply(model), device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=True,
            )

    def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Return ``fn(model, *args, **kwargs)``, gradients synchronised under DDP."""
        if self.ddp is None:
            return fn(self.model, *args, **kwargs)
        return self.ddp(fn, *args, **kwargs)


@dataclass(frozen=True)
class DistributedContext:
    """Rank and size of the process group (rank 0 of 1 without torchrun).

    Attributes
    ----------
    rank, world_size, local_rank : int
        This process, the number of processes, and its index on this machine.
    owns_group : bool
        The process group was started by :func:`setup` (and is closed by :meth:`close`).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        """More than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes files and shows progress."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """Pin an unnumbered CUDA device to this process's GPU (``cuda:LOCAL_RANK``)."""
        if self.enabled and device.type == "cuda" and device.index is None:
            return torch.device("cuda", self.local_rank)
        return device

    def seed(self, seed: int) -> int:
        """Return the seed of this rank's random draws (``seed`` itself on rank 0)."""
        return int(seed) + 1_000_003 * self.rank

    def split_batch(self, batch_size: int) -> tuple[int, int]:
        """Return the global batch actually used and each process's share.

        Raises
        ------
        ParameterError
            When the global batch is smaller than the number of processes.
        """
        if batch_size < self.world_size:
            raise ParameterError(
                f"batch size {batch_size} is smaller than the {self.world_size} processes; "
                f"raise --batch-size to at least {self.world_size} (it is the global batch)"
            )
        local = batch_size // self.world_size
        return local * self.world_size, local

    def min_local_batch(self, min_global: int = 2) -> int:
        """Smallest share per process that keeps ``min_global`` samples per global batch."""
        return max(math.ceil(min_global / self.world_size), 1)

    def sampler(self, n_samples: int, seed: int) -> Any:
        """Return a seeded ``DistributedSampler`` over ``range(n_samples)``; call ``set_epoch``.

        Every process draws the same permutation (from ``seed + epoch``) and takes every
        ``world_size``-th index, so the k-th batches of all processes together are the k-th
        global batch, whatever the number of processes. The tail that does not split evenly
        is dropped (at most ``world_size - 1`` samples per epoch) rather than padded with
        repeated samples, which would be false negatives.
        """
        from torch.utils.data.distributed import DistributedSampler

        return DistributedSampler(
            range(n_samples), num_replicas=self.world_size, rank=self.rank, shuffle=True,
            seed=int(seed), drop_last=True,
        )

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Concatenate ``tensor`` (rows, ...) of all ranks along dim 0, keeping gradients.

        Parameters
        ----------
        tensor : Tensor of shape (rows, ...)
            The same shape on every rank.

        Returns
        -------
        Tensor of shape (world_size * rows, ...)
            Rank 0's rows first; the identity in one process.
        """
        if not self.enabled:
            return tensor
        return _GatherWithGrad.apply(tensor)  # type: ignore[no-any-return]

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """Average a detached tensor over the ranks (the tensor itself in one process)."""
        if not self.enabled:
            return value
        import torch.distributed as dist

        out = value.detach().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out / self.world_size

    def total(self, values: list[float], device: torch.device) -> list[float]:
        """Sum plain numbers over the ranks."""
        if not self.enabled:
            return list(values)
        import torch.distributed as dist

        buf = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(buf, op=dist.ReduceOp.SUM)
        return [float(v) for v in buf.cpu()]

    def gather_states(self, state: torch.Tensor, device: torch.device) -> list[torch.Tensor]:
        """Collect a uint8 RNG state of every rank (all the same size), on the CPU."""
        if not self.enabled:
            return [state]
        import torch.distributed as dist

        local = state.to(device)
        parts = [torch.empty_like(local) for _ in range(self.world_size)]
        dist.all_gather(parts, local)
        return [p.cpu() for p in parts]

    def barrier(self) -> None:
        """Wait for every rank (nothing in one process)."""
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        """Leave the process group if :func:`setup` started it."""
        if self.owns_group:
            shutdown()


def shutdown() -> None:
    """Leave the process group if :func:`setup` started it (a user's own group stays)."""
    global _STARTED
    if _STARTED:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
        _STARTED = False


def setup(device: torch.device) -> DistributedContext:
    """Join the process group that torchrun describes, or stay a single process.

    An already initialised process group (a user's own launcher) is used as it is.
    Otherwise, with ``WORLD_SIZE > 1`` in the environment, the group is initialised from the
    environment with NCCL for CUDA devices and gloo otherwise.

    Parameters
    ----------
    device : torch.device
        The resolved training device (chooses the backend).

    Returns
    -------
    DistributedContext

    Raises
    ------
    ParameterError
        When the torchrun environment is incomplete.
    TrainingError
        When this torch has no distributed support or the group cannot be joined.
    """
    global _STARTED
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0") or 0)
    if dist.is_available() and dist.is_initialized():
        return DistributedContext(dist.get_rank(), dist.get_world_size(), local_rank, _STARTED)
    world = env_world_size()
    if world <= 1:
        return DistributedContext()
    if not dist.is_available():
        raise TrainingError(
            f"WORLD_SIZE={world} asks for {world} processes but this torch build has no "
            "distributed support; run a single process or install a torch with distributed"
        )
    missing = [name for name in ENV_VARS if not os.environ.get(name)]
    if missing:
        raise ParameterError(
            f"WORLD_SIZE={world} is set but {', '.join(missing)} is not; start several "
            "processes with `torchrun --nproc_per_node=N -m neurocl pretrain ...` or unset "
            "WORLD_SIZE"
        )
    backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local_rank if device.index is None else device.index)
    try:
        dist.init_process_group(backend=backend, init_method="env://")
    except (RuntimeError, ValueError) as exc:
        raise TrainingError(
            f"cannot join the {backend} process group of {world} processes "
            f"({str(exc).splitlines()[0][:160]}); check MASTER_ADDR/MASTER_PORT and that "
            "every process was started"
        ) from None
    _STARTED = True
    return DistributedContext(dist.get_rank(), dist.get_world_size(), local_rank, True)


__all__ = [
    "DistributedContext",
    "Replica",
    "env_world_size",
    "is_main_process",
    "setup",
    "shutdown",
]
