"""The Tensor's PyTorch API on "cuda" tensors: mg.device, to() between devices and dtypes (with
gradients), fill_/copy_ across devices, comparisons and logical operators, and the creation
functions' device= and *_like: each equal to the same call on the CPU.

Runs on a GPU or in Numba's CUDA simulator (tests/test_cuda_kernels.py starts it).
"""
import numpy as np
import pytest

import minigrad as mg

VALUES = np.array([[1.5, -2.0, np.nan], [np.inf, 0.0, 3.0]])


def test_a_cuda_tensor_reports_its_device_as_torch_does():
    x = mg.zeros(2, 3, device=mg.device("cuda"))
    assert x.device == "cuda" and x.device == mg.device("cuda:0") and x.device == mg.device("cuda")
    assert repr(x.device) == "device(type='cuda', index=0)" and x.device.index == 0
    assert x.size() == (2, 3) and x.size(-1) == 3 and isinstance(x.shape, mg.Size) and x.numel() == 6
    assert x.to(mg.device("cuda", 0)) is x and x.cuda() is x and x.to("cuda:0") is x


@pytest.mark.parametrize("call", [lambda x: x.to("cuda", mg.float64), lambda x: x.to("cuda").double(),
                                  lambda x: x.to(mg.ones(1, dtype=mg.float64, device="cuda")),
                                  lambda x: x.to(device="cuda", dtype=mg.float64, copy=True)])
def test_to_between_devices_and_dtypes_carries_values_and_gradients(call):
    x = mg.tensor([0.5, -1.25, 2.0], requires_grad=True)
    moved = call(x)
    assert moved.device == "cuda" and moved.dtype == mg.float64
    (moved * moved).sum().backward()
    assert x.grad.device == "cpu" and x.grad.dtype == mg.float32
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -2.5, 4.0])
    back = moved.to("cpu", mg.float32)
    assert back.device == "cpu" and back.tolist() == [0.5, -1.25, 2.0]


def test_type_as_takes_the_other_tensors_device_too():
    like = mg.zeros(1, dtype=mg.float64, device="cuda")
    converted = mg.tensor([1.0, 2.0]).type_as(like)
    assert converted.device == "cuda" and converted.dtype == mg.float64
    assert like.type_as(mg.zeros(1)).device == "cpu"


def test_fill_and_copy_across_devices():
    on_gpu = mg.zeros(2, 3, device="cuda")
    on_gpu.fill_(2.5)
    assert on_gpu.cpu().tolist() == [[2.5] * 3] * 2
    on_gpu.copy_(mg.tensor([1, 2, 3]))  # from the host, broadcast and cast
    assert on_gpu.device == "cuda" and on_gpu.cpu().tolist() == [[1.0, 2.0, 3.0]] * 2
    on_host = mg.zeros(2, 3, dtype=mg.float64)
    on_host.copy_(on_gpu)
    assert on_host.device == "cpu" and on_host.tolist() == [[1.0, 2.0, 3.0]] * 2


COMPARISONS = {
    "eq": lambda x, y: x.eq(y), "lt": lambda x, y: x < 1.0, "ge": lambda x, y: x.ge(y),
    "all": lambda x, y: x.all(dim=1), "any": lambda x, y: (x > 2).any(), "isnan": lambda x, y: x.isnan(),
    "isfinite": lambda x, y: x.isfinite(), "isclose": lambda x, y: x.isclose(y, equal_nan=True),
    "logical_and": lambda x, y: x.logical_and(y), "logical_not": lambda x, y: x.logical_not(),
    "invert mask": lambda x, y: ~(x > 0), "and masks": lambda x, y: (x > 0) & (y < 3), "or masks": lambda x, y: (x > 0) | (y > 0),
}


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_comparisons_on_the_gpu_equal_the_cpus(name):
    other = VALUES[::-1].copy()
    on_host = COMPARISONS[name](mg.tensor(VALUES), mg.tensor(other))
    on_gpu = COMPARISONS[name](mg.tensor(VALUES, device="cuda"), mg.tensor(other, device="cuda"))
    assert on_gpu.device == "cuda" and on_gpu.dtype == on_host.dtype == mg.bool_
    np.testing.assert_array_equal(on_gpu.cpu().numpy(), on_host.numpy())


def test_equal_and_allclose_on_the_gpu():
    x = mg.tensor([1.0, 2.0], device="cuda")
    assert mg.equal(x, x.clone()) and mg.allclose(x, x + 1e-9) and not mg.allclose(x, x + 1)


def test_creation_functions_make_tensors_on_the_gpu():
    source = mg.ones(2, 3, dtype=mg.float64, device="cuda")
    for made in (mg.zeros_like(source), mg.ones_like(source), mg.full_like(source, 7), mg.rand_like(source),
                 mg.randn_like(source), mg.empty_like(source)):
        assert made.device == "cuda" and made.dtype == mg.float64 and made.shape == (2, 3)
    assert mg.full_like(source, 7).cpu().tolist() == [[7.0] * 3] * 2
    assert mg.zeros_like(source, device="cpu").device == "cpu"
    np.testing.assert_array_equal(mg.linspace(0, 1, 5, device="cuda").cpu().numpy(), mg.linspace(0, 1, 5).numpy())
    np.testing.assert_array_equal(mg.eye(3, device="cuda").cpu().numpy(), np.eye(3))
    integers = mg.randint(2, 5, (50,), device=mg.device("cuda"))
    assert integers.device == "cuda" and set(np.unique(integers.cpu().numpy())) <= {2, 3, 4}
    assert mg.as_tensor(np.arange(3.0), device="cuda").device == "cuda"
