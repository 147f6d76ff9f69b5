"""Layer and group normalization on the fused kernels of kernels/cpu/layer_norm.py and its CUDA twin.

Both are the same row normalization, xhat = (x - mean_row) / sqrt(var_row + eps), then an affine
map: LayerNorm's rows are x's leading elements and its weight and bias follow the row's elements;
GroupNorm's rows are the (image, group) blocks of NC* x and its weight and bias follow channels.
``forward`` takes x and then whichever of weight and bias are given (``has_weight``,
``has_bias`` say which). The kernels give the first derivative; its own derivative
(``differentiable_backward``) is the same formula recomputed with recorded Tensor ops.
"""
import math

from .. import backend
from ..autograd import Function


class _RowNormalization(Function):
    """out = xhat * weight + bias,  xhat = (x - mean) * rstd per row,  rstd = 1 / sqrt(var + eps):
    dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per row, gw = g * weight;
    dweight = sum of g * xhat, dbias = sum of g over the positions that share an affine value
    """

    saved_names = ("mean", "rstd")

    def __init__(self, eps, has_weight, has_bias):
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias

    def _split(self, arrays):
        """(x, weight or None, bias or None) from forward's positional inputs."""
        x, rest = arrays[0], list(arrays[1:])
        weight = rest.pop(0) if self.has_weight else None
        bias = rest.pop(0) if self.has_bias else None
        return x, weight, bias

    def forward(self, *arrays):
        x, weight, bias = self._split(arrays)
        out, mean, rstd = self._forward(x, weight, bias)
        # arrays only (the tape reads their sizes): the weight when there is one
        self.save_for_backward(x, mean, rstd, *(() if weight is None else (weight,)))
        self.bias_shape = None if bias is None else bias.shape
        return out

    def _saved(self):
        """(x, mean, rstd, weight or None) as forward saved them."""
        x, mean, rstd = self.saved[:3]
        return x, mean, rstd, (self.saved[3] if len(self.saved) > 3 else None)

    def backward(self, g):
        x, mean, rstd, weight = self._saved()
        affine_grads = any(self.needs_input_grad[1:])
        grad_x, grad_weight, grad_bias = self._backward(g, x, weight, mean, rstd, affine_grads)
        grads = [grad_x if self.needs_input_grad[0] else None]
        if self.has_weight:
            grads.append(grad_weight.reshape(weight.shape) if self.needs_input_grad[1] else None)
        if self.has_bias:
            grads.append(grad_bias.reshape(self.bias_shape) if self.needs_input_grad[-1] else None)
        return tuple(grads)

    # --- in recorded Tensor ops, for double backward ------------------------------------------

    def _normalized(self, x):
        """(xhat in the rows layout, rstd (rows, 1)) recomputed from the Tensor x."""
        rows = x.reshape(self._rows_shape(x.shape))
        centred = rows - rows.mean(axis=1, keepdims=True)
        rstd = 1 / ((centred * centred).mean(axis=1, keepdims=True) + self.eps).sqrt()
        return centred * rstd, rstd

    def differentiable_backward(self, g):
        x, weight, bias = self._split(self.inputs)
        xhat, rstd = self._normalized(x)
        shape = x.shape
        gw = g if weight is None else g * weight.reshape(self._affine_shape(shape))
        gw = gw.reshape(self._rows_shape(shape))
        dx = rstd * (gw - gw.mean(axis=1, keepdims=True) - xhat * (gw * xhat).mean(axis=1, keepdims=True))
        grads = [dx.reshape(shape) if self.needs_input_grad[0] else None]
        axes = self._reduced_axes(shape)
        if weight is not None:
            dweight = (g * xhat.reshape(shape)).sum(axis=axes) if self.needs_input_grad[1] else None
            grads.append(None if dweight is None else dweight.reshape(weight.shape))
        if bias is not None:
            grads.append(g.sum(axis=axes).reshape(bias.shape) if self.needs_input_grad[-1] else None)
        return tuple(grads)

    def jvp(self, *tangents):
        """dout = rstd * (dx - mean(dx) - xhat * mean(dx * xhat)) * weight + xhat * dweight + dbias"""
        x, weight, _ = self._split(self.primal_inputs)
        dx, dweight, dbias = self._split(tangents)
        _, mean, rstd, _ = self._saved()
        shape = x.shape
        rows_shape = self._rows_shape(shape)
        mean, rstd = mean.reshape(rows_shape[0], 1), rstd.reshape(rows_shape[0], 1)
        xhat = ((x.reshape(rows_shape) - mean) * rstd).reshape(shape)
        terms = []
        if dx is not None:
            rows = dx.reshape(rows_shape)
            xhat_rows = xhat.reshape(rows_shape)
            dxhat = rstd * (rows - rows.mean(axis=1, keepdims=True)
                            - xhat_rows * (rows * xhat_rows).mean(axis=1, keepdims=True))
            dxhat = dxhat.reshape(shape)
            terms.append(dxhat if weight is None else dxhat * weight.reshape(self._affine_shape(shape)))
        if dweight is not None:
            terms.append(xhat * dweight.reshape(self._affine_shape(shape)))
        if dbias is not None:
            terms.append(backend.full_like(self.primal_output, 0) + dbias.reshape(self._affine_shape(shape)))
        if not terms:
            return None
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total


class LayerNorm(_RowNormalization):
    __doc__ = _RowNormalization.__doc__ + """
    rows: x's leading elements; a row is the trailing ``normalized_shape`` elements, which weight
    and bias have the shape of
    """

    def __init__(self, normalized_shape, eps, has_weight=False, has_bias=False):
        super().__init__(eps, has_weight, has_bias)
        self.normalized_shape = tuple(normalized_shape)
        self.row_length = math.prod(self.normalized_shape)

    def _forward(self, x, weight, bias):
        return backend.layer_norm_forward(x, weight, bias, self.row_length, self.eps)

    def _backward(self, g, x, weight, mean, rstd, affine_grads):
        return backend.layer_norm_backward(g, x, weight, mean, rstd, self.row_length, affine_grads)

    def _rows_shape(self, shape):
        return (math.prod(shape) // self.row_length, self.row_length)

    def _affine_shape(self, shape):
        return self.normalized_shape  # broadcasts over the leading axes

    def _reduced_axes(self, shape):
        return tuple(range(len(shape) - len(self.normalized_shape)))


class GroupNorm(_RowNormalization):
    __doc__ = _RowNormalization.__doc__ + """
    rows: the (image, group) blocks of x (N, C, *), C / groups channels each; weight and bias (C,)
    """

    def __init__(self, groups, eps, has_weight=False, has_bias=False):
        super().__init__(eps, has_weight, has_bias)
        self.groups = groups

    def _forward(self, x, weight, bias):
        return backend.group_norm_forward(x, weight, bias, self.groups, self.eps)

    def _backward(self, g, x, weight, mean, rstd, affine_grads):
        return backend.group_norm_backward(g, x, weight, mean, rstd, self.groups, affine_grads)

    def _rows_shape(self, shape):
        return (shape[0] * self.groups, math.prod(shape[1:]) // self.groups)

    def _affine_shape(self, shape):
        return (1, shape[1]) + (1,) * (len(shape) - 2)

    def _reduced_axes(self, shape):
        return (0,) + tuple(range(2, len(shape)))

