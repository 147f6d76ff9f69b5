"""``mg.Size``: a tensor's shape, a tuple of ints (``torch.Size``): ``x.shape`` and ``x.size()`` return one."""


class Size(tuple):
    """A tuple of dimension sizes: equal to the plain tuple, ``numel()`` the product.

    ``repr`` reads ``minigrad.Size([2, 3])`` as PyTorch's ``torch.Size([2, 3])``; ``str`` stays the
    tuple's ``(2, 3)``, so the shapes quoted in error messages read as they always have.
    """

    __slots__ = ()

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        for size in sizes:
            if isinstance(size, bool) or not hasattr(size, "__index__"):
                raise TypeError(f"Size: sizes must be integers, got {type(size).__name__} {size!r} in {sizes}")
        return tuple.__new__(cls, (size.__index__() for size in sizes))

    def numel(self):
        """The number of elements a tensor of this shape holds (1 for the empty shape of a 0-d tensor)."""
        count = 1
        for size in self:
            count *= size
        return count

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return tuple.__new__(Size, item) if isinstance(index, slice) else item

    def __add__(self, other):
        result = tuple.__add__(self, other)
        return result if result is NotImplemented else tuple.__new__(Size, result)

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, other + tuple(self))

    def __mul__(self, count):
        result = tuple.__mul__(self, count)
        return result if result is NotImplemented else tuple.__new__(Size, result)

    __rmul__ = __mul__

    def __repr__(self):
        return f"minigrad.Size({list(self)})"

    __str__ = tuple.__repr__

    def __reduce__(self):
        return (Size, (tuple(self),))
