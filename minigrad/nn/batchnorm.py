"""BatchNorm1d and BatchNorm2d: F.batch_norm as layers, with PyTorch's arguments, buffers and repr."""
from .. import autograd, creation, dtypes
from . import init
from .functional.batch_norm import normalize
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    """Per-channel normalization: batch statistics in training (updating running_mean, running_var and
    num_batches_tracked when track_running_stats), running statistics in eval when tracked.

    momentum is the new batch's share of the running statistics; None makes them the cumulative
    average of every batch so far (share 1 / num_batches_tracked). weight starts at ones, bias at zeros.
    """

    tensor_input = True
    expected_dimensions = ()  # the input ranks this layer takes

    def __init__(self, num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        name = type(self).__name__
        if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features < 0:
            raise ValueError(f"{name}: num_features must be a non-negative int, got {num_features!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        placement = {"device": "cpu" if device is None else device, "dtype": dtype}
        if affine:
            self.weight = Parameter(creation.empty(num_features, **placement))
            if bias:
                self.bias = Parameter(creation.empty(num_features, **placement))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, **placement))
            self.register_buffer("running_var", creation.ones(num_features, **placement))
            self.register_buffer("num_batches_tracked",
                                 creation.zeros((), dtype=dtypes.int64, device=placement["device"]))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            with autograd.no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, x):
        if x.ndim not in self.expected_dimensions:
            ranks = " or ".join(f"{rank}D" for rank in self.expected_dimensions)
            raise ValueError(f"{type(self).__name__}: expected {ranks} input (got {x.ndim}D input)")

    def forward(self, x):
        self._check_input_dim(x)
        share = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with autograd.no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # the cumulative average
                share = 1.0 / float(self.num_batches_tracked.item())
        # batch statistics in training, and in eval when there are no running ones
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        running_given = not self.training or self.track_running_stats
        return normalize(type(self).__name__, x, self.running_mean if running_given else None,
                         self.running_var if running_given else None, self.weight, self.bias, use_batch, share,
                         self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input over N (and L), per channel C."""

    expected_dimensions = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) input over N, H and W, per channel C."""

    expected_dimensions = (4,)
