"""Broadcasting in reverse: the gradient of an op whose inputs NumPy broadcast."""


def unbroadcast(gradient, shape):
    """Sum ``gradient`` over the axes broadcasting added or stretched, so it has ``shape`` again."""
    if gradient.shape == shape:
        return gradient
    added = gradient.ndim - len(shape)
    stretched = tuple(added + axis for axis, size in enumerate(shape) if size == 1 and gradient.shape[added + axis] != 1)
    return gradient.sum(axis=tuple(range(added)) + stretched, keepdims=True).reshape(shape)
