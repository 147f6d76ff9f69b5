"""The Tensor's shape methods: reshape/view(_as), flatten, permute/transpose, (un)squeeze,
expand(_as), repeat, and the views split and chunk. PyTorch's signatures and errors; the math is
in minigrad/ops/shape.py.
"""
import numpy as np

from . import arguments, ops


class ShapeMethods:
    __slots__ = ()

    def reshape(self, *shape):
        return ops.Reshape.apply(self, shape=arguments.resolved_shape(self, arguments.shape_argument(shape)))

    view = reshape

    def view_as(self, other):
        """This tensor with ``other``'s shape (``other`` a tensor)."""
        return self.reshape(_shape_of("view_as", other))

    def flatten(self, start_dim=0, end_dim=-1):
        start, end = arguments.one_axis(self, "flatten", start_dim), arguments.one_axis(self, "flatten", end_dim)
        if self.ndim == 0:
            return self.reshape(1)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        shape = self.shape[:start] + (int(np.prod(self.shape[start : end + 1])),) + self.shape[end + 1 :]
        return ops.Reshape.apply(self, shape=tuple(shape))

    def permute(self, *axes):
        axes = tuple(arguments.one_axis(self, "permute", axis) for axis in arguments.shape_argument(axes))
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of the {self.ndim} axes of shape {self.shape}")
        return ops.Permute.apply(self, axes=axes)

    def transpose(self, dim0=None, dim1=None):
        """Swap two axes (PyTorch), or reverse them all when called without arguments (NumPy)."""
        if dim0 is None and dim1 is None:
            return ops.Permute.apply(self, axes=tuple(reversed(range(self.ndim))))
        if dim0 is None or dim1 is None:
            raise ValueError("transpose: give both axes to swap, or none to reverse all axes")
        first, second = arguments.one_axis(self, "transpose", dim0), arguments.one_axis(self, "transpose", dim1)
        axes = list(range(self.ndim))
        if axes:  # a 0-d tensor's only "axis" (0 or -1) swaps with itself
            axes[first], axes[second] = axes[second], axes[first]
        return ops.Permute.apply(self, axes=tuple(axes))

    T = property(lambda self: self.transpose())

    def unsqueeze(self, dim):
        """A new axis of size 1 at ``dim`` (in [-ndim - 1, ndim], counted in the result)."""
        dim = arguments.integer("unsqueeze", "dim", dim)
        position = dim if dim >= 0 else dim + self.ndim + 1
        if not 0 <= position <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor of {self.ndim} dimensions "
                             f"(expected one in [{-self.ndim - 1}, {self.ndim}])")
        return ops.Reshape.apply(self, shape=tuple(self.shape[:position]) + (1,) + tuple(self.shape[position:]))

    def squeeze(self, dim=None):
        """Without ``dim`` every axis of size 1 removed; else those of ``dim`` (an int or a tuple)
        that have size 1 (others are left as they are, as in PyTorch)."""
        if dim is None:
            shape = tuple(size for size in self.shape if size != 1)
        else:
            named = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
            axes = [arguments.one_axis(self, "squeeze", axis) for axis in named]
            if len(set(axes)) != len(axes):
                raise ValueError(f"squeeze: dim {named} names a dim more than once")
            shape = tuple(size for index, size in enumerate(self.shape) if not (index in axes and size == 1))
        return ops.Reshape.apply(self, shape=shape)

    def expand(self, *sizes):
        """A view with size-1 axes stretched (and new leading axes) to ``sizes``; -1 keeps a size."""
        if not sizes:
            raise TypeError("expand: missing the sizes (give at least one)")
        sizes = tuple(arguments.integer("expand", "size", size) for size in arguments.shape_argument(sizes))
        added = len(sizes) - self.ndim
        if added < 0:
            raise ValueError(f"expand: the number of sizes given ({len(sizes)}) must be at least the number of "
                             f"dimensions of the tensor of shape {self.shape} ({self.ndim})")
        target = []
        for position, size in enumerate(sizes):
            if position < added:
                if size < 0:
                    raise ValueError(f"expand: size {size} is not allowed for the new leading dim {position} "
                                     f"(sizes {sizes})")
                target.append(size)
                continue
            existing = self.shape[position - added]
            if size == -1:
                size = existing
            if size < 0 or (existing != 1 and size != existing):
                raise ValueError(f"expand: the expanded size {size} must match the existing size {existing} at "
                                 f"non-singleton dim {position}; target sizes {sizes}, tensor shape {self.shape}")
            target.append(size)
        return ops.Expand.apply(self, shape=tuple(target))

    def expand_as(self, other):
        return self.expand(_shape_of("expand_as", other))

    def repeat(self, *sizes):
        """This tensor tiled ``sizes`` times along each axis (new leading axes where ``sizes`` is longer),
        as np.tile: a reshape, an expand and a reshape, so the gradient sums the copies."""
        if not sizes:
            raise TypeError("repeat: missing the sizes (give at least one)")
        sizes = tuple(arguments.integer("repeat", "repeats", size) for size in arguments.shape_argument(sizes))
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat: the number of repeats ({len(sizes)}) must be at least the number of "
                             f"dimensions of the tensor of shape {self.shape} ({self.ndim})")
        if any(size < 0 for size in sizes):
            raise ValueError(f"repeat: repeats must be non-negative, got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + tuple(self.shape)
        interleaved = tuple(size for pair in zip((1,) * len(shape), shape) for size in pair)
        stretched = tuple(size for pair in zip(sizes, shape) for size in pair)
        result = tuple(count * size for count, size in zip(sizes, shape))
        return self.reshape(interleaved).expand(stretched).reshape(result)

    def split(self, split_size_or_sections, dim=0):
        """Views along ``dim``: pieces of ``split_size_or_sections`` (an int; the last may be
        shorter) or of the sizes listed (they must add up to the dim's size). A tuple of tensors."""
        position = _split_dim(self, "split", dim)
        length = self.shape[position]
        if isinstance(split_size_or_sections, (tuple, list)):
            sizes = [arguments.integer("split", "split_sizes", size) for size in split_size_or_sections]
            if any(size < 0 for size in sizes) or sum(sizes) != length:
                raise ValueError(f"split: split sizes {sizes} must be non-negative and add up to {length}, the "
                                 f"size of dim {dim} of the tensor of shape {self.shape}")
        else:
            size = arguments.integer("split", "split_size", split_size_or_sections)
            if size < 0 or (size == 0 and length != 0):
                raise ValueError(f"split: split_size must be positive (0 only for an empty dim), got {size} for "
                                 f"dim {dim} of size {length}")
            sizes = [min(size, length - start) for start in range(0, length, size)] if length else [0]
        return _pieces(self, position, sizes)

    def chunk(self, chunks, dim=0):
        """At most ``chunks`` views along ``dim`` of ceil(size / chunks) each (the last may be shorter,
        and fewer come back when the size does not fill them)."""
        chunks = arguments.integer("chunk", "chunks", chunks)
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        position = _split_dim(self, "chunk", dim)
        length = self.shape[position]
        if length == 0:
            return _pieces(self, position, [0] * chunks)
        return self.split(-(-length // chunks), position)


def _shape_of(name, other):
    if not hasattr(other, "shape") or not hasattr(other, "data"):
        raise TypeError(f"{name}: expected a tensor, got {type(other).__name__}")
    return tuple(other.shape)


def _split_dim(tensor, name, dim):
    if tensor.ndim == 0:
        raise ValueError(f"{name}: expects a tensor of at least one dimension, got a 0-d tensor")
    return arguments.one_axis(tensor, name, arguments.integer(name, "dim", dim))


def _pieces(tensor, position, sizes):
    """Views of consecutive ``sizes`` along axis ``position`` (basic slices: GetItem views)."""
    pieces, start = [], 0
    for size in sizes:
        pieces.append(tensor[(slice(None),) * position + (slice(start, start + size),)])
        start += size
    return tuple(pieces)
