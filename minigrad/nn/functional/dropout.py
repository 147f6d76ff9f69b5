"""Dropout as functions (elementwise, and whole channels): the masks drawn from minigrad's generator."""
import warnings

from ... import backend, ops, random_state
from .arguments import check_tensors


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout); identity
    when not training or p == 0. The mask is drawn from minigrad's generator (``mg.manual_seed``)."""
    check_tensors("dropout", ("input", x))
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0  # every element dropped; 1/(1-p) would divide by zero
    return ops.Dropout.apply(x, probability=float(p), generator=random_state.generator())


def dropout2d(input, p=0.5, training=True, inplace=False):  # noqa: A002 (PyTorch's argument name)
    """Zero whole channels: each (sample, channel) plane of ``input`` with probability p, the rest scaled
    by 1/(1-p); identity when not training or p == 0. As PyTorch 2.13: the mask has shape
    input.shape[:2] + (1, ...), so a 3-D input is taken as (N, C, L), not as an unbatched (C, H, W) (with
    PyTorch's warning), and inputs that are not 3-D or 4-D warn. ``inplace`` is accepted for PyTorch's
    signature; the result is always a new tensor."""
    name = "dropout2d"
    check_tensors(name, ("input", input))
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will result in an "
            "error in a future release. To retain the behavior and silence this warning, please use dropout "
            "instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 spatial "
            "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior will "
            "change in a future release to interpret the input as one without a batch dimension, i.e. shape "
            "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using dropout1d "
            "instead.",
            stacklevel=2,
        )
    if not training or p == 0.0:
        return input
    if input.ndim < 2:  # refused only here, as PyTorch: no channel axis to drop along
        raise ValueError(f"{name}: feature dropout requires at least 2 dimensions in the input, got shape {input.shape}")
    if p == 1.0:
        return input * 0.0  # every channel dropped; 1/(1-p) would divide by zero
    # One draw per (sample, channel), broadcast over the rest: the mask is a constant of the
    # gradient, so the product's own backward, double backward and jvp are the gradient's.
    seed = int(random_state.generator().integers(0, 2**63 - 1))
    mask_shape = input.shape[:2] + (1,) * (input.ndim - 2)
    scaled_mask = backend.dropout_mask(seed, 1.0 - p, mask_shape, input.dtype, input.device)
    return input * input._wrap(scaled_mask, input.device)
