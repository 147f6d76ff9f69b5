"""Window geometry of convolutions and pools: argument checks and output sizes, before any kernel runs."""


def pair_of(name, what, value, minimum):
    """An int or a pair of ints as (height, width), each at least ``minimum``."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(item, int) and not isinstance(item, bool) for item in pair):
        raise TypeError(f"{name}: {what} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name}: {what} must be at least {minimum}, got {value!r}")
    return pair


def check_4d(name, x, what="input", layout="(batch, channels, height, width)"):
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D {what} {layout}, got shape {x.shape}")


def output_length(name, size, padding_before, padding_after, kernel, dilation, stride, axis):
    """Floor-mode output length along one axis, with a clear error when the window does not fit."""
    padded = size + padding_before + padding_after
    reach = dilation * (kernel - 1) + 1
    if reach > padded:
        dilated = f" (dilated to {reach})" if dilation > 1 else ""
        raise ValueError(
            f"{name}: kernel {axis} {kernel}{dilated} is larger than the padded input {axis} {padded} "
            f"({size} + padding {padding_before} + {padding_after})"
        )
    return (padded - reach) // stride + 1


def conv_padding(name, padding, kernel_size, dilation, stride):
    """(top, bottom, left, right) from an int, a pair, "valid" or "same" (extra on bottom/right, as PyTorch)."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"{name}: padding='same' needs stride 1, got stride {stride}")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel_size)]
        return totals[0] // 2, totals[0] - totals[0] // 2, totals[1] // 2, totals[1] - totals[1] // 2
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")  # noqa: TRY004 (a wrong value, not a wrong type)
    vertical, horizontal = pair_of(name, "padding", padding, 0)
    return vertical, vertical, horizontal, horizontal
