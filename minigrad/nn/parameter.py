"""Parameter: a leaf tensor that requires grad and that a Module registers when it is assigned."""
import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        array = data.data if isinstance(data, Tensor) else np.asarray(data)
        device = data.device if isinstance(data, Tensor) else "cpu"
        super().__init__(array, dtype=array.dtype if array.dtype.kind == "f" else None, device=device,
                         requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
