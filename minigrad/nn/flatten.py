"""Flatten: axes merged into one, as a module."""
from .module import Module


class Flatten(Module):
    """Merge axes start_dim..end_dim into one (by default everything but the batch axis)."""

    tensor_input = True

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size`` (a tuple or list of ints; one may be -1), the
    inverse of Flatten."""

    tensor_input = True

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for position, item in enumerate(unflattened_size):
            if not isinstance(item, int):
                raise TypeError(f"Unflatten: unflattened_size must be tuple of ints, but found element of type "
                                f"{type(item).__name__} at pos {position}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, x):
        if not -x.ndim <= self.dim < x.ndim:  # a 0-d input has no dimension to split
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for an input of {x.ndim} dimensions "
                             f"(shape {x.shape})")
        axis = self.dim % x.ndim
        sizes = tuple(self.unflattened_size)
        length = x.shape[axis]
        if not sizes:
            raise RuntimeError("Unflatten: unflattened_size must be non-empty, got ()")
        if sizes.count(-1) > 1 or any(item < -1 for item in sizes):
            raise RuntimeError(f"Unflatten: unflattened_size {self.unflattened_size} may hold one -1 and no other "
                               "negative size")
        known = 1
        for item in sizes:
            if item != -1:
                known *= item
        if -1 in sizes:
            if known == 0 or length % known:
                raise RuntimeError(f"Unflatten: unflattened_size {self.unflattened_size} cannot split dimension "
                                   f"{self.dim} of size {length} (input shape {x.shape})")
            sizes = tuple(length // known if item == -1 else item for item in sizes)
        elif known != length:
            raise RuntimeError(f"Unflatten: unflattened_size {self.unflattened_size} must multiply to the size "
                               f"{length} of dimension {self.dim} (input shape {x.shape})")
        return x.reshape(x.shape[:axis] + sizes + x.shape[axis + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
