"""Functions on tensors, PyTorch's ``torch.nn.functional`` names. Each checks its arguments (with the
function's name in every message, arguments.py), then applies an op from minigrad/ops/. A file per
family, all reached as ``F.<name>``."""
from .activations import log_softmax, relu, sigmoid, softmax, tanh  # noqa: F401
from .activations import elu, gelu, hardtanh, leaky_relu, mish, relu6, silu, softplus  # noqa: F401
from .dropout import dropout  # noqa: F401
from .batch_norm import batch_norm  # noqa: F401
from .adaptive_pooling import adaptive_avg_pool2d, adaptive_max_pool2d  # noqa: F401
from .dropout import dropout2d  # noqa: F401
from .embedding import embedding  # noqa: F401
from .convolution import avg_pool2d, conv2d, max_pool2d  # noqa: F401
from .conv_transpose import conv_transpose2d  # noqa: F401
from .conv1d import conv1d  # noqa: F401
from .linear import linear  # noqa: F401
from .normalization import group_norm, layer_norm  # noqa: F401
from .resample import interpolate  # noqa: F401
from .padding import pad  # noqa: F401
from .losses import binary_cross_entropy_with_logits, cross_entropy, l2_loss, mse_loss, nll_loss  # noqa: F401
from .losses import binary_cross_entropy, huber_loss, kl_div, l1_loss, smooth_l1_loss  # noqa: F401
