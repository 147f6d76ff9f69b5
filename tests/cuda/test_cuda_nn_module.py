"""Module state on the "cuda" device: to(device, dtype) with buffers and gradients, load_state_dict onto
the GPU (all or nothing), zero_grad(set_to_none=False), and mg.nn.utils on CUDA gradients, each against
the same steps on the CPU. Runs on a GPU or in Numba's CUDA simulator."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.cuda.array import CudaArray


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.register_buffer("running", mg.zeros(2))
        self.register_buffer("count", mg.tensor(0))


def test_to_moves_and_casts_parameters_gradients_and_buffers_in_place():
    model = Block()
    model.linear(mg.ones(1, 3)).sum().backward()
    weight, gradient = model.linear.weight, model.linear.weight.grad
    assert model.to("cuda", mg.float64) is model
    assert model.linear.weight is weight and weight.grad is gradient
    for tensor, dtype in ((weight, mg.float64), (gradient, mg.float64), (model.running, mg.float64),
                          (model.count, mg.int64)):
        assert type(tensor.data) is CudaArray and tensor.device == "cuda" and tensor.dtype == dtype
    state = model.state_dict()
    assert all(type(value) is np.ndarray for value in state.values())
    model.cpu().float()
    assert type(weight.data) is np.ndarray and weight.dtype == mg.float32 and model.running.device == "cpu"


def test_load_state_dict_onto_the_gpu_is_all_or_nothing():
    source, target = Block(), Block().cuda()
    before = target.linear.weight.cpu().numpy().copy()
    with pytest.raises(RuntimeError, match="size mismatch for running"):
        target.load_state_dict({**source.state_dict(), "running": np.zeros(3)})
    np.testing.assert_array_equal(target.linear.weight.cpu().numpy(), before)
    target.load_state_dict(source.state_dict())
    assert type(target.linear.weight.data) is CudaArray
    np.testing.assert_array_equal(target.linear.weight.cpu().numpy(), source.linear.weight.numpy())


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clipping_cuda_gradients_matches_the_cpu(norm_type):
    results = []
    for device in ("cpu", "cuda"):
        mg.manual_seed(0)
        model = Block().to(device)
        (model.linear(mg.ones(4, 3, device=device)) * 10).sum().backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 0.5, norm_type=norm_type)
        assert norm.device == device
        results.append((norm.item(), [p.grad.cpu().numpy().copy() for p in model.parameters()]))
        nn.utils.clip_grad_value_(model.parameters(), 0.01)
        assert max(np.abs(p.grad.cpu().numpy()).max() for p in model.parameters()) == pytest.approx(0.01)
        model.zero_grad(set_to_none=False)
        assert not any(p.grad.cpu().numpy().any() for p in model.parameters())
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    for on_gpu, on_cpu in zip(results[1][1], results[0][1]):
        np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-6)


def test_parameters_to_vector_and_back_on_the_gpu():
    model = Block().cuda()
    vector = nn.utils.parameters_to_vector(model.parameters())
    assert vector.device == "cuda" and vector.shape == (8,)
    nn.utils.vector_to_parameters(vector * 0 + 1, model.parameters())
    assert model.linear.weight.device == "cuda" and model.linear.bias.cpu().tolist() == [1.0, 1.0]
