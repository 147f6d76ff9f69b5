"""The linear layer as a function."""
from ... import ops
from .arguments import check_one_float_dtype, check_tensors


def linear(x, weight, bias=None):
    """x @ weight.T + bias, weight (out_features, in_features) as PyTorch stores it; x (..., in_features)."""
    name = "linear"
    check_tensors(name, ("input", x), ("weight", weight), ("bias", bias))
    if weight.ndim != 2:
        raise ValueError(f"{name}: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"{name}: input of shape {x.shape} does not end in the weight's {weight.shape[1]} input features "
            f"(weight {weight.shape})"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"{name}: bias of shape {bias.shape} does not match {weight.shape[0]} output features")
    check_one_float_dtype(name, ("input", x), ("weight", weight), ("bias", bias))
    return ops.Linear.apply(x, weight) if bias is None else ops.Linear.apply(x, weight, bias)
