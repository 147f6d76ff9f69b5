"""Gradient buckets: parameters grouped so that a few large allreduces average all their gradients.

One allreduce per parameter would pay MPI's latency dozens of times a step; one for the whole model
could only start when backward is over. PyTorch's middle way, kept here: parameters in reverse
registration order (roughly the order backward finishes them), cut into buckets of about
``bucket_cap_mb`` (25 MB), by default the first one small (1 MB) so that communication starts early. A bucket
is one contiguous buffer: each gradient is copied in (already divided by the world size) when it is
final, the bucket's non-blocking allreduce starts when its last gradient is in, and the averages
are copied back to ``.grad`` when backward is over.
"""
import numpy as np

from ... import backend

FIRST_BUCKET_BYTES = 1024 * 1024  # torch's _DEFAULT_FIRST_BUCKET_BYTES


def assign_buckets(parameters, bucket_cap_mb=None):
    """Lists of parameters, one per bucket: reverse order, one dtype and device per bucket, each bucket
    closed once it holds at least its cap: ``bucket_cap_mb`` MB, or by default 25 MB with a first
    bucket of 1 MB (PyTorch's rule: a cap the caller gives applies to the first bucket too)."""
    cap_bytes = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
    first_cap_bytes = FIRST_BUCKET_BYTES if bucket_cap_mb is None else cap_bytes
    buckets, open_buckets = [], {}  # (dtype, device) -> [parameters, bytes]
    for parameter in reversed(parameters):
        key = (parameter.dtype, str(parameter.device))
        current = open_buckets.setdefault(key, [[], 0])
        current[0].append(parameter)
        current[1] += parameter.data.nbytes
        if current[1] >= (first_cap_bytes if not buckets else cap_bytes):
            buckets.append(current[0])
            del open_buckets[key]
    buckets.extend(members for members, _ in open_buckets.values())
    return buckets


class Bucket:
    """One contiguous buffer for the gradients of ``parameters``, and the allreduce running on it."""

    def __init__(self, parameters):
        self.parameters = parameters
        self.offsets = np.cumsum([0] + [parameter.numel() for parameter in parameters])
        first = parameters[0]
        self.buffer = backend.full((int(self.offsets[-1]),), 0, first.dtype, first.device)
        self.reset()

    def reset(self):
        """Before a backward pass that synchronises: no gradient in yet, no allreduce running."""
        self.arrived = set()  # indices (into self.parameters) of the gradients copied in
        self.work = None

    def view(self, position):
        """The part of the buffer that holds parameter ``position``'s gradient, in its shape."""
        start, stop = int(self.offsets[position]), int(self.offsets[position + 1])
        return self.buffer[start:stop].reshape(self.parameters[position].shape)

    def add(self, position, gradient, scale):
        """Copy one final gradient in, times ``scale`` (1 / world size, so the sum is the mean)."""
        np.multiply(gradient, scale, out=self.view(position))
        self.arrived.add(position)

    def fill_missing(self):
        """Zeros for the parameters that got no gradient in this pass (find_unused_parameters)."""
        for position in range(len(self.parameters)):
            if position not in self.arrived:
                self.view(position)[...] = 0
                self.arrived.add(position)

    @property
    def complete(self):
        return len(self.arrived) == len(self.parameters)
