"""Training on several processes with torch.distributed, as torchrun starts them.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE. Without them ganaug is one process and
every method here returns at once. With them, every rank holds a full replica: the weights
start as rank 0's, each rank trains on its own slice of every global batch with its own
random stream, and gradients are averaged across ranks before every optimiser step (one
flat all-reduce, as StyleGAN3 does it rather than through DistributedDataParallel's
wrapper: it works for the GAN's R1 penalty, which differentiates twice, and for the RBM's
hand-written updates alike). Only rank 0 writes files.
"""

import datetime
import hashlib
import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ganaug_cli.errors import TrainingError

# Long enough for rank 0's AIS or a preview while the others wait at the next collective;
# short enough that a rank lost without torchrun noticing does not hang the job for long.
COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class World:
    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1

    def _collective(self, operation, *args):
        try:
            return operation(*args)
        except (RuntimeError, dist.DistBackendError) as exc:  # a peer died or hung up
            raise TrainingError(f"a training process stopped (rank {self.rank} lost its peers: "
                                f"{str(exc).splitlines()[0]})") from None

    def average_gradients(self, parameters) -> None:
        """Replace each parameter's gradient by its mean over the ranks (one flat all-reduce)."""
        if self.active:
            self.average_([p.grad for p in parameters if p.grad is not None])

    def average_(self, tensors: list[torch.Tensor]) -> None:
        """Average tensors (of one dtype) across ranks, in place."""
        if not self.active or not tensors:
            return
        flat = torch.cat([t.flatten() for t in tensors])
        self._collective(dist.all_reduce, flat)
        flat /= self.size
        for t, part in zip(tensors, flat.split([t.numel() for t in tensors])):
            t.copy_(part.view_as(t))

    def broadcast_(self, tensors: list[torch.Tensor]) -> None:
        """Rank 0's values into every rank's tensors, in place."""
        if self.active:
            for t in tensors:
                self._collective(dist.broadcast, t, 0)

    def gather(self, value) -> list:
        """Every rank's ``value`` (any picklable object), in rank order."""
        if not self.active:
            return [value]
        values = [None] * self.size
        self._collective(dist.all_gather_object, values, value)
        return values

    def check_replicas(self, module: torch.nn.Module, step: int) -> None:
        """Raise unless every rank holds exactly rank 0's parameters of ``module`` (the model
        ganaug samples from): the guarantee that the one checkpoint rank 0 writes is the job's."""
        if not self.active:
            return
        digest = hashlib.sha256()
        for name, p in module.named_parameters():
            digest.update(name.encode())
            digest.update(p.detach().cpu().contiguous().numpy().tobytes())
        digests = self.gather(digest.hexdigest())
        differing = [rank for rank, value in enumerate(digests) if value != digests[0]]
        if differing:
            raise TrainingError(f"after step {step} the weights of rank(s) {differing} differ from rank 0's; "
                                "the checkpoint holds rank 0's (please report this)")

    def barrier(self) -> None:
        if self.active:
            self._collective(dist.barrier)


SINGLE = World()


def in_job() -> bool:
    """Whether torchrun started this process."""
    return "WORLD_SIZE" in os.environ


def other_rank() -> str | None:
    """This process's RANK when it is not rank 0 of a torchrun job (the ranks that stay quiet)."""
    rank = os.environ.get("RANK", "0")
    return rank if in_job() and rank != "0" else None


def world_from_environment() -> World:
    """The process's place in a torchrun job, or SINGLE outside one."""
    if "WORLD_SIZE" not in os.environ:
        return SINGLE
    try:
        size, rank = int(os.environ["WORLD_SIZE"]), int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        raise TrainingError("WORLD_SIZE, RANK and LOCAL_RANK must be integers (as torchrun sets them)") from None
    if size < 1 or not 0 <= rank < size:
        raise TrainingError(f"RANK={rank} does not fit WORLD_SIZE={size}")
    return World(rank, local_rank, size)


def rank_device(world: World, device: torch.device) -> torch.device:
    """Each rank of a CUDA job on its LOCAL_RANK GPU."""
    if world.active and device.type == "cuda":
        return torch.device("cuda", world.local_rank)
    return device


@contextmanager
def process_group(world: World):
    """The job's process group, torn down on every exit path: gloo for CPU tensors, and NCCL for
    CUDA ones where CUDA is present (the device is only known once the config is read)."""
    if not world.active:
        yield
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(world.local_rank % torch.cuda.device_count())
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    try:
        yield
    finally:
        dist.destroy_process_group()


def rank_seed(seed: int, world: World) -> int:
    """Rank 0 keeps the run's seed (a one-process run is unchanged); the others get their own."""
    return seed if world.rank == 0 else (seed + 1_000_003 * world.rank) % 2**63


def state_tensors(state) -> list[torch.Tensor]:
    """The tensors of a nested state dict, in a fixed order (for broadcasting rank 0's)."""
    found = []
    if isinstance(state, dict):
        for key in state:
            found += state_tensors(state[key])
    elif isinstance(state, (list, tuple)):
        for item in state:
            found += state_tensors(item)
    elif isinstance(state, torch.Tensor):
        found.append(state)
    return found
