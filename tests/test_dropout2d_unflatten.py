"""Dropout2d / F.dropout2d (whole channels, PyTorch 2.13's treatment of 3-D and other inputs) and
Unflatten (against PyTorch's shapes, refusals and repr)."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F


def channel_scales(out, x):
    """out / x per (sample, channel): each must be a single value over the channel's elements."""
    ratio = (out / x).reshape(x.shape[0], x.shape[1], -1)
    np.testing.assert_allclose(ratio, ratio[..., :1].repeat(ratio.shape[2], axis=2), rtol=1e-6)  # float32 rounding
    np.testing.assert_array_equal(ratio == 0, (ratio[..., :1] == 0).repeat(ratio.shape[2], axis=2))
    return ratio[..., 0].astype(np.float64)


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_whole_channels_are_zeroed_and_the_rest_scaled(dtype):
    mg.manual_seed(0)
    x = mg.tensor(np.random.default_rng(0).uniform(0.5, 1.5, (40, 25, 3, 4)), dtype=dtype, requires_grad=True)
    out = F.dropout2d(x, 0.3)
    scales = channel_scales(out.numpy(), x.numpy())
    np.testing.assert_allclose(scales[scales != 0], 1 / 0.7, rtol=1e-6)
    assert abs((scales == 0).mean() - 0.3) < 0.05  # 1000 channels
    # the gradient is the same mask
    weights = np.random.default_rng(1).standard_normal(x.shape)
    (out * mg.tensor(weights, dtype=dtype)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), weights * scales[:, :, None, None], rtol=1e-6)


def test_the_mask_comes_from_minigrads_generator():
    x = mg.ones(4, 6, 2, 2)
    mg.manual_seed(7)
    first = F.dropout2d(x).numpy()
    mg.manual_seed(7)
    np.testing.assert_array_equal(F.dropout2d(x).numpy(), first)
    assert not np.array_equal(F.dropout2d(x).numpy(), first)  # a new draw


def test_a_3d_input_is_n_c_l_as_in_pytorch_2_13_with_its_warning():
    x = mg.ones(30, 20, 5)
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d .* interpreted as shape \\(N, C, L\\)"):
        out = F.dropout2d(x, 0.5).numpy()
    # one draw per (row of dim 0, row of dim 1), constant along the last axis
    scales = channel_scales(out, x.numpy())
    assert scales.shape == (30, 20) and 0.3 < (scales == 0).mean() < 0.7


def test_other_ranks_warn_or_refuse_as_pytorch():
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d, which is deprecated"):
        assert F.dropout2d(mg.ones(3, 4), 0.5).shape == (3, 4)
    with pytest.warns(UserWarning, match="Received a 5-D input"):
        out = F.dropout2d(mg.ones(2, 3, 2, 2, 2), 0.5).numpy()
    channel_scales(out, np.ones(out.shape))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=r"dropout2d: .*at least 2 dimensions.* \(3,\)"):
        F.dropout2d(mg.ones(3), 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert F.dropout2d(mg.ones(3), 0.5, training=False).shape == (3,)  # PyTorch lets these through


def test_identity_when_not_training_or_p_zero_and_zeros_at_p_one():
    x = mg.ones(2, 3, 4, 4)
    assert F.dropout2d(x, 0.5, training=False) is x
    assert F.dropout2d(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout2d(x, 1.0).numpy(), 0.0)
    layer = nn.Dropout2d(0.5)
    layer.eval()
    assert layer(x) is x


@pytest.mark.parametrize("p", [-0.1, 1.1])
def test_bad_probabilities_are_refused(p):
    with pytest.raises(ValueError, match=f"Dropout2d: dropout probability has to be between 0 and 1, but got {p}"):
        nn.Dropout2d(p)
    with pytest.raises(ValueError, match=f"dropout2d: dropout probability has to be between 0 and 1, but got {p}"):
        F.dropout2d(mg.ones(2, 3, 4, 4), p)
    with pytest.raises(TypeError, match="dropout2d: expected a Tensor as input"):
        F.dropout2d(np.ones((2, 3, 4, 4)))


def test_double_backward_through_a_fixed_mask():
    x = mg.tensor(np.random.default_rng(2).standard_normal((2, 3, 2, 2)), dtype=mg.float64, requires_grad=True)

    def function(value):
        mg.manual_seed(3)  # the same mask at every call
        return F.dropout2d(value, 0.4) ** 2

    assert mg.gradcheck(function, (x,))
    assert mg.gradgradcheck(function, (x,))


def test_dropout2d_prints_as_pytorch():
    torch = pytest.importorskip("torch")
    for arguments in [(), (0.3,), (0.2, True), (1,)]:
        assert repr(nn.Dropout2d(*arguments)) == repr(torch.nn.Dropout2d(*arguments))


# --- Unflatten ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("dim", "size"), [(1, (3, 4)), (1, (-1, 4)), (-2, (2, -1, 3)), (2, (3,)), (1, [12]),
                                            (0, (1, 2)), (-1, (3, 1))])
def test_unflatten_matches_pytorch_and_passes_gradients_back(dim, size):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((2, 12, 3))
    tensor = mg.tensor(x, requires_grad=True)
    out = nn.Unflatten(dim, size)(tensor)
    expected = torch.nn.Unflatten(dim, size)(torch.tensor(x))
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    out.sum().backward()
    np.testing.assert_array_equal(tensor.grad.numpy(), np.ones(x.shape))


@pytest.mark.parametrize(("dim", "size", "error", "message"), [
    (1, (5, 2), RuntimeError, r"\(5, 2\) must multiply to the size 12 of dimension 1"),
    (1, (-1, -1), RuntimeError, "one -1"),
    (1, (-2, -6), RuntimeError, "one -1 and no other negative"),
    (1, (0, -1), RuntimeError, r"cannot split dimension 1 of size 12"),
    (1, (), RuntimeError, "non-empty"),
    (3, (1,), IndexError, "dim 3 is out of range"),
    (-4, (2,), IndexError, "dim -4 is out of range"),
])
def test_unflatten_refuses_what_pytorch_refuses(dim, size, error, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception):  # noqa: B017, PT011 (PyTorch's own: that it refuses at all)
        torch.nn.Unflatten(dim, size)(torch.ones(2, 12, 3))
    with pytest.raises(error, match=f"Unflatten: .*{message}"):
        nn.Unflatten(dim, size)(mg.ones(2, 12, 3))


def test_unflatten_checks_its_arguments_and_prints_as_pytorch():
    torch = pytest.importorskip("torch")
    for bad, message in [(3, "found type int"), ((2.0, 3), "element of type float at pos 0"), (None, "NoneType")]:
        with pytest.raises(TypeError, match=f"Unflatten: unflattened_size must be .*{message}"):
            nn.Unflatten(1, bad)
    for arguments in [(1, (2, 5)), (-1, [2, 5]), (0, (-1, 4))]:
        assert repr(nn.Unflatten(*arguments)) == repr(torch.nn.Unflatten(*arguments))
    with pytest.raises(IndexError, match="Unflatten"):
        nn.Unflatten(0, (1,))(mg.tensor(3.0))
    with pytest.raises(TypeError, match="Unflatten"):
        nn.Unflatten(1, (2, 3))(np.ones((2, 6)))
    model = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, 4, 5)))
    assert model(mg.ones(2, 3, 4, 5)).shape == (2, 3, 4, 5)
