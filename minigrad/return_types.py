"""The named pairs that max, min, sort and topk return, as ``torch.return_types``: a tuple of
(values, indices) that unpacks like one (``values, indices = x.max(1)``) and names its fields
(``x.max(1).indices``)."""
import collections


def _pair(name):
    pair = collections.namedtuple(name, ["values", "indices"])
    pair.__module__ = __name__
    pair.__qualname__ = name
    pair.__repr__ = lambda self: (f"minigrad.return_types.{name}(\nvalues={self.values!r},\n"
                                  f"indices={self.indices!r})")
    return pair


max = _pair("max")  # noqa: A001  (PyTorch's names)
min = _pair("min")  # noqa: A001
sort = _pair("sort")
topk = _pair("topk")

__all__ = ["max", "min", "sort", "topk"]
