"""The activations against PyTorch in the differential fuzzer (loaded by differential_ops.py). The
elementwise ones join the random compositions through ``elementwise``; their options (slopes, bounds,
beta and threshold) are fixed per registration, drawn from the values users pass.

Hardtanh and ReLU6 are not here: at a NaN input PyTorch's gradient is 0 from its vectorised float64
kernel and the incoming gradient from its float32 and scalar ones (so it changes with dtype and
array size); minigrad passes the gradient on throughout. tests/test_activations.py compares them
with that rule, everywhere else exactly as here."""
import torch.nn.functional as torch_functional
import torch_references
from differential_ops import elementwise

from minigrad.nn import functional as F

elementwise("leaky_relu", lambda x: F.leaky_relu(x), torch_functional.leaky_relu)
elementwise("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), lambda x: torch_functional.leaky_relu(x, 0.2))
elementwise("elu", lambda x: F.elu(x), torch_functional.elu)
elementwise("elu_alpha_0.5", lambda x: F.elu(x, 0.5), lambda x: torch_functional.elu(x, 0.5))
elementwise("gelu", lambda x: F.gelu(x), torch_references.gelu)
elementwise("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda x: torch_functional.gelu(x, approximate="tanh"))
elementwise("silu", lambda x: F.silu(x), torch_functional.silu)
elementwise("softplus", lambda x: F.softplus(x), torch_functional.softplus)
elementwise("softplus_beta_2", lambda x: F.softplus(x, 2.0, 5.0), lambda x: torch_functional.softplus(x, 2.0, 5.0))
elementwise("mish", lambda x: F.mish(x), torch_functional.mish)
