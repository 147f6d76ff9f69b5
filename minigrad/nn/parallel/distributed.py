"""DistributedDataParallel: the same model on every rank, each rank a share of the batch, gradients averaged.

Wrapping broadcasts rank 0's parameters and buffers, so every rank starts from the same model (after
checking that every rank holds the same parameter names, shapes and dtypes). Each backward then
averages the gradients over the ranks in buckets (buckets.py): a hook on every parameter copies its
gradient into its bucket as soon as it is final, and a bucket whose gradients are all in starts its
non-blocking allreduce while backward goes on with earlier layers. Buckets start strictly in order,
so every rank issues the same collectives in the same order. When backward is over, the averages
are waited for and copied back to ``.grad``: the optimizer step that follows is the same on every
rank, so the models stay equal.

The loss each rank computes is its own batch's mean; averaging the gradients makes the step that of
the mean over the global batch (equal shares), as PyTorch's DDP.
"""
import contextlib

import numpy as np

from ... import distributed, grad_hooks
from ...distributed import collectives, world
from ..module import Module
from .buckets import Bucket, assign_buckets

class DistributedDataParallel(Module):
    """Data parallelism across MPI ranks (``mpiexec -n N``); ``ddp.module`` is the wrapped model."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False, init_sync=True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got {type(module).__name__}")
        # One process per device, the default group: a single device id is the module's own, and
        # check_reduction / static_graph are hints PyTorch's reducer uses that change nothing here.
        for name, value in (("device_ids", device_ids), ("output_device", output_device)):
            if value is not None and len(np.atleast_1d(value)) > 1:
                raise ValueError(f"DistributedDataParallel: {name}={value!r} is not supported (one device per process)")
        if dim != 0:
            raise ValueError(f"DistributedDataParallel: dim={dim!r} is not supported (the batch is split by the sampler)")
        if process_group is not None:
            raise ValueError(f"DistributedDataParallel: process_group={process_group!r} is not supported "
                             "(the default process group only)")
        if bucket_cap_mb is not None and not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        if not distributed.is_initialized():
            raise RuntimeError("DistributedDataParallel: the process group is not initialised: call "
                               "mg.distributed.init() first (it is a single process when not run by mpiexec)")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True  # False inside no_sync()
        named = [(name, parameter) for name, parameter in module.named_parameters() if parameter.requires_grad]
        self._parameter_names = {id(parameter): name for name, parameter in named}
        _check_same_model_everywhere(module, named)
        if init_sync:
            self._broadcast_from_rank_zero([parameter for _, parameter in named] + list(module.buffers()))
        self._buckets = [Bucket(members) for members in assign_buckets([parameter for _, parameter in named],
                                                                       self.bucket_cap_mb)]
        self._where = {id(parameter): (bucket, position) for bucket in self._buckets
                       for position, parameter in enumerate(bucket.parameters)}
        self._syncing = False  # set by forward for the backward that follows
        self._next_bucket = 0  # buckets start in order: the first not yet started
        self._finish_queued, self._reached = False, set()  # this pass: end queued; ids of parameters reached
        self._hook_handles = [parameter.register_post_accumulate_grad_hook(self._gradient_ready)
                              for _, parameter in named]

    # --- forward ---------------------------------------------------------------------------------

    def forward(self, *inputs, **keywords):
        if self.broadcast_buffers and self.training and world.world_size() > 1:
            self._broadcast_from_rank_zero(list(self.module.buffers()))  # BatchNorm's running statistics
        self._syncing = self.require_backward_grad_sync and world.world_size() > 1
        for bucket in self._buckets:
            bucket.reset()
        self._next_bucket, self._finish_queued, self._reached = 0, False, set()
        return self.module(*inputs, **keywords)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate gradients locally; the first one after synchronises the sum."""
        previous, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # --- backward: buckets --------------------------------------------------------------------------

    def _gradient_ready(self, parameter):
        """A parameter's .grad is final for this pass: into its bucket, and start what is complete."""
        if not self._syncing:
            return
        if not self._finish_queued:
            grad_hooks.call_after_backward(self._finish)
            self._finish_queued = True
        bucket, position = self._where[id(parameter)]
        self._reached.add(id(parameter))
        bucket.add(position, parameter.grad.data, 1.0 / world.world_size())
        self._start_complete_buckets()
        collectives.progress()  # MPICH moves the buckets in flight only while a rank calls into MPI

    def _start_complete_buckets(self):
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].complete:
            bucket = self._buckets[self._next_bucket]
            bucket.work = collectives.start_all_reduce(bucket.buffer, op="sum")
            self._next_bucket += 1

    def _finish(self):
        """End of backward: start what is left (unused parameters), wait, copy the averages back."""
        self._syncing = False
        if self._next_bucket < len(self._buckets) and not self.find_unused_parameters:
            missing = [self._parameter_names[id(parameter)] for bucket in self._buckets[self._next_bucket:]
                       for position, parameter in enumerate(bucket.parameters) if position not in bucket.arrived]
            raise RuntimeError(
                f"DistributedDataParallel: on rank {world.rank()}, these parameters received no gradient in this "
                f"backward pass: {', '.join(missing)}. Pass find_unused_parameters=True if the model leaves "
                "some out, or make sure the loss depends on every parameter.")
        for bucket in self._buckets[self._next_bucket:]:
            bucket.fill_missing()
        self._start_complete_buckets()
        # Every rank has now started every bucket, in the same order; the flags come after them all.
        used = self._used_anywhere() if self.find_unused_parameters else None
        for bucket in self._buckets:
            bucket.work.wait()
            for position, parameter in enumerate(bucket.parameters):
                if used is not None and not used[id(parameter)]:
                    continue  # no rank used it: .grad stays as it was, as PyTorch leaves it
                average = bucket.view(position)
                if self.gradient_as_bucket_view:
                    parameter.grad = parameter._wrap(average, parameter.device)
                elif parameter.grad is None:
                    parameter.grad = parameter._wrap(average.copy(), parameter.device)
                else:
                    parameter.grad.data[...] = average

    def _used_anywhere(self):
        """Whether some rank's backward reached each parameter (one small allreduce of flags)."""
        parameters = [parameter for bucket in self._buckets for parameter in bucket.parameters]
        flags = np.array([id(parameter) in self._reached for parameter in parameters], dtype=np.int32)
        collectives.start_all_reduce(flags, op="max").wait()
        return {id(parameter): bool(flag) for parameter, flag in zip(parameters, flags)}

    # --- wrap time ----------------------------------------------------------------------------------

    def _broadcast_from_rank_zero(self, tensors):
        for tensor in tensors:
            distributed.broadcast(tensor, src=0)

    def extra_repr(self):
        return ""


def _check_same_model_everywhere(module, named):
    """Every rank must wrap the same model: compare names, shapes and dtypes with rank 0's, on every rank,
    so that every rank raises the same error instead of some hanging in a collective."""
    described = [(name, tuple(parameter.shape), str(parameter.dtype)) for name, parameter in named]
    described += [(name, tuple(buffer.shape), str(buffer.dtype)) for name, buffer in module.named_buffers()]
    everyone = [None] * world.world_size()
    distributed.all_gather_object(everyone, described)
    reference = dict((name, (shape, dtype)) for name, shape, dtype in everyone[0])
    for rank, description in enumerate(everyone[1:], start=1):
        mine = dict((name, (shape, dtype)) for name, shape, dtype in description)
        for name in sorted(set(reference) | set(mine)):
            if reference.get(name) != mine.get(name):
                ours = "missing" if name not in mine else f"shape {mine[name][0]} {mine[name][1]}"
                theirs = "missing" if name not in reference else f"shape {reference[name][0]} {reference[name][1]}"
                raise RuntimeError(f"DistributedDataParallel: the model differs across ranks: {name!r} is "
                                   f"{ours} on rank {rank} but {theirs} on rank 0")
