"""``once_differentiable``: a custom Function's backward that cannot itself be differentiated, as
``torch.autograd.function.once_differentiable``; and ``DelayedError``, the node that says so when
something tries (it also marks the gradients of a kernel op, kernel_op.py)."""
import functools

from . import autograd

ONCE_DIFFERENTIABLE = "trying to differentiate twice a function that was marked with @once_differentiable"


def once_differentiable(backward):
    """Decorate a custom Function's backward that is not itself differentiable (it works on arrays, or
    calls a kernel): it runs under no_grad, and under create_graph its gradients carry a node that
    raises if anything tries to differentiate through them.

    As PyTorch's: the gradients are marked only where a grad_output requires grad; otherwise they
    are plain constants.
    """
    from .tensor import Tensor

    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        with autograd.no_grad():
            gradients = backward(ctx, *grad_outputs)
        if not autograd.is_grad_enabled():
            return gradients
        if not any(isinstance(gradient, Tensor) and gradient.requires_grad for gradient in grad_outputs):
            return gradients
        single = not isinstance(gradients, tuple)
        marked = tuple(delayed_error(gradient, ONCE_DIFFERENTIABLE) if isinstance(gradient, Tensor) else gradient
                       for gradient in ((gradients,) if single else gradients))
        return marked[0] if single else marked

    return wrapper


class DelayedError(autograd.Function):
    """The identity, whose backward raises ``message``: it marks a gradient that must not be
    differentiated again."""

    def __init__(self, message):
        self.message = message

    def forward(self, array):
        return array

    def backward(self, grad_output):
        raise RuntimeError(self.message)

    differentiable_backward = backward


def delayed_error(tensor, message):
    """``tensor``'s values behind a DelayedError node, applied to a fresh leaf (PyTorch's recipe)."""
    leaf = tensor._wrap(tensor.data, tensor.device)
    leaf._requires_grad = True
    return DelayedError.apply(leaf, message=message)
