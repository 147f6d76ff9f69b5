"""kernels/cuda/conv_depthwise.py against kernels/cpu/conv_depthwise.py on the same arrays, and the
grouped CUDA ops (depthwise and general groups) against the CPU backend.

Tiny shapes (the simulator runs every GPU thread as a Python thread): 2 images, 3 channels, 7x6
planes, channel multipliers 1 and 2, with strides, asymmetric padding and dilation.
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import conv_depthwise as cpu
from minigrad.kernels.cuda import conv_depthwise as gpu
from numba import cuda

DTYPES = [np.float32, np.float64]
TOLERANCES = {np.float32: {"rtol": 1e-5, "atol": 1e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}

# (kernel (KH, KW), stride (h, w), padding (top, bottom, left, right), dilation (h, w)).
GEOMETRIES = {
    "3x3-same": ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
    "3x3-stride2-pad1": ((3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
    "2x3-stride2x1-asymmetric": ((2, 3), (2, 1), (0, 1, 2, 1), (1, 1)),
    "3x2-dilation2-pad2": ((3, 2), (1, 2), (2, 2, 1, 0), (2, 2)),
}
BATCH, CHANNELS, HEIGHT, WIDTH = 2, 3, 7, 6


def output_size(size, kernel, stride, before, after, dilation):
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def problem(name, multiplier, dtype, seed=0):
    (kernel_h, kernel_w), (stride_h, stride_w), (top, bottom, left, right), (dilation_h, dilation_w) = GEOMETRIES[name]
    rng = np.random.default_rng(seed)
    outputs = CHANNELS * multiplier
    x = rng.standard_normal((BATCH, CHANNELS, HEIGHT, WIDTH)).astype(dtype)
    weight = rng.standard_normal((outputs, 1, kernel_h, kernel_w)).astype(dtype)
    bias = rng.standard_normal(outputs).astype(dtype)
    out_shape = (BATCH, outputs, output_size(HEIGHT, kernel_h, stride_h, top, bottom, dilation_h),
                 output_size(WIDTH, kernel_w, stride_w, left, right, dilation_w))
    return x, weight, bias, out_shape, (stride_h, stride_w, top, left, dilation_h, dilation_w)


# Each geometry once, dtypes and multipliers spread over them (the simulator is slow).
CASES = [(name, DTYPES[index % 2], 1 + index // 2 % 2) for index, name in enumerate(sorted(GEOMETRIES))]


@pytest.mark.parametrize(("name", "dtype", "multiplier"), CASES, ids=str)
def test_the_three_kernels_match_the_cpu_ones(name, dtype, multiplier):
    x, weight, bias, out_shape, geometry = problem(name, multiplier, dtype)
    expected = np.empty(out_shape, dtype)
    cpu.depthwise_forward(x, weight, bias, *geometry, expected)
    out = cuda.device_array(out_shape, dtype)
    gpu.depthwise_forward(cuda.to_device(x), cuda.to_device(weight), cuda.to_device(bias), *geometry, out)
    np.testing.assert_allclose(out.copy_to_host(), expected, **TOLERANCES[dtype])

    grad_out = np.random.default_rng(1).standard_normal(out_shape).astype(dtype)
    expected = np.empty_like(x)
    cpu.depthwise_backward_input(grad_out, weight, *geometry, expected)
    grad_x = cuda.device_array(x.shape, dtype)
    gpu.depthwise_backward_input(cuda.to_device(grad_out), cuda.to_device(weight), *geometry, grad_x)
    np.testing.assert_allclose(grad_x.copy_to_host(), expected, **TOLERANCES[dtype])

    expected = np.empty_like(weight)
    cpu.depthwise_backward_weight(x, grad_out, *geometry, expected)
    grad_weight = cuda.device_array(weight.shape, dtype)
    gpu.depthwise_backward_weight(cuda.to_device(x), cuda.to_device(grad_out), *geometry, grad_weight)
    np.testing.assert_allclose(grad_weight.copy_to_host(), expected, **TOLERANCES[dtype])


def test_taps_in_the_padding_are_skipped_as_on_the_cpu():
    """An inf weight meets no padding zero (0 * inf = NaN): PyTorch's depthwise kernels skip those taps."""
    x, weight, bias, out_shape, geometry = problem("3x3-same", 1, np.float64)
    weight[0, 0, 0, 0] = np.inf
    expected = np.empty(out_shape)
    cpu.depthwise_forward(x, weight, bias, *geometry, expected)
    out = cuda.device_array(out_shape)
    gpu.depthwise_forward(cuda.to_device(x), cuda.to_device(weight), cuda.to_device(bias), *geometry, out)
    assert not np.isnan(expected[0, 0, 0]).any()
    np.testing.assert_allclose(out.copy_to_host(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("groups", [3, 2])
def test_grouped_ops_on_the_device_match_the_cpu_backend(groups):
    """minigrad/cuda's conv2d_* with groups (depthwise at 3 channels, two groups of 3 at 6) against the CPU."""
    from minigrad import backend
    from minigrad.cuda.array import CudaArray

    rng = np.random.default_rng(2)
    channels = 3 if groups == 3 else 6
    x = rng.standard_normal((2, channels, 5, 6))
    weight = rng.standard_normal((6, channels // groups, 3, 2))
    bias = rng.standard_normal(6)
    geometry = (2, 1, 1, 0, 1, 1)
    expected = backend.conv2d_forward(x, weight, bias, geometry, (3, 5), groups=groups)
    device = [CudaArray.from_host(a) for a in (x, weight, bias)]
    out = backend.conv2d_forward(*device, geometry, (3, 5), groups=groups)
    np.testing.assert_allclose(out.get(), expected, rtol=1e-12, atol=1e-12)
    grad_out = rng.standard_normal(expected.shape)
    expected_x = backend.conv2d_backward_input(grad_out, weight, geometry, x.shape, groups=groups)
    grad_x = backend.conv2d_backward_input(CudaArray.from_host(grad_out), device[1], geometry, x.shape, groups=groups)
    np.testing.assert_allclose(grad_x.get(), expected_x, rtol=1e-12, atol=1e-12)
    expected_w = backend.conv2d_backward_weight(x, grad_out, geometry, weight.shape, groups=groups)
    grad_w = backend.conv2d_backward_weight(device[0], CudaArray.from_host(grad_out), geometry, weight.shape,
                                            groups=groups)
    np.testing.assert_allclose(grad_w.get(), expected_w, rtol=1e-12, atol=1e-12)
