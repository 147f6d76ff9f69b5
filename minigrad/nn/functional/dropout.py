"""Dropout as a function: the mask drawn from minigrad's generator."""
from ... import ops, random_state
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
