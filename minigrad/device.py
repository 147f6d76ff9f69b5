"""``mg.device``: where a tensor lives, as ``torch.device`` (a type, "cpu" or "cuda", and an optional index).

A device is also a ``str`` holding its canonical name ("cpu", "cuda"; "cuda:1" for an index other
than 0), so everything that compares devices with strings keeps working: ``x.device == "cpu"`` and
``x.device == mg.device("cpu")`` are both true, and ``mg.device("cuda") == mg.device("cuda:0")``.
minigrad uses one GPU: a device with another index can be written down, and is refused where a
tensor would be put on it (backend.check_device).
"""

TYPES = ("cpu", "cuda")


class Device(str):
    """torch.device: ``Device("cuda")``, ``Device("cuda:0")``, ``Device("cuda", 0)``, ``Device(0)``, ``Device(other)``."""

    def __new__(cls, type, index=None):  # noqa: A002  (torch.device's argument names)
        if isinstance(type, Device) and index is None:
            return type
        device_type, index = _parsed(type, index)
        name = device_type if index in (None, 0) else f"{device_type}:{index}"
        device = str.__new__(cls, name)
        device.type, device.index = device_type, index
        return device

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __getnewargs__(self):  # pickle and copy rebuild it from its parts, not from its name
        return (self.type, self.index)

    __hash__ = str.__hash__


def _parsed(description, index):
    """(type, index) from ``"cuda:0"``, ``("cuda", 0)`` or ``0`` (a GPU's index), or the error torch.device gives."""
    if isinstance(description, int) and not isinstance(description, bool) and index is None:
        description, index = "cuda", description
    if not isinstance(description, str):
        raise TypeError(f"device: expected a device string such as 'cpu' or 'cuda:0', got "
                        f"{type(description).__name__} {description!r}")
    device_type, colon, written_index = description.partition(":")
    if device_type not in TYPES:
        raise ValueError(f"unknown device {description!r}; expected 'cpu' or 'cuda' (optionally with an "
                         "index, 'cuda:0')")
    if colon:
        if index is not None:
            raise ValueError(f"device: {description!r} already names an index; give the index once, either "
                             "in the string or as the second argument")
        if not written_index.isdigit():
            raise ValueError(f"device: invalid device string {description!r}: the index after ':' must be "
                             "a non-negative integer")
        index = int(written_index)
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"device: the index must be an int, got {type(index).__name__} {index!r}")
        if index < 0:
            raise ValueError(f"device: the index must not be negative, got {index}")
    return device_type, index


CPU = Device("cpu")
CUDA = Device("cuda", 0)  # a GPU tensor's device, as PyTorch reports it: device(type='cuda', index=0)

# A tensor's device from the name an op or the backend gives ("cpu", "cuda" or a Device of either).
CANONICAL = {"cpu": CPU, "cuda": CUDA}
