"""The activations (LeakyReLU, ELU, GELU both forms, SiLU, Softplus, Hardtanh, ReLU6, Mish, Softmax,
LogSoftmax): forward and gradients against PyTorch in float32 and float64 at random values, at
inf, NaN, +-0 and at each kink and threshold; gradcheck and gradgradcheck in float64; forward mode
against reverse; the modules' arguments, defaults, repr and refusals; the kernels against their
bounds-checked serial twins; the float32 exp/tanh/erf/log1p forms against float64."""
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.kernels.cpu import activation as kernels
from minigrad.kernels.cpu import activation_math
from minigrad.kernels.cpu.preset import checked_twin, cpu_kernel

torch = pytest.importorskip("torch")
torch_functional = torch.nn.functional
import torch_references  # noqa: E402  (needs torch, skipped above without it)

# name: (minigrad function, torch function, the points where it bends or switches form)
FUNCTIONS = {
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda t: torch_functional.leaky_relu(t, 0.2), [0.0]),
    "elu": (lambda x: F.elu(x, 1.5), lambda t: torch_functional.elu(t, 1.5), [0.0]),
    "gelu": (F.gelu, torch_references.gelu, [0.0]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda t: torch_functional.gelu(t, approximate="tanh"), [0.0]),
    "silu": (F.silu, torch_functional.silu, [0.0]),
    "softplus": (lambda x: F.softplus(x, 2.0, 10.0), lambda t: torch_functional.softplus(t, 2.0, 10.0), [5.0]),
    "softplus_default": (F.softplus, torch_functional.softplus, [20.0]),
    "hardtanh": (lambda x: F.hardtanh(x, -2.0, 1.5), lambda t: torch_functional.hardtanh(t, -2.0, 1.5), [-2.0, 1.5]),
    "relu6": (F.relu6, torch_functional.relu6, [0.0, 6.0]),
    "mish": (F.mish, torch_functional.mish, [0.0, 20.0]),
}
DTYPES = [np.float32, np.float64]
TOLERANCES = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-11, "atol": 1e-13}}
SPECIAL = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-8, -1e-8, 30.0, -30.0, 100.0, -100.0, 89.0, -89.0]


def points(kinks, dtype, seed=0):
    """Random values over the interesting range, the special values, each kink and its neighbours,
    in a (7, 13, k) block: no size a multiple of a SIMD vector."""
    rng = np.random.default_rng(seed)
    near = [value for kink in kinks for value in (kink, np.nextafter(dtype(kink), dtype(-np.inf)),
                                                 np.nextafter(dtype(kink), dtype(np.inf)))]
    values = np.concatenate([rng.standard_normal(400) * 4, np.linspace(-12, 12, 301), SPECIAL, near])
    values = np.concatenate([values, rng.standard_normal(-len(values) % 91)])
    return values.astype(dtype).reshape(7, 13, -1)


def torch_reference(name, values, grad):
    t = torch.tensor(values, requires_grad=True)
    out = FUNCTIONS[name][1](t)
    out.backward(torch.tensor(grad))
    expected_grad = t.grad.numpy().copy()
    if name in ("elu", "hardtanh", "relu6"):
        # At a NaN input PyTorch's vectorised kernels (large arrays) give NaN or 0 where its scalar
        # formula (small arrays; NaN <= 0 and NaN >= max both false) passes g on: we follow the latter.
        expected_grad[np.isnan(values)] = grad[np.isnan(values)]
    return out.detach().numpy(), expected_grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_values_and_gradients_equal_pytorch_specials_and_kinks_included(name, dtype):
    values = points(FUNCTIONS[name][2], dtype)
    grad = np.random.default_rng(1).standard_normal(values.shape).astype(dtype)
    x = mg.tensor(values, requires_grad=True)
    out = FUNCTIONS[name][0](x)
    out.backward(mg.tensor(grad))
    expected, expected_grad = torch_reference(name, values, grad)
    assert out.dtype == x.dtype
    np.testing.assert_allclose(out.numpy(), expected, equal_nan=True, **TOLERANCES[dtype])
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, equal_nan=True, **TOLERANCES[dtype])


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_strided_inputs_and_a_broadcast_gradient(name):
    values = points(FUNCTIONS[name][2], np.float64).transpose(2, 0, 1)  # not contiguous
    x = mg.tensor(values, requires_grad=True)
    FUNCTIONS[name][0](x).sum().backward()
    expected, expected_grad = torch_reference(name, values, np.ones_like(values))
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, equal_nan=True, **TOLERANCES[np.float64])


def smooth_points(seed):
    """float64 values away from every kink (finite differences across a kink mean nothing)."""
    values = np.random.default_rng(seed).uniform(-3, 3, (3, 5))
    return values + np.where(np.abs(values) < 0.1, 0.2, 0) + np.where(np.abs(values - 1.5) < 0.1, 0.2, 0)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_gradcheck_and_gradgradcheck_in_float64(name):
    function = FUNCTIONS[name][0]
    x = mg.tensor(smooth_points(2), dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(function, (x,))
    assert mg.gradgradcheck(function, (x,))


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "mish", "softplus", "elu"])
def test_second_derivatives_equal_pytorch(name):
    values = smooth_points(3)
    function, torch_function = FUNCTIONS[name][0], FUNCTIONS[name][1]
    first = mg.func.grad(lambda x: function(x).sum())
    second = mg.func.grad(lambda x: first(x).sum())(mg.tensor(values))
    torch_first = torch.func.grad(lambda t: torch_function(t).sum())
    expected = torch.func.grad(lambda t: torch_first(t).sum())(torch.tensor(values))
    np.testing.assert_allclose(second.numpy(), expected.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_forward_mode_equals_reverse_mode(name):
    x = mg.tensor(smooth_points(4), dtype=mg.float64)
    function = FUNCTIONS[name][0]
    np.testing.assert_allclose(mg.func.jacfwd(function)(x).numpy(), mg.func.jacrev(function)(x).numpy(),
                               rtol=1e-12, atol=1e-14)


# --- modules ---------------------------------------------------------------------------------------

MODULES = [
    (lambda: nn.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    (lambda: nn.LeakyReLU(0.2, True), lambda: torch.nn.LeakyReLU(0.2, True)),
    (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    (lambda: nn.ELU(alpha=2.0, inplace=True), lambda: torch.nn.ELU(alpha=2.0, inplace=True)),
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: nn.SiLU(inplace=True), lambda: torch.nn.SiLU(inplace=True)),
    (lambda: nn.Softplus(), lambda: torch.nn.Softplus()),
    (lambda: nn.Softplus(2, 10), lambda: torch.nn.Softplus(2, 10)),
    (lambda: nn.Hardtanh(), lambda: torch.nn.Hardtanh()),
    (lambda: nn.Hardtanh(-2, 3, True), lambda: torch.nn.Hardtanh(-2, 3, True)),
    (lambda: nn.ReLU6(), lambda: torch.nn.ReLU6()),
    (lambda: nn.ReLU6(True), lambda: torch.nn.ReLU6(True)),
    (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: nn.Mish(True), lambda: torch.nn.Mish(True)),
    (lambda: nn.Softmax(), lambda: torch.nn.Softmax()),
    (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    (lambda: nn.LogSoftmax(), lambda: torch.nn.LogSoftmax()),
    (lambda: nn.LogSoftmax(-1), lambda: torch.nn.LogSoftmax(-1)),
]


@pytest.mark.parametrize("index", range(len(MODULES)))
def test_modules_have_torchs_repr_attributes_and_values(index):
    ours, theirs = MODULES[index][0](), MODULES[index][1]()
    assert repr(ours) == repr(theirs)
    for attribute in ("negative_slope", "alpha", "approximate", "inplace", "beta", "threshold", "min_val",
                      "max_val", "dim"):
        assert getattr(ours, attribute, "absent") == getattr(theirs, attribute, "absent"), attribute
    values = np.random.default_rng(5).standard_normal((2, 3, 4)) * 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dim=None: the deprecation warning, tested below
        out = ours(mg.tensor(values, dtype=mg.float64)).numpy()
        expected = theirs(torch.tensor(values)).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-11, atol=1e-13)
    assert list(ours.parameters()) == []


@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_without_dim_takes_torchs_legacy_dim_and_warns(name, ndim):
    values = np.random.default_rng(ndim).standard_normal((2, 3, 4, 5)[:ndim])
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        out = getattr(F, name)(mg.tensor(values, dtype=mg.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(torch_functional, name)(torch.tensor(values))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


def test_inplace_is_accepted_and_leaves_the_input_alone():
    x = mg.tensor([-1.0, 2.0])
    for module in (nn.LeakyReLU(inplace=True), nn.ELU(inplace=True), nn.SiLU(True), nn.Hardtanh(inplace=True),
                   nn.ReLU6(True), nn.Mish(True)):
        module(x)
        np.testing.assert_array_equal(x.numpy(), [-1.0, 2.0])


def test_bad_arguments_are_refused_with_the_name_and_the_value():
    x = mg.tensor([1.0, -1.0])
    with pytest.raises(AssertionError, match=r"Hardtanh: max_val \(1\) must be greater than min_val \(2\)"):
        nn.Hardtanh(2, 1)
    with pytest.raises(ValueError, match="hardtanh: min_val cannot be greater than max_val.*min_val=2"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(RuntimeError, match="gelu: approximate argument must be either none or tanh, got 'foo'"):
        F.gelu(x, approximate="foo")
    module = nn.GELU("foo")  # as PyTorch: accepted here, refused when called
    assert repr(module) == "GELU(approximate='foo')"
    with pytest.raises(RuntimeError, match="approximate"):
        module(x)
    with pytest.raises(RuntimeError, match="silu: expected a floating point input, got int64"):
        F.silu(mg.tensor([1, 2]))
    with pytest.raises(TypeError, match="mish"):
        F.mish(np.ones(3))
    with pytest.raises(TypeError, match="LeakyReLU"):
        nn.LeakyReLU()([1.0, 2.0])


def test_empty_and_zero_dimensional_inputs():
    for name, (function, torch_function, _) in FUNCTIONS.items():
        assert function(mg.zeros(0, 3)).shape == (0, 3), name
        x = mg.tensor(0.5, requires_grad=True)
        function(x).backward()
        t = torch.tensor(0.5, dtype=torch.float32, requires_grad=True)
        torch_function(t).backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, err_msg=name)


# --- kernels ---------------------------------------------------------------------------------------

def kernel_arguments(entry, dtype):
    """Scalars for an entry point, by its argument names."""
    scalars = {"negative_slope": 0.2, "alpha": 1.5, "beta": 2.0, "threshold": 10.0, "min_val": -2.0, "max_val": 1.5}
    names = list(__import__("inspect").signature(getattr(kernels, entry).py_func).parameters)
    return [dtype(scalars[name]) for name in names if name in scalars]


# The kernels index alike (one flat element each); a twin compiles uncached, tens of seconds for the
# float32 exp-based ones on a busy machine: three cover the one-, two- and two-scalar forms.
@pytest.mark.parametrize("entry", ["leaky_relu_forward", "softplus_forward", "hardtanh_backward"])
def test_kernels_equal_their_bounds_checked_serial_twins(entry):
    kernel = getattr(kernels, entry)
    values = points([0.0, 1.5, -2.0], np.float32).reshape(-1)
    grad = np.random.default_rng(6).standard_normal(values.size).astype(np.float32)
    arrays = [values] if entry.endswith("forward") else [values, grad]
    out, checked_out = np.empty_like(values), np.empty_like(values)
    kernel(*arrays, *kernel_arguments(entry, np.float32), out)
    checked_twin(kernel)(*arrays, *kernel_arguments(entry, np.float32), checked_out)
    np.testing.assert_allclose(out, checked_out, rtol=1e-6, atol=1e-7, equal_nan=True)
    with pytest.raises(IndexError):  # the twin sees an output too short
        checked_twin(kernel)(*arrays, *kernel_arguments(entry, np.float32), checked_out[:-1])


def _single_form(helper):
    @cpu_kernel
    def run(x, out):
        for index in range(x.size):
            out[index] = helper(x[index])

    return run


@pytest.mark.parametrize(("helper", "reference", "low", "high"), [
    (activation_math.exponential, np.exp, -87.0, 88.0),
    (activation_math.exp_minus_one, np.expm1, -20.0, 20.0),
    (activation_math.hyperbolic_tangent, np.tanh, -8.0, 8.0),
    (activation_math.log_one_plus, np.log1p, 0.0, 1.0),
])
def test_float32_forms_are_within_a_few_ulps(helper, reference, low, high):
    x = np.concatenate([np.linspace(low, high, 200001), [low / 1e3, high / 1e3, 1e-6, -1e-6]]).astype(np.float32)
    x = x[(x >= low) & (x <= high)]
    out = np.empty_like(x)
    _single_form(helper)(x, out)
    exact = reference(x.astype(np.float64))
    ulps = np.abs(out - exact) / np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert ulps.max() <= 6, (x[ulps.argmax()], out[ulps.argmax()], exact[ulps.argmax()])


def test_float32_error_function_is_within_absolute_rounding():
    import math
    x = np.linspace(-6, 6, 100001).astype(np.float32)
    out = np.empty_like(x)
    _single_form(activation_math.error_function)(x, out)
    exact = np.array([math.erf(value) for value in x.astype(np.float64)])
    assert np.abs(out - exact).max() < 4e-7  # under 7 float32 ulps of 1


def test_float32_forms_keep_nan_and_infinities():
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30], np.float32)
    out = np.empty_like(specials)
    _single_form(activation_math.exponential)(specials, out)
    np.testing.assert_array_equal(out, [np.nan, np.inf, 0.0, 1.0, 1.0, np.inf, 0.0])
    _single_form(activation_math.hyperbolic_tangent)(specials, out)
    np.testing.assert_array_equal(out, [np.nan, 1.0, -1.0, 0.0, 0.0, 1.0, -1.0])
    _single_form(activation_math.error_function)(specials, out)
    np.testing.assert_array_equal(out, [np.nan, 1.0, -1.0, 0.0, 0.0, 1.0, -1.0])
