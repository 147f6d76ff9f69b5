"""Device dispatch: the one place the engine reaches the Numba kernels and the GPU.

A tensor's array is a NumPy ndarray on the CPU and a CudaArray (minigrad/cuda/array.py) on the
GPU. Elementwise math is NumPy's interface on both (in minigrad/ops/): on a CudaArray, NumPy
hands the call to minigrad/cuda/numpy_api.py, which runs it on GPU kernels. The heavy ops are
here: on the CPU the backend allocates the output arrays and the kernels of
``minigrad.kernels.cpu`` fill them; when the first array is a CudaArray, the function of the
same name in minigrad/cuda/ does the same with ``minigrad.kernels.cuda``. Kernel modules
are imported on first use: ``import minigrad`` loads no Numba and compiles nothing, and asking
for ``"cuda"`` on a machine without a GPU says so.

A file per family, all reached as ``backend.<function>``:

    routing.py      kernels(name), and the route of a CudaArray call to minigrad/cuda/
    devices.py      device names, moves between host and GPU, arrays made on a device
    products.py     the matrix product          elementwise.py  ReLU, the dropout mask
    losses.py       the fused softmax cross-entropy
    convolution.py  2-D convolution and pooling
    embedding.py    the embedding lookup, its scatter-add gradient, max_norm
    adaptive_pool.py adaptive average and max pooling (PyTorch's bins)
    batch_norm.py   batch normalization: training forward, eval affine, backward
    layer_norm.py   layer and group normalization: forward with saved statistics, backward
    optimizers.py   the fused optimizer updates
    activation.py   the activations' fused forward and backward (LeakyReLU, GELU, SiLU, Mish...)
    threads.py      how many threads the CPU kernels run on
"""
from .adaptive_pool import adaptive_avg_pool2d_backward, adaptive_avg_pool2d_forward, adaptive_max_pool2d_forward  # noqa: F401
from .batch_norm import batch_norm_affine, batch_norm_backward, batch_norm_training  # noqa: F401
from .convolution import (  # noqa: F401
    avg_pool2d_backward, avg_pool2d_forward, conv2d_backward_bias, conv2d_backward_input, conv2d_backward_weight,
    conv2d_forward, max_pool2d_backward, max_pool2d_forward,
)
from .devices import (  # noqa: F401
    as_array, check_device, contiguous, copied, device_of, full, full_like, move, to_device, to_host,
)
from .embedding import embedding_backward, embedding_forward, embedding_renorm  # noqa: F401
from .activation import ACTIVATION_PARAMETERS, activation_backward, activation_forward  # noqa: F401
from .elementwise import PARALLEL_ELEMENTWISE_SIZE, dropout_mask, relu_backward, relu_forward  # noqa: F401
from .losses import count_targets, softmax_cross_entropy  # noqa: F401
from .optimizers import (  # noqa: F401
    adadelta_update, adagrad_update, adam_update, adamax_update, nadam_update, radam_update, rmsprop_update,
    sgd_update,
)
from .products import matmul  # noqa: F401
from .layer_norm import group_norm_backward, group_norm_forward, layer_norm_backward, layer_norm_forward  # noqa: F401
from .resample import resample2d  # noqa: F401
from .threads import set_thread_count, thread_count, usable_cores  # noqa: F401
from .routing import ARRAY_TYPES, kernels, on_either_device, routed_to  # noqa: F401
