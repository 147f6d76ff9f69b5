"""Every op the differential test (tests/test_differential.py) compares with PyTorch, registered once.

An entry names the op, a minigrad function, the PyTorch function with the same meaning, and how to
draw its inputs. Elementwise ops also join the random compositions. To add an op:

    elementwise("erf", lambda x: x.erf(), torch.erf)                   # one line for a unary op
    along_dims("logsumexp", lambda x, dim, keep: ..., lambda x, dim, keep: ...)
    case("conv1d", mine, theirs, draw_function)                       # anything else

(The tensor functions, cat, where, gather, sort, norm..., are in differential_functions.py.)

The draw function gets Hypothesis's ``data``, a NumPy generator and the special-value rate, and
returns the operands (arrays become tensors on both sides) and the options both functions get.
"""
import dataclasses
import importlib
import pathlib

import numpy as np
import torch
import torch.nn.functional as torch_functional
from differential_check import FLOATS, Operand, broadcast_shapes, shapes, values
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn import functional as F

REGISTRY = {}


@dataclasses.dataclass(frozen=True)
class Op:
    name: str
    minigrad: object  # (*operands, **options) -> Tensor, tuple or number
    torch: object
    draw: object  # (data, rng, special_rate) -> (operands, options)
    arity: int = 0  # 1 or 2 for elementwise ops (they join the compositions), else 0
    gradient: bool = True
    special_upstream: bool = True  # False for losses: backward starts there, with a finite gradient


def register(op):
    assert op.name not in REGISTRY, f"{op.name} is registered twice"
    REGISTRY[op.name] = op
    return op


def float_dtype(data):
    return data.draw(st.sampled_from([FLOATS[0], FLOATS[0], FLOATS[1]]), label="dtype")


# --- elementwise ---------------------------------------------------------------------------------

def elementwise(name, mine, theirs, arity=1, low=None, options=None):
    """A function of one or two broadcast tensors; ``options`` draws keyword options for both."""

    def draw(data, rng, special_rate):
        dtype = float_dtype(data)
        operand_shapes = data.draw(broadcast_shapes(arity), label="shapes")
        operands = [Operand(values(rng, shape, dtype, special_rate, low)) for shape in operand_shapes]
        if arity == 2 and data.draw(st.booleans(), label="a number operand"):
            # a constant of the code (special values live in the tensors)
            position = data.draw(st.integers(0, 1))
            operands[position] = Operand(float(values(rng, (), np.float64, 0.0, low)))
        return operands, (data.draw(options, label="options") if options is not None else {})

    return register(Op(name, mine, theirs, draw, arity))


elementwise("neg", lambda x: -x, lambda x: -x)
elementwise("exp", lambda x: x.exp(), torch.exp)
elementwise("log", lambda x: x.log(), torch.log)
elementwise("sqrt", lambda x: x.sqrt(), torch.sqrt)
elementwise("abs", lambda x: x.abs(), torch.abs)
elementwise("relu", lambda x: x.relu(), torch.relu)
elementwise("sigmoid", lambda x: x.sigmoid(), torch.sigmoid)
elementwise("tanh", lambda x: x.tanh(), torch.tanh)
elementwise("F.relu", F.relu, torch_functional.relu)
BOUND = st.one_of(st.none(), st.sampled_from([-1.0, 0.0, 0.5, 2.0]))
elementwise("clamp", lambda x, low, high: x.clamp(low, high), lambda x, low, high: x.clamp(low, high),
            options=st.fixed_dictionaries({"low": BOUND, "high": BOUND}))
EXPONENT = st.sampled_from([0, 1, 2, 3, -1, 0.5, -1.5, 2.5])
elementwise("pow number", lambda x, p: x**p, lambda x, p: x**p, options=st.fixed_dictionaries({"p": EXPONENT}))
elementwise("rpow number", lambda x, p: p**x, lambda x, p: p**x, options=st.fixed_dictionaries({"p": EXPONENT}))
elementwise("add", lambda a, b: a + b, lambda a, b: a + b, arity=2)
elementwise("sub", lambda a, b: a - b, lambda a, b: a - b, arity=2)
elementwise("mul", lambda a, b: a * b, lambda a, b: a * b, arity=2)
elementwise("div", lambda a, b: a / b, lambda a, b: a / b, arity=2)
elementwise("pow", lambda a, b: a**b, lambda a, b: a**b, arity=2)


# --- division with rounding: floats and integers, edge values, zero divisors ---------------------

INTEGER_EDGES = np.array([0, 1, -1, 2**62, -(2**63), 2**63 - 1])


def draw_division(data, rng, special_rate):
    """Two broadcast tensors (or one and a number) of float64, float32 or int64: special values in
    float tensors, extreme integers in int64 ones. An integer divisor's zeros make PyTorch raise
    (minigrad too), so they stay only where the draw asks for them, or few examples would get past."""
    dtype = data.draw(st.sampled_from([FLOATS[0], FLOATS[1], np.dtype(np.int64)]), label="dtype")
    zero_divisors = data.draw(st.booleans(), label="zero divisors")
    arrays = [values(rng, shape, dtype, special_rate) for shape in data.draw(broadcast_shapes(2), label="shapes")]
    if dtype.kind == "i":
        arrays = [np.where(rng.random(array.shape) < special_rate, rng.choice(INTEGER_EDGES, array.shape), array)
                  for array in arrays]
        if not zero_divisors:
            arrays[1] = np.where(arrays[1] == 0, rng.choice([-3, 3], arrays[1].shape), arrays[1])
    operands = [Operand(array) for array in arrays]
    position = data.draw(st.sampled_from([None, 0, 1]), label="a number operand")
    if position is not None:  # a constant of the code (special values live in the tensors)
        number = values(rng, (), dtype).item()
        operands[position] = Operand(number if number or zero_divisors else 3)
    return operands, {}


# Not among the elementwise ops of the random compositions: a jump of b in the value is a failure
# wherever exp or tanh rounds an ulp apart from PyTorch's near a multiple of b.
register(Op("remainder (%)", lambda a, b: a % b, lambda a, b: a % b, draw_division))
register(Op("floor_divide (//)", lambda a, b: a // b, lambda a, b: a // b, draw_division))
register(Op("fmod", mg.fmod, torch.fmod, draw_division))


# --- mixed dtypes: PyTorch's promotion, on values ------------------------------------------------

KINDS = ["float64", "float32", "int64", "bool"]


@st.composite
def mixed_operand(draw, rng, shape, special_rate):
    kind = draw(st.sampled_from(["tensor", "tensor", "0-d tensor", "number"]))
    dtype = draw(st.sampled_from(KINDS))
    if kind == "number":  # a constant of the code (special values live in the tensors)
        return Operand(values(rng, (), dtype).item())
    return Operand(values(rng, shape if kind == "tensor" else (), dtype, special_rate))


def draw_mixed(data, rng, special_rate):
    operand_shapes = data.draw(broadcast_shapes(2), label="shapes")
    operands = [data.draw(mixed_operand(rng, shape, special_rate), label="operand") for shape in operand_shapes]
    if not any(isinstance(operand.value, np.ndarray) for operand in operands):
        operands[0] = Operand(values(rng, operand_shapes[0], np.float64, special_rate))
    symbol = data.draw(st.sampled_from(["+", "-", "*", "/", "**", "%", "//", "<", "=="]), label="op")
    if symbol == "**":
        # x ** False: PyTorch's backward takes a bool exponent for nonzero (g * (0 * x**-1), NaN at
        # x = 0 or an infinite g) where x ** 0 gives zeros; minigrad treats False as 0.
        operands = [Operand(int(operand.value)) if type(operand.value) is bool else operand for operand in operands]
        # float64 ** float32: PyTorch's backward computes b - 1 in the exponent's float32, so its
        # gradient is float32's (1e-15 - 1 is -1 there); minigrad casts first. One width for both.
        operands = [Operand(operand.value.astype(np.float64)) if isinstance(operand.value, np.ndarray)
                    and operand.value.dtype == np.float32 else operand for operand in operands]
    return operands, {"symbol": symbol}


BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
          "**": lambda a, b: a**b, "%": lambda a, b: a % b, "//": lambda a, b: a // b, "<": lambda a, b: a < b,
          "==": lambda a, b: a == b}
register(Op("mixed dtypes", lambda a, b, symbol: BINARY[symbol](a, b), lambda a, b, symbol: BINARY[symbol](a, b),
            draw_mixed))


# --- along dims: reductions and softmax ----------------------------------------------------------

def along_dims(name, mine, theirs, several=True, keep=True, gradient=True, empty=True):
    """A function of a tensor, ``dim`` (one, several, or None for all) and ``keepdim``."""

    def draw(data, rng, special_rate):
        shape = data.draw(shapes(4, 4, min_side=0 if empty else 1), label="shape")
        dims = st.integers(-len(shape), len(shape) - 1) if shape else st.just(0)
        if several and shape:
            dims = st.one_of(st.none(), dims, st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape),
                                                        unique=True).map(tuple))
        elif several:
            dims = st.none()
        options = {"dim": data.draw(dims, label="dim")}
        if keep:
            options["keep"] = data.draw(st.booleans(), label="keepdim")
        return [Operand(values(rng, shape, float_dtype(data), special_rate))], options

    return register(Op(name, mine, theirs, draw, gradient=gradient))


def _torch_dims(x, dim):
    return tuple(range(x.ndim)) if dim is None else dim


along_dims("sum", lambda x, dim, keep: x.sum(dim=dim, keepdim=keep),
           lambda x, dim, keep: x.sum(dim=_torch_dims(x, dim), keepdim=keep))
along_dims("mean", lambda x, dim, keep: x.mean(dim=dim, keepdim=keep),
           lambda x, dim, keep: x.mean(dim=_torch_dims(x, dim), keepdim=keep))
# max and min: of all elements (dim None), or along one dim the (values, indices) pair (several dims:
# refused by both); amax and amin: the values over any dims
along_dims("max", lambda x, dim, keep: x.max() if dim is None else x.max(dim=dim, keepdim=keep),
           lambda x, dim, keep: x.max() if dim is None else torch.max(x, dim, keep))
along_dims("min", lambda x, dim, keep: x.min() if dim is None else mg.min(x, dim, keepdim=keep),
           lambda x, dim, keep: x.min() if dim is None else torch.min(x, dim, keep))
along_dims("amax", lambda x, dim, keep: x.amax(dim=dim, keepdim=keep),
           lambda x, dim, keep: torch.amax(x, _torch_dims(x, dim), keep))
along_dims("amin", lambda x, dim, keep: mg.amin(x, dim, keep), lambda x, dim, keep: torch.amin(x, _torch_dims(x, dim), keep))
along_dims("argmax", lambda x, dim, keep: x.argmax(dim=dim, keepdim=keep),
           lambda x, dim, keep: torch.argmax(x, dim, keep), several=False, gradient=False)
along_dims("argmin", lambda x, dim, keep: mg.argmin(x, dim, keep),
           lambda x, dim, keep: torch.argmin(x, dim, keep), several=False, gradient=False)
along_dims("softmax", lambda x, dim: x.softmax(dim), lambda x, dim: x.softmax(dim), several=False, keep=False)
along_dims("log_softmax", lambda x, dim: x.log_softmax(dim), lambda x, dim: x.log_softmax(dim), several=False,
           keep=False)
along_dims("F.softmax", lambda x, dim: F.softmax(x, dim), lambda x, dim: torch_functional.softmax(x, dim),
           several=False, keep=False)


# --- shapes, views and indexing ------------------------------------------------------------------

def case(name, mine, theirs, draw, gradient=True, special_upstream=True):
    return register(Op(name, mine, theirs, draw, gradient=gradient, special_upstream=special_upstream))


def one_tensor(options_strategy, max_dims=4):
    """Draw one float tensor, then its options from ``options_strategy(shape)``."""

    def draw(data, rng, special_rate):
        shape = data.draw(shapes(max_dims, 4), label="shape")
        operand = Operand(values(rng, shape, float_dtype(data), special_rate))
        return [operand], data.draw(options_strategy(shape), label="options")

    return draw


@st.composite
def reshape_target(draw, shape):
    size = int(np.prod(shape))
    sides = [side for side in range(1, size + 1) if size % side == 0] if size else [0, 1, 2]
    target, remaining = [], size
    for _ in range(draw(st.integers(0, 3))):
        side = draw(st.sampled_from([s for s in sides if (remaining % s == 0 if remaining else True)] or [1]))
        target.append(side)
        remaining = remaining // side if side and remaining else remaining
    target.append(remaining if size else draw(st.sampled_from([0, 3])))
    if draw(st.booleans()) and target.count(0) == 0:
        target[draw(st.integers(0, len(target) - 1))] = -1
    return {"shape": tuple(target)}


case("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), one_tensor(reshape_target))
case("view", lambda x, shape: x.view(*shape), lambda x, shape: x.reshape(*shape), one_tensor(reshape_target))
case("permute", lambda x, axes: x.permute(*axes), lambda x, axes: x.permute(axes),
     one_tensor(lambda shape: st.permutations(range(len(shape))).map(lambda axes: {"axes": tuple(axes)})))
case("transpose", lambda x, pair: x.transpose(*pair), lambda x, pair: x.transpose(*pair),
     one_tensor(lambda shape: st.tuples(st.integers(0, max(len(shape) - 1, 0)),
                                        st.integers(0, max(len(shape) - 1, 0))).map(lambda pair: {"pair": pair})))
case("T", lambda x: x.T, lambda x: x.permute(tuple(reversed(range(x.ndim)))), one_tensor(lambda shape: st.just({})))
case("unsqueeze", lambda x, dim: x.unsqueeze(dim), lambda x, dim: x.unsqueeze(dim),
     one_tensor(lambda shape: st.integers(-len(shape) - 1, len(shape)).map(lambda dim: {"dim": dim})))
case("squeeze", lambda x, dim: x.squeeze(dim), lambda x, dim: x.squeeze() if dim is None else x.squeeze(dim),
     one_tensor(lambda shape: (st.integers(-len(shape), len(shape) - 1) if shape else st.none()).map(
         lambda dim: {"dim": dim})))
case("flatten", lambda x, start, end: x.flatten(start, end), lambda x, start, end: x.flatten(start, end),
     one_tensor(lambda shape: st.fixed_dictionaries({"start": st.integers(0, max(len(shape) - 1, 0)),
                                                     "end": st.integers(-1, max(len(shape) - 1, 0))})))


@st.composite
def an_index(draw, shape):
    """A basic, advanced or mixed index for ``shape``: ints, slices (steps of any sign), None,
    Ellipsis, integer lists and boolean masks."""
    items, axis = [], 0
    while axis < len(shape) and draw(st.integers(0, 3)):
        size = shape[axis]
        kind = draw(st.sampled_from(["int", "slice", "slice", "none", "list", "mask"]))
        if kind == "int" and size:
            items.append(draw(st.integers(-size, size - 1)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
            stop = draw(st.one_of(st.none(), st.integers(-size - 1, size + 1)))
            items.append(slice(start, stop, draw(st.sampled_from([None, 1, 2, 3, -1]))))
        elif kind == "none":
            items.append(None)
            continue
        elif kind == "list" and size:
            items.append(draw(st.lists(st.integers(-size, size - 1), min_size=0, max_size=3)))
        elif kind == "mask":
            items.append(np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool))
        else:
            items.append(slice(None))
        axis += 1
    if draw(st.booleans()):
        items.append(Ellipsis)  # the axes not indexed (the items above index the leading ones)
    return {"index": tuple(items)}


def torch_getitem(x, index):
    """x[index] in PyTorch. A negative slice step, which PyTorch refuses and minigrad takes as NumPy
    does (README, "Coming from PyTorch"), is compared through the flat positions it selects, found
    with minigrad's own index_stages so that integers still select first, as PyTorch's do."""
    if not any(isinstance(item, slice) and (item.step or 1) < 0 for item in index):
        return x[tuple(torch.tensor(item) if isinstance(item, (list, np.ndarray)) else item for item in index)]
    index = tuple(np.asarray(item) if isinstance(item, list) else item for item in index)
    positions = np.arange(x.numel()).reshape(tuple(x.shape))
    stages = mg.ops.shape.index_stages(index, x.ndim)
    positions = positions[index] if stages is None else positions[stages[0]][stages[1]]
    return x.reshape(-1)[torch.as_tensor(positions.copy())]  # a copy: torch takes no negative strides


case("getitem", lambda x, index: x[tuple(np.asarray(i) if isinstance(i, list) else i for i in index)],
     torch_getitem, one_tensor(an_index))


# --- linear algebra, convolution, pooling --------------------------------------------------------

@st.composite
def matmul_shapes(draw):
    inner = draw(st.integers(0, 5))
    left = draw(st.sampled_from(["vector", "matrix", "batch"]))
    right = draw(st.sampled_from(["vector", "matrix", "batch"]))
    batch = draw(shapes(2, 3, min_side=1))

    def shape_of(kind, matrix):
        if kind == "vector":
            return (inner,)
        rows = draw(st.integers(0, 5))
        core = (rows, inner) if matrix == "left" else (inner, rows)
        if kind == "matrix":
            return core
        dropped = draw(st.integers(0, len(batch)))
        return tuple(1 if draw(st.booleans()) else side for side in batch[dropped:]) + core

    return shape_of(left, "left"), shape_of(right, "right")


def draw_matmul(data, rng, special_rate):
    dtype = float_dtype(data)
    left, right = data.draw(matmul_shapes(), label="shapes")
    return [Operand(values(rng, left, dtype, special_rate)), Operand(values(rng, right, dtype, special_rate))], {}


case("matmul", lambda a, b: a @ b, lambda a, b: a @ b, draw_matmul)


def draw_linear(data, rng, special_rate):
    dtype = float_dtype(data)
    leading = data.draw(shapes(2, 3), label="leading")
    features, outputs = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    operands = [Operand(values(rng, leading + (features,), dtype, special_rate)),
                Operand(values(rng, (outputs, features), dtype, special_rate))]
    if data.draw(st.booleans(), label="bias"):
        operands.append(Operand(values(rng, (outputs,), dtype, special_rate)))
    return operands, {}


case("F.linear", F.linear, torch_functional.linear, draw_linear)


def draw_conv2d(data, rng, special_rate):
    dtype = float_dtype(data)
    batch, channels, outputs = data.draw(st.integers(0, 2)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))
    kernel = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    dilation = data.draw(st.integers(1, 2))
    stride = data.draw(st.integers(1, 2))
    padding = data.draw(st.one_of(st.integers(0, 2), st.sampled_from(["same", "valid"]) if stride == 1 else st.just(0)))
    height, width = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 7))
    # Special values in x, not in the weight nor the upstream gradient: an inf there meets the zero
    # padding, and PyTorch itself answers 0 * inf differently by dtype (float64's im2col multiplies
    # it, giving NaN; float32's oneDNN skips the padding). minigrad multiplies, as float64 does.
    operands = [Operand(values(rng, (batch, channels, height, width), dtype, special_rate)),
                Operand(values(rng, (outputs, channels) + kernel, dtype))]
    if data.draw(st.booleans(), label="bias"):
        operands.append(Operand(values(rng, (outputs,), dtype)))
    return operands, {"stride": stride, "padding": padding, "dilation": dilation}


def conv2d_both(functional):
    def call(x, weight, bias=None, **options):
        return functional.conv2d(x, weight, bias, **options)
    return call


case("F.conv2d", conv2d_both(F), conv2d_both(torch_functional), draw_conv2d, special_upstream=False)


def draw_pool(data, rng, special_rate):
    dtype = float_dtype(data)
    kernel = data.draw(st.integers(1, 3))
    stride = data.draw(st.one_of(st.none(), st.integers(1, 3)))
    padding = data.draw(st.integers(0, kernel // 2))
    shape = (data.draw(st.integers(0, 2)), data.draw(st.integers(1, 3)), data.draw(st.integers(kernel, 7)),
             data.draw(st.integers(kernel, 7)))
    return [Operand(values(rng, shape, dtype, special_rate))], {"kernel_size": kernel, "stride": stride,
                                                                "padding": padding}


case("F.max_pool2d", F.max_pool2d, torch_functional.max_pool2d, draw_pool)
case("F.avg_pool2d", lambda x, include, **options: F.avg_pool2d(x, count_include_pad=include, **options),
     lambda x, include, **options: torch_functional.avg_pool2d(x, count_include_pad=include, **options),
     lambda data, rng, rate: (lambda drawn: (drawn[0], dict(drawn[1], include=data.draw(st.booleans()))))(
         draw_pool(data, rng, rate)))


# --- losses --------------------------------------------------------------------------------------

def draw_classification(data, rng, special_rate):
    dtype = float_dtype(data)
    rows, classes = data.draw(st.integers(0, 5), label="rows"), data.draw(st.integers(1, 5), label="classes")
    targets = rng.integers(0, classes, rows)
    if data.draw(st.booleans(), label="some ignored"):
        targets = np.where(rng.random(rows) < 0.5, -100, targets)
    options = {"reduction": data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")}
    return [Operand(values(rng, (rows, classes), dtype, special_rate)), Operand(targets.astype(np.int64))], options


case("F.cross_entropy", lambda x, t, smoothing, **options: F.cross_entropy(x, t, label_smoothing=smoothing, **options),
     lambda x, t, smoothing, **options: torch_functional.cross_entropy(x, t, label_smoothing=smoothing, **options),
     lambda data, rng, rate: (lambda drawn: (drawn[0], dict(drawn[1], smoothing=data.draw(
         st.sampled_from([0.0, 0.0, 0.1, 1.0]), label="label smoothing"))))(draw_classification(data, rng, rate)), special_upstream=False)
case("F.nll_loss", lambda x, t, **options: F.nll_loss(x, t, **options),
     lambda x, t, **options: torch_functional.nll_loss(x, t, **options), draw_classification, special_upstream=False)


def draw_pointwise_loss(data, rng, special_rate):
    dtype = float_dtype(data)
    shape = data.draw(shapes(3, 4), label="shape")
    operands = [Operand(values(rng, shape, dtype, special_rate)), Operand(values(rng, shape, dtype), grad=False)]
    return operands, {"reduction": data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")}


case("F.mse_loss", F.mse_loss, torch_functional.mse_loss, draw_pointwise_loss, special_upstream=False)


def draw_binary_cross_entropy(data, rng, special_rate):
    operands, options = draw_pointwise_loss(data, rng, special_rate)
    logits = operands[0].value
    operands[1] = Operand(np.asarray(rng.random(logits.shape) < 0.5, dtype=logits.dtype), grad=False)
    shape = logits.shape
    for name in ("weight", "pos_weight"):
        if data.draw(st.booleans(), label=name):
            trailing = shape[len(shape) - data.draw(st.integers(0, len(shape)), label=f"{name} dims"):]
            options[name] = np.abs(values(rng, trailing, logits.dtype)) + 0.5
    return operands, options


def with_constant_tensors(function, library):
    def call(x, target, **options):
        for name in ("weight", "pos_weight"):
            if name in options:
                options[name] = library.tensor(options[name])
        return function(x, target, **options)
    return call


case("F.binary_cross_entropy_with_logits", with_constant_tensors(F.binary_cross_entropy_with_logits, mg),
     with_constant_tensors(torch_functional.binary_cross_entropy_with_logits, torch), draw_binary_cross_entropy, special_upstream=False)
case("F.dropout (no randomness)", lambda x, p, training: F.dropout(x, p, training),
     lambda x, p, training: torch_functional.dropout(x, p, training),
     one_tensor(lambda shape: st.one_of(st.just({"p": 0.0, "training": True}),
                                        st.builds(lambda p: {"p": p, "training": False}, st.sampled_from([0.0, 0.5])))))


# PyTorch's tensor functions (cat, where, gather, sort, norm...): their own file, registered on import
from differential_functions import TENSOR_FUNCTIONS  # noqa: E402

assert TENSOR_FUNCTIONS

# The layers' families (normalization, activations, pooling, convolutions, losses...) register from
# their own files, tests/differential_layers_<family>.py, imported here in name order.
for _path in sorted(pathlib.Path(__file__).parent.glob("differential_layers_*.py")):
    importlib.import_module(_path.stem)

ELEMENTWISE = {name: op for name, op in REGISTRY.items() if op.arity}
