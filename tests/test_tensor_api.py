"""The Tensor's PyTorch API that is not differentiable math: size()/numel()/dim(), mg.Size, dtype
conversions and to(), mg.device, comparisons and logical operators, and fill_/copy_/detach_.

Each is compared with PyTorch (skipped without it): the same values, dtypes, shapes and errors.
"""
import pickle

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend

torch = pytest.importorskip("torch")

TORCH_DTYPES = {mg.float32: torch.float32, mg.float64: torch.float64, mg.int32: torch.int32,
                mg.int64: torch.int64, mg.bool_: torch.bool}


def both(array):
    """The same data as a minigrad tensor and a torch tensor."""
    array = np.asarray(array)
    return mg.tensor(array), torch.tensor(array)


def assert_same(mine, theirs):
    """Equal values, shape and dtype (a Python value is compared as one)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, mg.Tensor)
        assert mine.dtype == {value: key for key, value in TORCH_DTYPES.items()}[theirs.dtype]
        assert mine.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    else:
        assert type(mine) is type(theirs) and mine == theirs


# --- size(), dim(), numel() and mg.Size ---------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 0, 4)])
def test_size_dim_numel_match_torch(shape):
    mine, theirs = both(np.zeros(shape, dtype=np.float32))
    assert isinstance(mine.size(), mg.Size) and isinstance(mine.shape, mg.Size)
    assert mine.size() == theirs.size() == mine.shape
    for dim in range(-len(shape), len(shape)):
        assert mine.size(dim) == theirs.size(dim) and type(mine.size(dim)) is int
        assert mine.size(dim=dim) == theirs.size(dim=dim)
    assert mine.dim() == mine.ndimension() == theirs.dim()
    assert mine.numel() == mine.nelement() == mg.numel(mine) == theirs.numel()
    assert type(mine.numel()) is int


@pytest.mark.parametrize("dtype", list(TORCH_DTYPES))
def test_element_size_matches_torch(dtype):
    assert mg.zeros(2, dtype=dtype).element_size() == torch.zeros(2, dtype=TORCH_DTYPES[dtype]).element_size()


@pytest.mark.parametrize("shape, dim", [((2, 3), 2), ((2, 3), -3), ((4,), 5), ((), 0), ((), -1)])
def test_size_out_of_range_is_an_index_error_like_torch(shape, dim):
    with pytest.raises(IndexError):
        torch.zeros(shape).size(dim)
    with pytest.raises(IndexError, match=r"size: dimension") as error:
        mg.zeros(shape).size(dim)
    if shape:
        assert f"[{-len(shape)}, {len(shape) - 1}]" in str(error.value) and str(dim) in str(error.value)


def test_size_takes_an_int_dim():
    with pytest.raises(TypeError, match="size: argument 'dim' must be int, not float"):
        mg.zeros(2).size(1.0)


def test_size_acts_as_torch_size():
    size, reference = mg.Size([2, 3]), torch.Size([2, 3])
    assert size == (2, 3) == reference and hash(size) == hash((2, 3))
    assert repr(size) == "minigrad.Size([2, 3])" and repr(reference) == "torch.Size([2, 3])"
    assert str(size) == "(2, 3)"  # error messages quote shapes as tuples
    assert size.numel() == reference.numel() == 6 and mg.Size().numel() == 1
    for result in (size[1:], size + (4,), (1,) + size, size * 2):
        assert type(result) is mg.Size
    assert size[-1] == 3 and type(size[0]) is int
    assert (size + (4,)) == tuple(reference + (4,))
    assert pickle.loads(pickle.dumps(size)) == size and type(pickle.loads(pickle.dumps(size))) is mg.Size
    with pytest.raises(TypeError, match="Size: sizes must be integers"):
        mg.Size([2.5])


def test_shape_works_where_a_tuple_does():
    x = mg.zeros(2, 3)
    assert np.zeros(x.shape).shape == (2, 3)
    assert mg.zeros(x.shape).shape == (2, 3) and mg.ones(*x.shape).shape == (2, 3)
    assert x.reshape(x.shape[::-1]).shape == (3, 2)
    assert f"{x.shape}" == "(2, 3)"


# --- dtypes and conversions ----------------------------------------------------------------------------

def test_dtype_aliases_are_torchs():
    assert mg.float is mg.float32 and mg.double is mg.float64 and mg.long is mg.int64
    assert mg.int is mg.int32 and mg.bool is mg.bool_
    assert (torch.float, torch.double, torch.long, torch.int, torch.bool) == (
        torch.float32, torch.float64, torch.int64, torch.int32, torch.bool)
    exported = set(mg.__all__)
    assert not exported & {"float", "int", "bool", "all", "any"}  # `from minigrad import *` keeps Python's


CONVERSIONS = ["float", "double", "long", "int", "bool"]


@pytest.mark.parametrize("conversion", CONVERSIONS)
@pytest.mark.parametrize("data", [[1.5, -2.7, 0.0, 3.0], [3, -1, 0], [True, False]])
def test_dtype_conversions_match_torch(conversion, data):
    mine, theirs = both(np.array(data))
    assert_same(getattr(mine, conversion)(), getattr(theirs, conversion)())


def test_int32_arithmetic_and_promotion_match_torch():
    a, ta = both(np.array([7, -3, 5], dtype=np.int32))
    b, tb = both(np.array([2, 4, -6], dtype=np.int64))
    for operation in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x // y, lambda x, y: x / y,
                      lambda x, y: x > y):
        assert_same(operation(a, a), operation(ta, ta))
        assert_same(operation(a, b), operation(ta, tb))
    assert_same(a + 2, ta + 2)
    assert_same(a * 2.5, ta * 2.5)
    assert_same(a.sum(), ta.sum())


def test_to_returns_self_when_nothing_changes():
    x = mg.tensor([1.0, 2.0])
    for same in (x.to(mg.float32), x.to("cpu"), x.to(mg.device("cpu")), x.to("cpu", mg.float32), x.to(x),
                 x.to(device="cpu", dtype=mg.float32), x.to(), x.cpu(), x.float(), x.type_as(x)):
        assert same is x


@pytest.mark.parametrize(
    "call, dtype",
    [
        (lambda x: x.to(mg.float64), mg.float64),
        (lambda x: x.to("cpu", mg.int64), mg.int64),
        (lambda x: x.to(mg.device("cpu"), dtype=mg.float64), mg.float64),
        (lambda x: x.to(device="cpu", dtype=mg.bool), mg.bool_),
        (lambda x: x.to(dtype=mg.int32), mg.int32),
        (lambda x: x.to(mg.zeros(1, dtype=mg.int64)), mg.int64),
        (lambda x: x.type_as(mg.zeros(1, dtype=mg.float64)), mg.float64),
        (lambda x: x.to(mg.float64, False, True), mg.float64),
        (lambda x: x.to("float64"), mg.float64),
    ],
)
def test_to_forms_match_torch(call, dtype):
    data = np.array([1.5, -2.0, 0.0], dtype=np.float32)
    result = call(mg.tensor(data))
    assert result.dtype == dtype and result.device == "cpu"
    np.testing.assert_array_equal(result.numpy(), torch.tensor(data).to(TORCH_DTYPES[dtype]).numpy())


def test_to_with_copy_gives_a_new_tensor_on_the_tape():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    copied = x.to(mg.float32, copy=True)
    assert copied is not x and not np.shares_memory(copied.numpy(), x.numpy())
    copied.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    assert x.to("cpu", mg.float32, False, True) is not x  # positional non_blocking, copy


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: x.to("tpu"), ValueError, "unknown device 'tpu'"),
        (lambda x: x.to(mg.float16 if hasattr(mg, "float16") else np.float16), TypeError, "not supported"),
        (lambda x: x.to(1.5), TypeError, "dtype"),
        (lambda x: x.to(mg.float64, layout=None), TypeError, "unexpected keyword argument 'layout'"),
        (lambda x: x.to("cpu", device="cpu"), TypeError, "multiple values for argument 'device'"),
        (lambda x: x.to("cpu", mg.float64, False, False, 1), TypeError, "positional"),
        (lambda x: x.to(device=mg.float64), TypeError, "expected a device"),
        (lambda x: x.type_as(np.zeros(2)), TypeError, "type_as: expected a tensor"),
    ],
)
def test_to_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(mg.tensor([1.0]))


@pytest.mark.parametrize("cast", [lambda x: x.float().double(), lambda x: x.to(mg.float32).to(mg.float64),
                                  lambda x: x.type_as(mg.zeros(1)).type_as(x),
                                  lambda x: x.to("cpu", mg.float32, copy=True).double()])
def test_gradients_flow_through_casts(cast):
    # through float32 and back: the numerical derivative sees float32 rounding, hence the larger step
    x = mg.tensor(np.linspace(-1.0, 2.0, 5), requires_grad=True)
    assert mg.gradcheck(lambda t: cast(t) * cast(t) * 3.0, (x,), eps=1e-3, atol=1e-3, rtol=1e-3)
    assert mg.gradgradcheck(lambda t: cast(t) ** 3, (x,), eps=1e-3, atol=2e-3, rtol=2e-3)


def test_cast_gradients_match_torch():
    data = np.array([0.5, -1.25, 2.0], dtype=np.float32)
    mine = mg.tensor(data, requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    (mine.double() * mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)).sum().backward()
    (theirs.double() * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert mine.grad.dtype == mg.float32
    np.testing.assert_array_equal(mine.grad.numpy(), theirs.grad.numpy())
    tangent = mg.func.jvp(lambda t: t.double() * 2.0, (mine.detach(),), (mg.ones(3),))[1]
    assert tangent.dtype == mg.float64 and np.all(tangent.numpy() == 2.0)


# --- mg.device ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("arguments", [("cpu",), ("cuda",), ("cuda:0",), ("cuda", 0), ("cuda:1",), ("cpu", 0)])
def test_device_type_index_and_repr_match_torch(arguments):
    mine, theirs = mg.device(*arguments), torch.device(*arguments)
    assert (mine.type, mine.index, repr(mine)) == (theirs.type, theirs.index, repr(theirs))
    assert mg.device(mine) is mine and pickle.loads(pickle.dumps(mine)) == mine
    assert repr(pickle.loads(pickle.dumps(mine))) == repr(mine)


def test_a_device_index_alone_names_a_gpu():
    assert repr(mg.device(0)) == "device(type='cuda', index=0)"  # torch.device(0), which needs a GPU to run


def test_devices_compare_with_each_other_and_with_strings():
    x = mg.zeros(2)
    assert x.device == "cpu" and x.device == mg.device("cpu") and isinstance(x.device, mg.device)
    assert repr(x.device) == repr(torch.zeros(2).device)
    assert mg.device("cuda") == mg.device("cuda:0") == mg.device("cuda", 0) == "cuda"
    assert hash(mg.device("cuda")) == hash(mg.device("cuda:0")) == hash("cuda")
    assert mg.device("cuda:1") != mg.device("cuda") and mg.device("cpu") != "cuda"
    assert f"{mg.device('cpu')}" == "cpu"


@pytest.mark.parametrize(
    "arguments, error, message",
    [(("tpu",), ValueError, "unknown device 'tpu'"), (("cuda:x",), ValueError, "non-negative integer"),
     (("cuda:0", 1), ValueError, "already names an index"), (("cuda", -1), ValueError, "must not be negative"),
     (("cuda", 1.0), TypeError, "index must be an int"), ((None,), TypeError, "expected a device string")],
)
def test_bad_devices_are_refused_like_torch(arguments, error, message):
    with pytest.raises((RuntimeError, TypeError)):
        torch.device(*arguments)
    with pytest.raises(error, match=message):
        mg.device(*arguments)


def test_a_device_is_accepted_wherever_a_device_name_is():
    cpu = mg.device("cpu")
    for made in (mg.tensor([1.0], device=cpu), mg.zeros(2, device=cpu), mg.randn(2, device=cpu),
                 mg.arange(3, device=cpu), mg.ones(2).to(cpu)):
        assert made.device == cpu
    model = mg.nn.Linear(2, 2).to(cpu)
    assert model.weight.device == "cpu"
    assert backend.check_device(cpu) is backend.check_device("cpu")


@pytest.mark.parametrize("device", ["cuda:1", mg.device("cuda", 1), mg.device("cpu", 1)])
def test_devices_minigrad_does_not_have_are_refused_where_used(device):
    with pytest.raises(ValueError, match="minigrad uses one"):
        mg.zeros(2, device=device)


def test_cuda_is_available_is_a_bool():
    assert isinstance(mg.cuda.is_available(), bool)


# --- in place: fill_, copy_, detach_, requires_grad_ -------------------------------------------------

@pytest.mark.parametrize("dtype", [mg.float32, mg.int64, mg.bool_])
@pytest.mark.parametrize("value", [1.7, -2, True, 0.0])
def test_fill_matches_torch(dtype, value):
    mine, theirs = mg.zeros(2, 3, dtype=dtype), torch.zeros(2, 3, dtype=TORCH_DTYPES[dtype])
    version = mine._version
    assert mine.fill_(value) is mine
    theirs.fill_(value)
    assert_same(mine, theirs)
    assert mine._version == version + 1


def test_fill_takes_a_0d_tensor_only():
    x = mg.zeros(3)
    x.fill_(mg.tensor(2.5, dtype=mg.float64))
    assert np.all(x.numpy() == 2.5) and x.dtype == mg.float32
    with pytest.raises(RuntimeError):
        torch.zeros(3).fill_(torch.tensor([1.0]))
    with pytest.raises(RuntimeError, match=r"fill_: only supports a 0-dimension value tensor.*\(1,\)"):
        x.fill_(mg.tensor([1.0]))
    with pytest.raises(TypeError, match="fill_: expected a number"):
        x.fill_("a")


@pytest.mark.parametrize(
    "destination, source",
    [((2, 3), np.arange(3)), ((2, 3), np.arange(6.0).reshape(2, 3) - 2.5), ((2, 3), np.array(7.5)),
     ((4,), np.array([True, False, True, True]))],
)
@pytest.mark.parametrize("dtype", [mg.float32, mg.int64, mg.float64])
def test_copy_broadcasts_and_casts_like_torch(destination, source, dtype):
    mine, theirs = mg.zeros(destination, dtype=dtype), torch.zeros(destination, dtype=TORCH_DTYPES[dtype])
    version = mine._version
    assert mine.copy_(mg.tensor(source)) is mine
    theirs.copy_(torch.tensor(source))
    assert_same(mine, theirs)
    assert mine._version == version + 1


def test_copy_keeps_the_destinations_buffer_and_the_sources_values():
    x, source = mg.zeros(3), mg.tensor([1.0, 2.0, 3.0])
    buffer = x.numpy()
    x.copy_(source)
    source.fill_(0)
    assert x.numpy() is buffer and x.tolist() == [1.0, 2.0, 3.0]
    x.copy_(x.detach())  # a copy onto itself changes nothing
    assert x.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("source", [np.ones((2, 2)), np.ones(3)])
def test_copy_of_a_shape_that_does_not_broadcast_raises_like_torch(source):
    with pytest.raises(RuntimeError):
        torch.zeros(2).copy_(torch.tensor(source))
    with pytest.raises(RuntimeError, match=r"copy_: the source of shape .* does not broadcast to .*\(2,\)"):
        mg.zeros(2).copy_(mg.tensor(source))


def test_copy_errors():
    with pytest.raises(TypeError, match="copy_: argument 'src' must be a Tensor, not list"):
        mg.zeros(2).copy_([1.0, 2.0])
    source = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="copy_: src requires grad"):
        mg.zeros(2).copy_(source)
    with mg.no_grad():
        assert mg.zeros(2).copy_(source).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("update", [lambda x, library: x.fill_(1.0), lambda x, library: x.copy_(library.ones(2))])
def test_in_place_on_a_leaf_that_requires_grad_needs_no_grad(update):
    x = mg.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        update(torch.zeros(2, requires_grad=True), torch)
    with pytest.raises(RuntimeError, match="in-place"):
        update(x, mg)
    with mg.no_grad():
        update(x, mg)
    assert x.tolist() == [1.0, 1.0] and x.requires_grad


def test_detach_in_place_makes_a_leaf():
    x = mg.ones(2, requires_grad=True)
    y = x * 3
    assert y.detach_() is y
    assert y.is_leaf and not y.requires_grad and y.grad_fn is None and y.tolist() == [3.0, 3.0]
    reference = torch.ones(2, requires_grad=True) * 3
    reference.detach_()
    assert reference.is_leaf and not reference.requires_grad
    x.detach_()
    assert not x.requires_grad


def test_requires_grad_in_place_follows_torch_on_non_leaves():
    y = mg.ones(2, requires_grad=True) * 2
    assert y.requires_grad_() is y and y.requires_grad_(True) is y
    with pytest.raises(RuntimeError):
        (torch.ones(2, requires_grad=True) * 2).requires_grad_(False)
    with pytest.raises(RuntimeError, match="requires_grad_: you can only change requires_grad flags of leaf"):
        y.requires_grad_(False)
    x = mg.ones(2)
    assert x.requires_grad_() is x and x.requires_grad
    assert not x.requires_grad_(False).requires_grad
