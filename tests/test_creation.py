"""PyTorch's creation functions: linspace, logspace, eye, float arange, the *_like family, randint,
from_numpy and as_tensor; values, dtypes, shapes and errors compared with PyTorch (skipped without it).
Random draws come from minigrad's generator, so only their range, dtype, shape and seeding are compared."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

TORCH_DTYPES = {mg.float32: torch.float32, mg.float64: torch.float64, mg.int32: torch.int32,
                mg.int64: torch.int64, mg.bool_: torch.bool}
MINIGRAD_DTYPES = {value: key for key, value in TORCH_DTYPES.items()}


def assert_same(mine, theirs, ulps=0):
    """Same dtype and shape, and values equal (for floats, within ``ulps`` units in the last place of
    the largest value: a range's rounding error is that of its largest terms)."""
    assert isinstance(mine, mg.Tensor) and mine.dtype == MINIGRAD_DTYPES[theirs.dtype]
    assert mine.shape == tuple(theirs.shape)
    expected = theirs.numpy()
    if ulps and expected.dtype.kind == "f" and expected.size:
        spacing = np.spacing(np.abs(expected).max())
        assert np.abs(mine.numpy() - expected).max() <= ulps * spacing
    else:
        np.testing.assert_array_equal(mine.numpy(), expected)


# --- ranges ---------------------------------------------------------------------------------------------

ARANGES = [(10,), (0, 5), (2, 11, 3), (5, 0, -1), (0, 1, 0.1), (1, 2.5, 0.5), (-1, 1, 0.3), (0.0, 5),
           (0, 10, 0.7), (-3.3, 7.9, 0.013), (5, 0, -0.3), (1e6, 1e6 + 10, 0.1), (0, 0), (3, 1, 1.5 - 2)]


@pytest.mark.parametrize("arguments", ARANGES)
@pytest.mark.parametrize("dtype", [None, mg.float64, mg.float32, mg.int64])
def test_arange_matches_torch(arguments, dtype):
    options = {} if dtype is None else {"dtype": dtype}
    try:
        expected = torch.arange(*arguments, **({} if dtype is None else {"dtype": TORCH_DTYPES[dtype]}))
    except (RuntimeError, ValueError):  # a float step that becomes 0 in an integer dtype
        with pytest.raises(ValueError, match="arange: step must be nonzero"):
            mg.arange(*arguments, **options)
        return
    # torch computes blocks of elements with its vector unit, which can round the last bit differently
    assert_same(mg.arange(*arguments, **options), expected, ulps=1)


def test_arange_infers_its_dtype_as_torch_does():
    assert mg.arange(5).dtype == mg.int64 and mg.arange(5.0).dtype == mg.float32
    assert mg.arange(0, 5, 0.5).dtype == mg.float32 and mg.arange(np.int32(3)).dtype == mg.int64
    assert mg.arange(0, 1, 0.25, requires_grad=True).requires_grad


@pytest.mark.parametrize("arguments, message",
                         [((0, 5, 0), "step must be nonzero"), ((5, 0, 1), "inconsistent with the sign"),
                          ((0, 1, -0.5), "inconsistent")])
def test_arange_errors_like_torch(arguments, message):
    with pytest.raises(RuntimeError):
        torch.arange(*arguments)
    with pytest.raises(ValueError, match=f"arange: .*{message}"):
        mg.arange(*arguments)
    with pytest.raises(TypeError, match="arange: end must be a number"):
        mg.arange(0, "5")


LINSPACES = [(0, 1, 5), (1, 0, 4), (-2.5, 3.7, 11), (0, 1, 1), (0, 1, 0), (0, 10, 5), (0, 1, 100), (-5, 5, 33),
             (3.3, -1.7, 999)]


@pytest.mark.parametrize("arguments", LINSPACES)
@pytest.mark.parametrize("dtype", [None, mg.float64, mg.int64])
def test_linspace_and_logspace_match_torch(arguments, dtype):
    options = {} if dtype is None else {"dtype": dtype}
    torch_options = {} if dtype is None else {"dtype": TORCH_DTYPES[dtype]}
    assert_same(mg.linspace(*arguments, **options), torch.linspace(*arguments, **torch_options), ulps=1)
    if dtype != mg.int64:
        assert_same(mg.logspace(*arguments, **options), torch.logspace(*arguments, **torch_options), ulps=4)
        assert_same(mg.logspace(*arguments, base=2, **options),
                    torch.logspace(*arguments, base=2, **torch_options), ulps=4)


def test_linspace_ends_are_exact_and_errors_like_torch():
    values = mg.linspace(-0.7, 1.3, 7, dtype=mg.float64).numpy()
    assert values[0] == -0.7 and values[-1] == 1.3
    with pytest.raises(RuntimeError):
        torch.linspace(0, 1, -1)
    with pytest.raises(ValueError, match="linspace: steps must be non-negative, got -1"):
        mg.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="linspace: steps must be an int"):
        mg.linspace(0, 1, 2.5)


@pytest.mark.parametrize("arguments", [(3,), (2, 4), (4, 2), (0,), (0, 3), (1, 1)])
@pytest.mark.parametrize("dtype", [None, mg.int64, mg.bool_, mg.float64])
def test_eye_matches_torch(arguments, dtype):
    if dtype is None:
        assert_same(mg.eye(*arguments), torch.eye(*arguments))
    else:
        assert_same(mg.eye(*arguments, dtype=dtype), torch.eye(*arguments, dtype=TORCH_DTYPES[dtype]))


def test_eye_refuses_negative_sizes_like_torch():
    with pytest.raises(RuntimeError):
        torch.eye(-1)
    with pytest.raises(ValueError, match="eye: n must be non-negative, got -1"):
        mg.eye(-1)
    with pytest.raises(ValueError, match="eye: m must be non-negative"):
        mg.eye(2, -3)


# --- like another tensor ----------------------------------------------------------------------------------

LIKE = {
    "zeros_like": ((), ()),
    "ones_like": ((), ()),
    "full_like": ((2.7,), ()),
    "empty_like": ((), ()),
    "rand_like": ((), ()),
    "randn_like": ((), ()),
    "randint_like": ((5,), ()),
}


@pytest.mark.parametrize("name", list(LIKE))
@pytest.mark.parametrize("dtype", [mg.float32, mg.float64, mg.int64])
@pytest.mark.parametrize("override", [None, mg.float64])
def test_like_functions_take_shape_dtype_and_device_like_torch(name, dtype, override):
    if name in ("rand_like", "randn_like") and override is None and dtype == mg.int64:
        return  # a test of its own below: PyTorch has no random floats in an integer dtype
    arguments, _ = LIKE[name]
    source = mg.zeros(2, 3, dtype=dtype)
    reference = torch.zeros(2, 3, dtype=TORCH_DTYPES[dtype])
    options = {} if override is None else {"dtype": override}
    torch_options = {} if override is None else {"dtype": TORCH_DTYPES[override]}
    result = getattr(mg, name)(source, *arguments, **options)
    expected = getattr(torch, name)(reference, *arguments, **torch_options)
    assert result.dtype == MINIGRAD_DTYPES[expected.dtype] and result.shape == tuple(expected.shape)
    assert result.device == source.device and not result.requires_grad
    if name in ("zeros_like", "ones_like", "full_like"):
        assert_same(result, expected)


def test_random_like_functions_draw_in_range():
    mg.manual_seed(0)
    source = mg.zeros(1000, dtype=mg.float64)
    uniform = mg.rand_like(source)
    assert uniform.dtype == mg.float64 and 0 <= uniform.numpy().min() and uniform.numpy().max() < 1
    integers = mg.randint_like(mg.zeros(1000, dtype=mg.int32), 2, 5)
    assert integers.dtype == mg.int32 and set(np.unique(integers.numpy())) == {2, 3, 4}
    assert mg.randn_like(source, requires_grad=True).requires_grad


@pytest.mark.parametrize("name", ["rand_like", "randn_like"])
def test_random_floats_in_an_integer_dtype_are_refused_like_torch(name):
    with pytest.raises((RuntimeError, NotImplementedError)):
        getattr(torch, name)(torch.zeros(2, dtype=torch.int64))
    with pytest.raises(TypeError, match=f"{name}: draws need a floating point dtype, got int64"):
        getattr(mg, name)(mg.zeros(2, dtype=mg.int64))
    with pytest.raises(TypeError, match="rand: draws need a floating point dtype"):
        mg.rand(2, dtype=mg.int64)


def test_creation_functions_take_an_mg_device():
    cpu = mg.device("cpu")
    for made in (mg.zeros_like(mg.ones(2), device=cpu), mg.eye(2, device=cpu), mg.linspace(0, 1, 3, device=cpu),
                 mg.randint(3, (2,), device=cpu), mg.rand_like(mg.ones(2), device="cpu"), mg.as_tensor([1.0], device=cpu)):
        assert made.device == cpu and isinstance(made.device, mg.device)


def test_like_functions_want_a_tensor():
    with pytest.raises(TypeError, match="zeros_like: argument 'input' must be a Tensor, not ndarray"):
        mg.zeros_like(np.zeros(2))


# --- randint -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "call, expected",
    [(lambda library: library.randint(3, (400,)), {0, 1, 2}), (lambda library: library.randint(-2, 1, (2, 200)), {-2, -1, 0}),
     (lambda library: library.randint(5, 7, size=(300,)), {5, 6}), (lambda library: library.randint(4, size=(300,)), {0, 1, 2, 3})],
)
def test_randint_forms_match_torch(call, expected):
    mine, theirs = call(mg), call(torch)
    assert mine.dtype == mg.int64 == MINIGRAD_DTYPES[theirs.dtype] and mine.shape == tuple(theirs.shape)
    assert set(np.unique(mine.numpy())) == expected == set(np.unique(theirs.numpy()))


def test_randint_dtype_seeding_and_errors():
    assert mg.randint(0, 3, (4,), dtype=mg.float32).dtype == mg.float32
    mg.manual_seed(3)
    first = mg.randint(100, (5,)).tolist()
    mg.manual_seed(3)
    assert mg.randint(100, (5,)).tolist() == first
    with pytest.raises(RuntimeError):
        torch.randint(5, 3, (2,))
    with pytest.raises(ValueError, match="randint: expects low to be less than high, but got low=5 >= high=3"):
        mg.randint(5, 3, (2,))
    with pytest.raises(TypeError):
        torch.randint(3, 2)
    with pytest.raises(TypeError, match="randint: size must be a tuple of ints, not int"):
        mg.randint(3, 2)
    with pytest.raises(TypeError, match="only floating point tensors can require gradients"):
        mg.randint(3, (2,), requires_grad=True)


# --- sharing memory: from_numpy and as_tensor ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_])
def test_from_numpy_shares_memory_both_ways_like_torch(dtype):
    array = np.zeros(4, dtype=dtype)
    mine, theirs = mg.from_numpy(array), torch.from_numpy(array)
    assert mine.dtype == MINIGRAD_DTYPES[theirs.dtype]
    array[1] = 1
    mine[2] = 1
    assert mine.tolist() == theirs.tolist() == array.tolist()
    assert np.shares_memory(mine.numpy(), array)


@pytest.mark.parametrize("data", [np.arange(3.0), np.arange(3, dtype=np.int32), np.array([True])])
def test_as_tensor_shares_an_array_of_a_minigrad_dtype(data):
    mine, theirs = mg.as_tensor(data), torch.as_tensor(data)
    assert mine.dtype == MINIGRAD_DTYPES[theirs.dtype] and np.shares_memory(mine.numpy(), data)


def test_as_tensor_copies_only_when_it_must():
    array = np.arange(3.0)
    converted = mg.as_tensor(array, dtype=mg.float32)
    assert converted.dtype == mg.float32 and not np.shares_memory(converted.numpy(), array)
    x = mg.ones(2, requires_grad=True)
    assert mg.as_tensor(x) is x and mg.as_tensor(x, device="cpu") is x
    assert mg.as_tensor(x, dtype=mg.float64).grad_fn is not None  # a recorded cast, as torch.as_tensor
    assert mg.as_tensor([1, 2]).dtype == torch.as_tensor([1, 2]).numpy().dtype
    assert mg.as_tensor([1.5]).dtype == mg.float32
