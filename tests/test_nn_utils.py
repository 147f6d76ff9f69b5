"""mg.nn.utils: clip_grad_norm_ (the returned total norm and the clipped gradients, for norm types 2, 1,
inf and others), clip_grad_value_, parameters_to_vector / vector_to_parameters, compared with torch."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

SHAPES = [(30, 20), (20,), (5, 3, 2, 2), ()]


def gradients(scale, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) * scale).astype(dtype) for shape in SHAPES]


def with_gradients(library, arrays):
    """Parameters of ``library`` (minigrad or torch) whose gradients are ``arrays`` (None: no gradient)."""
    parameters = []
    for array in arrays:
        shape = SHAPES[len(parameters)] if array is None else array.shape
        parameter = library.nn.Parameter(library.zeros(shape, dtype=library.float32))
        if array is not None:
            parameter.grad = library.tensor(array.copy())
        parameters.append(parameter)
    return parameters


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, "inf", 3.0, 0.5, -math.inf, 0.0])
@pytest.mark.parametrize("scale, max_norm", [(1.0, 0.5), (1e-3, 10.0), (3.0, 1.0)])  # clipped, not clipped
def test_clip_grad_norm_matches_torch(torch, norm_type, scale, max_norm):
    arrays = gradients(scale)
    ours, theirs = with_gradients(mg, arrays), with_gradients(torch, arrays)
    theirs_norm = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    our_norm = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    assert isinstance(our_norm, mg.Tensor) and our_norm.shape == () and our_norm.dtype == mg.float32
    np.testing.assert_allclose(our_norm.item(), theirs_norm.item(), rtol=2e-6)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=2e-6, atol=1e-12)


def test_the_gradients_are_scaled_in_place_and_a_small_norm_leaves_them_alone():
    parameters = with_gradients(mg, gradients(1.0))
    held = [parameter.grad for parameter in parameters]
    norm = mg.nn.utils.clip_grad_norm_(parameters, max_norm=1.0)
    assert all(parameter.grad is gradient for parameter, gradient in zip(parameters, held))
    clipped = math.sqrt(sum(float((gradient.numpy().astype(np.float64) ** 2).sum()) for gradient in held))
    assert norm.item() > 1.0 and clipped == pytest.approx(1.0, rel=1e-5)
    before = [gradient.numpy().copy() for gradient in held]
    assert mg.nn.utils.clip_grad_norm_(parameters, max_norm=10.0).item() == pytest.approx(clipped, rel=1e-6)
    for gradient, previous in zip(held, before):
        np.testing.assert_array_equal(gradient.numpy(), previous)


def test_parameters_without_gradients_and_a_single_tensor(torch):
    arrays = gradients(2.0)
    arrays[1] = None
    ours, theirs = with_gradients(mg, arrays), with_gradients(torch, arrays)
    assert nn.utils.clip_grad_norm_(iter(ours), 1.0).item() == pytest.approx(
        torch.nn.utils.clip_grad_norm_(iter(theirs), 1.0).item(), rel=1e-6)
    assert ours[1].grad is None
    single = with_gradients(mg, gradients(2.0)[:1])[0]
    norm = nn.utils.clip_grad_norm_(single, 1.0)
    assert norm.item() == pytest.approx(np.linalg.norm(gradients(2.0)[0]), rel=1e-6)
    empty = nn.utils.clip_grad_norm_(with_gradients(mg, [None]), 1.0)
    assert empty.item() == 0.0 and empty.dtype == mg.float32  # torch.tensor(0.) too


def test_a_non_finite_norm_raises_only_when_asked(torch):
    arrays = gradients(1.0)
    arrays[0][0, 0] = np.inf
    ours, theirs = with_gradients(mg, arrays), with_gradients(torch, arrays)
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` is non-finite"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(ours[1].grad.numpy(), arrays[1])  # nothing scaled
    our_norm = nn.utils.clip_grad_norm_(ours, 1.0)
    theirs_norm = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert math.isinf(our_norm.item()) and math.isinf(theirs_norm.item())
    for mine, reference in zip(ours, theirs):  # scaled by 0: inf * 0 is NaN, the rest 0, as torch
        np.testing.assert_array_equal(mine.grad.numpy(), reference.grad.numpy())


def test_float64_gradients_give_a_float64_norm(torch):
    arrays = gradients(1.0, dtype=np.float64)
    ours = [mg.nn.Parameter(mg.zeros(array.shape, dtype=mg.float64)) for array in arrays]
    theirs = [torch.nn.Parameter(torch.zeros(array.shape, dtype=torch.float64)) for array in arrays]
    for mine, reference, array in zip(ours, theirs, arrays):
        mine.grad, reference.grad = mg.tensor(array), torch.tensor(array)
    norm = nn.utils.clip_grad_norm_(ours, 0.1)
    assert norm.dtype == mg.float64
    np.testing.assert_allclose(norm.item(), torch.nn.utils.clip_grad_norm_(theirs, 0.1).item(), rtol=1e-12)
    np.testing.assert_allclose(ours[0].grad.numpy(), theirs[0].grad.numpy(), rtol=1e-12)


def test_clip_grad_value_matches_torch(torch):
    arrays = gradients(2.0)
    arrays[0][0, 0] = np.nan
    ours, theirs = with_gradients(mg, arrays), with_gradients(torch, arrays)
    held = ours[0].grad
    assert nn.utils.clip_grad_value_(ours, 0.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    assert ours[0].grad is held
    for mine, reference in zip(ours, theirs):
        np.testing.assert_array_equal(mine.grad.numpy(), reference.grad.numpy())


def test_on_a_model_after_backward():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    (model(mg.randn(16, 4)) * 100).sum().backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    after = math.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum()) for p in model.parameters()))
    assert norm.item() > 1.0 and after == pytest.approx(1.0, rel=1e-5)


def test_parameters_to_vector_and_back(torch):
    model, reference = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(model.weight.numpy()))
        reference.bias.copy_(torch.tensor(model.bias.numpy()))
    vector = nn.utils.parameters_to_vector(model.parameters())
    np.testing.assert_array_equal(vector.numpy(), torch.nn.utils.parameters_to_vector(reference.parameters()).detach())
    assert vector.shape == (8,) and vector.requires_grad  # differentiable, as torch's
    (vector * mg.arange(8.0)).sum().backward()
    np.testing.assert_array_equal(model.weight.grad.numpy(), np.arange(6.0).reshape(2, 3))
    weight = model.weight
    nn.utils.vector_to_parameters(mg.arange(8.0), model.parameters())
    assert model.weight is weight and model.weight.tolist() == [[0, 1, 2], [3, 4, 5]] and model.bias.tolist() == [6, 7]


def test_vector_errors():
    model = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="vector_to_parameters: expected a Tensor as vec, but got: numpy.ndarray"):
        nn.utils.vector_to_parameters(np.zeros(8), model.parameters())
    with pytest.raises(RuntimeError, match=r"vec has shape \(7,\), expected \(8,\)"):
        nn.utils.vector_to_parameters(mg.zeros(7), model.parameters())
    with pytest.raises(TypeError, match=r"clip_grad_norm_: parameters\[1\] is list, expected a Tensor"):
        nn.utils.clip_grad_norm_([model.weight, [1.0]], 1.0)


def test_reachable_as_torch_spells_them():
    from minigrad.nn.utils import clip_grad_norm_
    assert mg.nn.utils.clip_grad_norm_ is clip_grad_norm_
    assert callable(mg.nn.utils.get_total_norm) and callable(mg.nn.utils.clip_grads_with_norm_)
