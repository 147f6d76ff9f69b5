"""Neural-network building blocks. So far: the functional API (``mg.nn.functional``)."""
from . import functional  # noqa: F401
