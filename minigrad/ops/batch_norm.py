"""Batch normalization on the fused kernels of kernels/cpu/batch_norm.py and its CUDA twin, through minigrad/backend/.

The input (N, C, *) is viewed as (N, C, L); every statistic is per channel, over the N*L values of it.
In training the op normalizes with the batch's mean and biased variance and, given running buffers,
updates them in place inside the same kernel (the running statistics are state, not part of the
graph: nothing differentiates through them, as in PyTorch). In eval it normalizes with the running
statistics, a single affine pass. Backward is one kernel from the saved mean and inverse std;
``differentiable_backward`` writes the same gradient with Tensor ops, so it can be differentiated again.
"""
import math

import numpy as np

from .. import backend
from ..autograd import Function

CHANNEL_AXES = (0, 2)  # of the (N, C, L) view: every axis but the channel's


class BatchNorm(Function):
    """out = (x - mean) * invstd * weight + bias per channel, mean and invstd = 1/sqrt(var + eps) the batch's
    (var biased) in training, the running statistics' in eval:
    dx = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)) (training) or weight * invstd * g (eval),
    dweight = sum of g * xhat,  dbias = sum of g   (xhat = (x - mean) * invstd)

    Inputs are x, then the weight and the bias that are present (``has_weight``, ``has_bias``).
    """

    saved_names = ("input", "mean", "invstd", "weight")

    def __init__(self, training, eps, momentum=0.1, running_mean=None, running_var=None, has_weight=True,
                 has_bias=True):
        self.training, self.eps, self.momentum = training, eps, momentum
        self.running_mean, self.running_var = running_mean, running_var
        self.has_weight, self.has_bias = has_weight, has_bias

    def _affine(self, parameters):
        weight = parameters[0] if self.has_weight else None
        bias = parameters[-1] if self.has_bias else None
        return weight, bias

    def forward(self, x, *parameters):
        weight, bias = self._affine(parameters)
        self.shape = tuple(x.shape)
        self.view_shape = (x.shape[0], x.shape[1], math.prod(x.shape[2:]))
        x3 = x.reshape(self.view_shape)
        if self.training:
            out, mean, invstd = backend.batch_norm_training(x3, weight, bias, self.eps, self.momentum,
                                                            self.running_mean, self.running_var)
        else:
            # copies: a later training step updates the buffers in place, and backward needs these
            mean = self.running_mean.astype(x.dtype, copy=True)
            invstd = (1 / np.sqrt(self.running_var + self.eps)).astype(x.dtype, copy=False)
            scale = invstd if weight is None else invstd * weight
            shift = -mean * scale if bias is None else bias - mean * scale
            out = backend.batch_norm_affine(x3, scale, shift)
        self.save_for_backward(x, mean, invstd, *([] if weight is None else [weight]))
        return out.reshape(self.shape)

    def _saved(self):
        """(x, mean, invstd, weight or None) as forward saved them."""
        x, mean, invstd, *weight = self.saved
        return x, mean, invstd, (weight[0] if weight else None)

    def backward(self, g):
        x, mean, invstd, weight = self._saved()
        needs = self.needs_input_grad
        dx, dweight, dbias = backend.batch_norm_backward(
            g.reshape(self.view_shape), x.reshape(self.view_shape), weight, mean, invstd, self.training, needs[0])
        gradients = [None if dx is None else dx.reshape(self.shape)]
        if self.has_weight:
            gradients.append(dweight if needs[1] else None)
        if self.has_bias:
            gradients.append(dbias if needs[-1] else None)
        return tuple(gradients)

    def _channel(self, array_or_tensor):
        return array_or_tensor.reshape(1, self.view_shape[1], 1)

    def differentiable_backward(self, g):
        x3, g3 = self.inputs[0].reshape(self.view_shape), g.reshape(self.view_shape)
        if self.training:
            centred = x3 - x3.mean(dim=CHANNEL_AXES, keepdim=True)
            invstd = ((centred * centred).mean(dim=CHANNEL_AXES, keepdim=True) + self.eps) ** -0.5
        else:
            _, mean, invstd, _ = self._saved()
            centred = x3 - self.constant(self._channel(mean))
            invstd = self.constant(self._channel(invstd))
        xhat = centred * invstd
        grad_xhat = g3
        if self.training:
            grad_xhat = (g3 - g3.mean(dim=CHANNEL_AXES, keepdim=True)
                         - xhat * (g3 * xhat).mean(dim=CHANNEL_AXES, keepdim=True))
        dx = grad_xhat * invstd
        if self.has_weight:
            dx = dx * self.inputs[1].reshape(1, self.view_shape[1], 1)
        gradients = [dx.reshape(self.shape) if self.needs_input_grad[0] else None]
        if self.has_weight:
            gradients.append((g3 * xhat).sum(dim=CHANNEL_AXES) if self.needs_input_grad[1] else None)
        if self.has_bias:
            gradients.append(g3.sum(dim=CHANNEL_AXES) if self.needs_input_grad[-1] else None)
        return tuple(gradients)

    def jvp(self, dx, *parameter_tangents):
        """dout = weight * invstd * (dx - mean(dx) - xhat * mean(dx * xhat)) + dweight * xhat + dbias
        (eval: weight * invstd * dx + dweight * xhat + dbias)"""
        _, mean, invstd, weight = self._saved()
        dweight, dbias = self._affine(parameter_tangents)
        x3 = self.primal_inputs[0].reshape(self.view_shape)
        mean, invstd = self._channel(mean), self._channel(invstd)
        xhat = (x3 - mean) * invstd
        dout = backend.full_like(xhat, 0)
        if dx is not None:
            dx3 = dx.reshape(self.view_shape)
            if self.training:
                dx3 = (dx3 - np.mean(dx3, axis=CHANNEL_AXES, keepdims=True)
                       - xhat * np.mean(dx3 * xhat, axis=CHANNEL_AXES, keepdims=True))
            dxhat = dx3 * invstd
            dout = dout + (dxhat if weight is None else dxhat * self._channel(weight))
        if dweight is not None:
            dout = dout + xhat * self._channel(dweight)
        if dbias is not None:
            dout = dout + self._channel(dbias)
        return dout.reshape(self.shape)
