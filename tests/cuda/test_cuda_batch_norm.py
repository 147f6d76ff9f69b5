"""kernels/cuda/batch_norm.py against kernels/cpu/batch_norm.py on the same arrays, and BatchNorm2d on the GPU
against the CPU.

Tiny (N, C, L) shapes (the simulator runs every GPU thread as a Python thread): 3 channels, and channels of
fewer values than a block's threads and of more (so the strided loops wrap), none a multiple of anything.
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import batch_norm as cpu
from minigrad.kernels.cuda import batch_norm as gpu
from numba import cuda

import minigrad as mg

TOLERANCES = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-13}}
SHAPES = [(2, 3, 7), (5, 2, 61), (9, 3, 1)]  # 14, 305 and 9 values a channel


def arrays(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    channels = shape[1]
    return ((rng.standard_normal(shape) * 2 + 3).astype(dtype), rng.standard_normal(shape).astype(dtype),
            rng.uniform(0.5, 1.5, channels).astype(dtype), rng.standard_normal(channels).astype(dtype))


@pytest.mark.parametrize("shape, dtype", [(SHAPES[0], np.float64), (SHAPES[1], np.float32), (SHAPES[2], np.float32)],
                         ids=str)
def test_training_forward_matches_the_cpu_kernel(shape, dtype):
    x, _, weight, bias = arrays(shape, dtype)
    channels = shape[1]
    results = []
    for kernels, to_device, back in ((cpu, np.asarray, np.asarray),
                                     (gpu, cuda.to_device, lambda array: array.copy_to_host())):
        running_mean, running_var = to_device(np.full(channels, 0.5, dtype)), to_device(np.full(channels, 2.0, dtype))
        out, mean, invstd = (to_device(np.empty_like(x)), to_device(np.empty(channels, dtype)),
                             to_device(np.empty(channels, dtype)))
        kernels.batch_norm_forward_training(to_device(x), to_device(weight), to_device(bias), 1e-5, 0.3, True,
                                            running_mean, running_var, out, mean, invstd)
        results.append([back(array) for array in (out, mean, invstd, running_mean, running_var)])
    for label, got, expected in zip(("out", "mean", "invstd", "running_mean", "running_var"), *reversed(results)):
        np.testing.assert_allclose(got, expected, err_msg=label, **TOLERANCES[dtype])


@pytest.mark.parametrize("shape, dtype, training", [(SHAPES[1], np.float32, True), (SHAPES[0], np.float64, False)],
                         ids=str)
def test_backward_and_affine_match_the_cpu_kernels(shape, dtype, training):
    x, g, weight, bias = arrays(shape, dtype, seed=1)
    mean, invstd = x.mean(axis=(0, 2)).astype(dtype), (1 / (x.std(axis=(0, 2)) + 0.1)).astype(dtype)
    results = []
    for kernels, to_device, back in ((cpu, np.asarray, np.asarray),
                                     (gpu, cuda.to_device, lambda array: array.copy_to_host())):
        grad_x, grad_weight, grad_bias, scaled = (to_device(np.empty_like(x)), to_device(np.empty_like(weight)),
                                                  to_device(np.empty_like(weight)), to_device(np.empty_like(x)))
        kernels.batch_norm_backward(to_device(g), to_device(x), to_device(weight), to_device(mean), to_device(invstd),
                                    training, True, grad_x, grad_weight, grad_bias)
        kernels.batch_norm_affine(to_device(x), to_device(weight), to_device(bias), scaled)
        results.append([back(array) for array in (grad_x, grad_weight, grad_bias, scaled)])
    for label, got, expected in zip(("grad_x", "grad_weight", "grad_bias", "affine"), *reversed(results)):
        np.testing.assert_allclose(got, expected, err_msg=label, **TOLERANCES[dtype])


def test_batchnorm2d_on_the_gpu_equals_the_cpu():
    """A training step (outputs, gradients, running statistics), then eval, through the whole stack."""
    layers = [mg.nn.BatchNorm2d(3, dtype=mg.float64), mg.nn.BatchNorm2d(3, dtype=mg.float64).cuda()]
    rng = np.random.default_rng(4)
    for step in range(2):
        if step == 1:
            for layer in layers:
                layer.eval()
        x, upstream = rng.standard_normal((2, 3, 2, 3)) + 1, rng.standard_normal((2, 3, 2, 3))
        results = []
        for layer, device in zip(layers, ("cpu", "cuda")):
            tensor = mg.tensor(x, dtype=mg.float64, device=device, requires_grad=True)
            out = layer(tensor)
            out.backward(mg.tensor(upstream, dtype=mg.float64, device=device))
            results.append([out.cpu().numpy(), tensor.grad.cpu().numpy(), layer.weight.grad.cpu().numpy(),
                            layer.bias.grad.cpu().numpy(), layer.running_mean.cpu().numpy(),
                            layer.running_var.cpu().numpy()])
            layer.zero_grad()
        for expected, got in zip(*results):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)
    assert int(layers[1].num_batches_tracked.cpu().item()) == 1
