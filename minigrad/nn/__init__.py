"""Neural-network building blocks: Module and Parameter, layers, losses, the functional API, initialisation."""
from . import functional, init  # noqa: F401
from . import parallel, utils  # noqa: F401
from .activation import ReLU, Sigmoid, Tanh  # noqa: F401
from .activation import ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, Mish, ReLU6, SiLU, Softmax, Softplus  # noqa: F401
from .dropout import Dropout  # noqa: F401
from .batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from .adaptive_pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d  # noqa: F401
from .dropout import Dropout2d  # noqa: F401
from .flatten import Unflatten  # noqa: F401
from .embedding import Embedding  # noqa: F401
from .flatten import Flatten  # noqa: F401
from .container import ModuleDict, ModuleList, Sequential  # noqa: F401
from .conv import Conv2d  # noqa: F401
from .conv1d import Conv1d  # noqa: F401
from .conv_transpose import ConvTranspose2d  # noqa: F401
from .identity import Identity  # noqa: F401
from .linear import Linear  # noqa: F401
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss  # noqa: F401
from .loss import BCELoss, HuberLoss, KLDivLoss, L1Loss, SmoothL1Loss  # noqa: F401
from .module import Module  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .normalization import GroupNorm, LayerNorm  # noqa: F401
from .pooling import AvgPool2d, MaxPool2d  # noqa: F401
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401
from .padding import ConstantPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d  # noqa: F401
