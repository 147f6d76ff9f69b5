"""Linear, Dropout, the activation/Flatten/Sequential modules and the losses: gradients (float64
gradcheck), PyTorch parity, and argument errors; every layer nn exports refuses a NumPy array or a
list by name (the other layers' own tests are in their family's file)."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn


def leaf(shape, seed, dtype=mg.float64):
    return mg.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=dtype, requires_grad=True)


def torch_or_skip():
    return pytest.importorskip("torch")


# --- gradients --------------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape", [(5, 3), (3,), (2, 4, 3), (1, 3)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_gradcheck(x_shape, with_bias):
    inputs = [leaf(x_shape, 0), leaf((4, 3), 1)] + ([leaf((4,), 2)] if with_bias else [])
    assert mg.gradcheck(F.linear, inputs)


def test_dropout_gradcheck_with_a_fixed_mask():
    x = leaf((7, 5), 0)

    def dropped(x):
        mg.manual_seed(3)  # the same mask on every call of the checker
        return F.dropout(x, 0.4, training=True)

    assert mg.gradcheck(dropped, [x])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_gradchecks(reduction):
    logits = leaf((6, 4), 0)
    targets = np.array([0, 3, 1, 1, 2, 3])
    assert mg.gradcheck(lambda x: F.nll_loss(x.log_softmax(-1), targets, reduction=reduction), [logits])
    prediction, wanted = leaf((3, 4), 1), leaf((3, 4), 2)
    assert mg.gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), [prediction, wanted])
    binary_targets = np.random.default_rng(3).random((3, 4))
    assert mg.gradcheck(
        lambda x: F.binary_cross_entropy_with_logits(x, binary_targets, reduction=reduction), [prediction]
    )
    assert mg.gradcheck(
        lambda x: F.binary_cross_entropy_with_logits(
            x, binary_targets, weight=np.array([1.0, 2.0, 0.5, 3.0]), pos_weight=np.array([2.0, 1.0, 0.3, 4.0]),
            reduction=reduction),
        [prediction],
    )


def test_bce_with_logits_gradient_at_exactly_zero_is_sigmoid_minus_target():
    x = mg.zeros(4, dtype=mg.float64, requires_grad=True)
    target = np.array([0.0, 1.0, 0.25, 1.0])
    F.binary_cross_entropy_with_logits(x, target, reduction="sum").backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.5 - target)


def test_l2_loss_is_half_the_sum_of_squares_and_its_gradient_is_x():
    x = leaf((3, 5), 0)
    loss = F.l2_loss(x)
    np.testing.assert_allclose(loss.item(), (x.numpy() ** 2).sum() / 2)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), x.numpy())
    assert mg.gradcheck(F.l2_loss, [x])


def test_nll_loss_ignore_index_counts_only_valid_targets():
    x = leaf((4, 3), 0)
    loss = F.nll_loss(x, np.array([0, -100, 2, -100]))
    np.testing.assert_allclose(loss.item(), -(x.numpy()[0, 0] + x.numpy()[2, 2]) / 2)
    assert mg.gradcheck(lambda x: F.nll_loss(x, np.array([0, -100, 2, -100])), [x])


# --- against PyTorch --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_matches_torch(dtype):
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x, w, b, g = (rng.standard_normal(s).astype(dtype) for s in [(37, 130), (19, 130), (19,), (37, 19)])
    mx, mw, mb = (mg.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    (F.linear(mx, mw, mb) * mg.tensor(g)).sum().backward()
    (torch.nn.functional.linear(tx, tw, tb) * torch.tensor(g)).sum().backward()
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(F.linear(mx, mw, mb).numpy(), torch.nn.functional.linear(tx, tw, tb).detach(), rtol=rtol, atol=rtol)
    for mine, theirs in ((mx, tx), (mw, tw), (mb, tb)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=rtol, atol=rtol * 10)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_torch(reduction):
    torch = torch_or_skip()
    functional = torch.nn.functional
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((8, 5)) * 3
    logits[0, 0], logits[1, 1], logits[2, 2] = 100.0, -100.0, 0.0  # the stable-form edge cases
    binary = rng.random((8, 5))
    weight, pos_weight = rng.random(5) + 0.5, rng.random(5) * 3
    classes = np.array([0, 4, 2, 1, 3, 3, -100, 0])
    cases = [
        (lambda x: F.binary_cross_entropy_with_logits(x, binary, reduction=reduction),
         lambda x: functional.binary_cross_entropy_with_logits(x, torch.tensor(binary), reduction=reduction)),
        (lambda x: F.binary_cross_entropy_with_logits(x, binary, weight, reduction=reduction, pos_weight=pos_weight),
         lambda x: functional.binary_cross_entropy_with_logits(
             x, torch.tensor(binary), torch.tensor(weight), reduction=reduction, pos_weight=torch.tensor(pos_weight))),
        (lambda x: F.mse_loss(x, mg.tensor(binary), reduction=reduction),
         lambda x: functional.mse_loss(x, torch.tensor(binary), reduction=reduction)),
        (lambda x: F.nll_loss(x.log_softmax(-1), classes, reduction=reduction),
         lambda x: functional.nll_loss(x.log_softmax(-1), torch.tensor(classes), reduction=reduction)),
    ]
    upstream = rng.standard_normal(8 if reduction == "none" else ())
    for mg_loss, torch_loss in cases:
        mx = mg.tensor(logits, requires_grad=True)
        tx = torch.tensor(logits, requires_grad=True)
        mine, theirs = mg_loss(mx), torch_loss(tx)
        if reduction == "none" and mine.ndim == 2:
            upstream_array = rng.standard_normal(mine.shape)
        else:
            upstream_array = upstream
        assert np.all(np.isfinite(mine.numpy()))
        np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
        (mine * mg.tensor(upstream_array)).sum().backward()
        (theirs * torch.tensor(upstream_array)).sum().backward()
        np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_bce_with_logits_is_finite_at_large_logits_in_float32():
    x = mg.tensor([100.0, -100.0, 1e4, -1e4], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, mg.tensor([0.0, 1.0, 1.0, 0.0]), reduction="sum")
    loss.backward()
    np.testing.assert_allclose(loss.item(), 200.0, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0, 0.0], atol=1e-6)


# --- dropout ------------------------------------------------------------------------------------------

def test_dropout_zeroes_about_p_and_scales_the_rest():
    mg.manual_seed(0)
    x = mg.ones(200, 500)
    y = F.dropout(x, 0.3).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)


def test_dropout_module_is_identity_in_eval_and_repeatable_under_manual_seed():
    layer = nn.Dropout(0.5)
    x = mg.randn(10, 10)
    mg.manual_seed(5)
    first = layer(x).numpy()
    mg.manual_seed(5)
    np.testing.assert_array_equal(first, layer(x).numpy())
    layer.eval()
    assert layer(x) is x
    assert F.dropout(x, 1.0).numpy().max() == 0
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


# --- modules --------------------------------------------------------------------------------------------

def test_linear_module_initialisation_bounds_and_shapes():
    mg.manual_seed(0)
    layer = nn.Linear(400, 30)
    assert layer.weight.shape == (30, 400) and layer.bias.shape == (30,)
    bound = 1 / np.sqrt(400)
    assert np.abs(layer.weight.numpy()).max() <= bound and np.abs(layer.weight.numpy()).max() > 0.9 * bound
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert layer(mg.randn(7, 400)).shape == (7, 30)
    assert nn.Linear(3, 2, bias=False).bias is None
    assert repr(layer) == "Linear(in_features=400, out_features=30, bias=True)"


def test_sequential_names_indexes_and_runs_its_children():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2), nn.Sigmoid())
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(model) == 4 and isinstance(model[1], nn.Tanh) and isinstance(model[-1], nn.Sigmoid)
    assert len(model[:2]) == 2
    x = mg.randn(5, 4)
    expected = model[3](model[2](model[1](model[0](x))))
    np.testing.assert_array_equal(model(x).numpy(), expected.numpy())
    with pytest.raises(IndexError, match="out of range for 4 modules"):
        model[4]
    with pytest.raises(TypeError, match="expected a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_flatten_and_activation_modules():
    x = mg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    np.testing.assert_array_equal(nn.ReLU()(x).numpy(), np.maximum(x.numpy(), 0))
    np.testing.assert_allclose(nn.Tanh()(x).numpy(), np.tanh(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(nn.Sigmoid()(x).numpy(), 1 / (1 + np.exp(-x.numpy())), rtol=1e-6)


def test_loss_modules_call_their_functions():
    logits = mg.randn(6, 3)
    targets = mg.tensor([0, 1, 2, 2, 1, 0])
    np.testing.assert_allclose(nn.CrossEntropyLoss()(logits, targets).item(), F.cross_entropy(logits, targets).item())
    np.testing.assert_allclose(
        nn.NLLLoss(reduction="sum")(logits.log_softmax(-1), targets).item(),
        nn.CrossEntropyLoss(reduction="sum")(logits, targets).item(), rtol=1e-6)
    np.testing.assert_allclose(nn.MSELoss()(logits, logits * 0).item(), (logits.numpy() ** 2).mean(), rtol=1e-6)
    binary = mg.tensor(np.ones((6, 3), dtype=np.float32))
    np.testing.assert_allclose(
        nn.BCEWithLogitsLoss()(logits, binary).item(), np.log1p(np.exp(-logits.numpy())).mean(), rtol=1e-5)
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="average")


def test_reference_cnn_has_the_reference_parameter_count():
    model = nn.Sequential(
        nn.Conv2d(1, 32, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 1024), nn.ReLU(), nn.Dropout(0.5), nn.Linear(1024, 10),
    )
    assert sum(p.numel() for p in model.parameters()) == 3_274_634


# --- errors ---------------------------------------------------------------------------------------------

def test_clear_errors_at_the_call():
    x = mg.randn(4, 5)
    with pytest.raises(ValueError, match=r"linear: input of shape \(4, 5\) does not end in the weight's 6 input"):
        F.linear(x, mg.randn(3, 6))
    with pytest.raises(ValueError, match="bias of shape"):
        F.linear(x, mg.randn(3, 5), mg.randn(4))
    with pytest.raises(TypeError, match="linear: input and weight must share one float dtype"):
        F.linear(x, mg.randn(3, 5, dtype=mg.float64))
    with pytest.raises(ValueError, match=r"mse_loss: target of shape \(4,\) must have the input's shape \(4, 1\)"):
        F.mse_loss(mg.randn(4, 1), mg.randn(4))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: target of shape"):
        F.binary_cross_entropy_with_logits(mg.randn(4, 1), mg.randn(4))
    with pytest.raises(TypeError, match="nll_loss: targets must be integer"):
        F.nll_loss(x, np.zeros(4))
    with pytest.raises(IndexError, match="nll_loss: target 5 at index 1 is out of range for 5 classes"):
        F.nll_loss(x, np.array([0, 5, 1, 1]))
    with pytest.raises(ValueError, match="Linear: in_features must be a positive int"):
        nn.Linear(0, 3)


# --- a NumPy array (or anything else) where a Tensor belongs ----------------------------------------------

# Each layer minigrad.nn exports, built small, with an input of the shape it takes.
LAYERS = {
    "Linear": (lambda: nn.Linear(4, 3), (2, 4)),
    "Conv2d": (lambda: nn.Conv2d(1, 2, 3), (2, 1, 5, 5)),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), (2, 1, 4, 4)),
    "AvgPool2d": (lambda: nn.AvgPool2d(2), (2, 1, 4, 4)),
    "Dropout": (lambda: nn.Dropout(0.5), (2, 4)),
    "ReLU": (nn.ReLU, (2, 4)),
    "Sigmoid": (nn.Sigmoid, (2, 4)),
    "Tanh": (nn.Tanh, (2, 4)),
    "Flatten": (nn.Flatten, (2, 1, 2, 2)),
    "Identity": (nn.Identity, (2, 4)),
    "Sequential": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(4, 3)), (2, 1, 2, 2)),
    "CrossEntropyLoss": (nn.CrossEntropyLoss, (2, 4)),
    "NLLLoss": (nn.NLLLoss, (2, 4)),
    "MSELoss": (nn.MSELoss, (2, 4)),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, (2, 4)),
    "L1Loss": (nn.L1Loss, (2, 4)),
    "SmoothL1Loss": (nn.SmoothL1Loss, (2, 4)),
    "HuberLoss": (nn.HuberLoss, (2, 4)),
    "BCELoss": (nn.BCELoss, (2, 4)),
    "KLDivLoss": (nn.KLDivLoss, (2, 4)),
    "Embedding": (lambda: nn.Embedding(5, 3), (2, 4)),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d((1, 1)), (2, 1, 4, 4)),
    "AdaptiveMaxPool2d": (lambda: nn.AdaptiveMaxPool2d(2), (2, 1, 4, 4)),
    "Dropout2d": (lambda: nn.Dropout2d(0.5), (2, 3, 2, 2)),
    "Unflatten": (lambda: nn.Unflatten(1, (2, 2)), (2, 4)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (2, 3)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), (2, 3, 2, 2)),
    "LayerNorm": (lambda: nn.LayerNorm(4), (2, 4)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), (2, 4, 2, 2)),
    "LeakyReLU": (nn.LeakyReLU, (2, 4)),
    "ELU": (nn.ELU, (2, 4)),
    "GELU": (nn.GELU, (2, 4)),
    "SiLU": (nn.SiLU, (2, 4)),
    "Softplus": (nn.Softplus, (2, 4)),
    "Hardtanh": (nn.Hardtanh, (2, 4)),
    "ReLU6": (nn.ReLU6, (2, 4)),
    "Mish": (nn.Mish, (2, 4)),
    "Softmax": (lambda: nn.Softmax(dim=1), (2, 4)),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=1), (2, 4)),
    "Upsample": (lambda: nn.Upsample(scale_factor=2), (2, 1, 2, 2)),
    "UpsamplingNearest2d": (lambda: nn.UpsamplingNearest2d(scale_factor=2), (2, 1, 2, 2)),
    "UpsamplingBilinear2d": (lambda: nn.UpsamplingBilinear2d(scale_factor=2), (2, 1, 2, 2)),
    "ConstantPad2d": (lambda: nn.ConstantPad2d(1, 0.5), (2, 1, 2, 2)),
    "ZeroPad2d": (lambda: nn.ZeroPad2d(1), (2, 1, 2, 2)),
    "ReflectionPad2d": (lambda: nn.ReflectionPad2d(1), (2, 1, 2, 2)),
    "ReplicationPad2d": (lambda: nn.ReplicationPad2d(1), (2, 1, 2, 2)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(1, 2, 3, stride=2), (2, 1, 3, 3)),
    "Conv1d": (lambda: nn.Conv1d(2, 3, 3), (2, 2, 5)),
}


def exported_layers():
    # ModuleList and ModuleDict hold layers but have no forward() (tests/test_nn_containers.py)
    return sorted(name for name, value in vars(nn).items() if isinstance(value, type) and issubclass(value, nn.Module)
                  and value not in (nn.Module, nn.ModuleList, nn.ModuleDict))


def test_every_exported_layer_is_in_the_table_below():
    assert exported_layers() == sorted(LAYERS)


def call(layer, name, x):
    """The layer on ``x``, with a valid Tensor target when it is a loss."""
    if name in ("CrossEntropyLoss", "NLLLoss"):
        return layer(x, mg.tensor([0, 3]))
    if name in ("MSELoss", "BCEWithLogitsLoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss"):
        return layer(x, mg.zeros(*LAYERS[name][1]))
    if name == "BCELoss":
        return layer(x.sigmoid() if isinstance(x, mg.Tensor) else x, mg.zeros(*LAYERS[name][1]))
    if name == "Embedding":  # integer indices; the float array stands for them only in the refusal check
        return layer(mg.tensor(np.arange(8).reshape(2, 4) % 5) if isinstance(x, mg.Tensor) else x)
    return layer(x)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_given_a_numpy_array_says_expected_a_tensor(name):
    make, shape = LAYERS[name]
    layer = make()
    array = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    assert call(layer, name, mg.from_numpy(array)).dtype == mg.float32  # the Tensor works
    for mode in (layer.train, layer.eval):  # Dropout in eval() does nothing, but still checks
        mode()
        with pytest.raises(TypeError) as caught:
            call(layer, name, array)
        message = str(caught.value)
        assert message.startswith(f"{name}: expected a Tensor as input, got numpy.ndarray of shape {shape}")
        assert "mg.from_numpy(x)" in message and "mg.tensor(x)" in message


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_given_a_list_says_expected_a_tensor(name):
    make, shape = LAYERS[name]
    with pytest.raises(TypeError, match=rf"^{name}: expected a Tensor as input, got list; make one with mg.tensor\(x\)"):
        call(make(), name, np.zeros(shape).tolist())


def test_losses_take_numpy_targets_as_their_functions_do():
    logits = mg.randn(2, 4)
    assert nn.CrossEntropyLoss()(logits, np.array([0, 3])).item() == pytest.approx(
        F.cross_entropy(logits, mg.tensor([0, 3])).item())
    assert nn.MSELoss()(logits, np.zeros((2, 4), dtype=np.float32)).item() == pytest.approx(
        (logits.numpy() ** 2).mean(), rel=1e-6)


def test_the_functions_say_expected_a_tensor_too():
    array = np.zeros((2, 1, 4, 4), dtype=np.float32)
    for function, arguments in [(F.linear, (mg.randn(3, 4),)), (F.relu, ()), (F.sigmoid, ()), (F.tanh, ()),
                                (F.softmax, ()), (F.log_softmax, ()), (F.max_pool2d, (2,)), (F.dropout, ())]:
        with pytest.raises(TypeError, match=rf"^{function.__name__}: expected a Tensor as input, got numpy.ndarray"):
            function(array, *arguments)
    with pytest.raises(TypeError, match=r"^linear: expected a Tensor as weight, got numpy.ndarray of shape \(3, 4\)"):
        F.linear(mg.randn(2, 4), np.zeros((3, 4)))
