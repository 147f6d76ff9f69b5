"""Neural-network building blocks: Module and Parameter, layers, the functional API, initialisation."""
from . import functional, init  # noqa: F401
from .conv import Conv2d  # noqa: F401
from .module import Module  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .pooling import AvgPool2d, MaxPool2d  # noqa: F401
