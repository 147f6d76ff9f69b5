"""ConvTranspose2d and Conv1d on the "cuda" device: forward, gradients and second derivatives equal the CPU's.

Both run on Conv2d's kernels (their CUDA twins through minigrad/backend/), so these check the
geometry each hands them on the device: strides, padding, output_padding, dilation, groups. Tiny
shapes: the simulator runs every GPU thread as a Python thread.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

CASES = {
    "transpose stride 2 output_padding 1": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1), (2, 2, 2, 3), (2, 2, 3, 3), (2,)),
    "transpose strides 3x1 dilation 1x2": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(3, 1), dilation=(1, 2), output_padding=(2, 1)),
        (1, 2, 2, 3), (2, 2, 2, 3), (2,)),
    "transpose groups 2": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, groups=2), (1, 4, 2, 2), (4, 1, 2, 2), (2,)),
    "conv1d stride 2 padding 1": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), (2, 3, 5), (2, 3, 3), (2,)),
    "conv1d same dilation 2": (lambda x, w, b: F.conv1d(x, w, b, padding="same", dilation=2), (1, 2, 6), (3, 2, 2), (3,)),
}


def run_on(device, function, arrays, second_order):
    """function(*tensors) on ``device``, backward of the sum of its square (twice when ``second_order``);
    the output and the input gradients as host arrays."""
    tensors = [mg.tensor(array, device=device, requires_grad=True) for array in arrays]
    out = function(*tensors)
    loss = (out * out).sum()
    if second_order:
        gradients = mg.autograd.grad(loss, tensors, create_graph=True)
        loss = sum((gradient * gradient).sum() for gradient in gradients)
    loss.backward()
    return out.cpu().data, [t.grad.cpu().data for t in tensors]


@pytest.mark.parametrize("name, second_order", [(name, False) for name in sorted(CASES)]
                         + [("transpose stride 2 output_padding 1", True)])
def test_values_and_gradients_match_the_cpu(name, second_order):
    function, *shapes = CASES[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    cpu_out, cpu_grads = run_on("cpu", function, arrays, second_order)
    cuda_out, cuda_grads = run_on("cuda", function, arrays, second_order)
    np.testing.assert_allclose(cuda_out, cpu_out, rtol=1e-12, atol=1e-12)
    for label, cpu_grad, cuda_grad in zip(("input", "weight", "bias"), cpu_grads, cuda_grads):
        np.testing.assert_allclose(cuda_grad, cpu_grad, rtol=1e-11, atol=1e-11, err_msg=label)


def test_the_layer_moves_to_the_device():
    layer = mg.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1, device="cuda")
    assert layer.weight.device == "cuda" and layer.bias.device == "cuda"
    out = layer(mg.randn(1, 2, 3, 3, device="cuda"))
    assert out.device == "cuda" and out.shape == (1, 3, 6, 6)
