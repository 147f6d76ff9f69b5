"""PyTorch's tensor functions in the differential fuzzer: joining (cat, stack), splitting (split, chunk),
selection (where, gather, scatter_add, masked_fill, sort, topk, clamp with tensor bounds), shapes
(expand, repeat, squeeze with several dims), scans and statistics (cumsum, var, std, norm,
logsumexp), and the elementwise maximum, minimum and mg.pow.

Imported by differential_ops.py before it gathers its elementwise ops, so these register with the
rest; each draws its inputs, and sometimes arguments PyTorch refuses (mismatched shapes, an index
out of range), where minigrad must refuse too.
"""
import numpy as np
import torch
from differential_check import FLOATS, Operand, broadcast_shapes, shapes, values
from differential_ops import REGISTRY, case, elementwise, float_dtype, one_tensor
from hypothesis import strategies as st

import minigrad as mg

_BEFORE = set(REGISTRY)

# --- elementwise: they join the random compositions -----------------------------------------------

elementwise("maximum", mg.maximum, torch.maximum, arity=2)
elementwise("minimum", mg.minimum, torch.minimum, arity=2)
elementwise("mg.max(a, b)", lambda a, b: mg.max(a, b), lambda a, b: torch.max(a, b), arity=2)
elementwise("mg.pow", mg.pow, torch.pow, arity=2)


# --- joining ---------------------------------------------------------------------------------------

def draw_joined(stacking):
    """Tensors of one shape except along ``dim`` (cat) or of one shape (stack); now and then one that
    does not fit, a legacy empty (0,) tensor (cat), or a float32 among float64 ones (they promote)."""

    def draw(data, rng, special_rate):
        base = data.draw(shapes(3, 3, min_dims=0 if stacking else 1), label="shape")
        count = data.draw(st.integers(1, 3), label="count")
        bound = len(base) + (1 if stacking else 0)
        dim = data.draw(st.integers(-bound, bound - 1) if bound else st.just(0), label="dim")
        operands = []
        for _ in range(count):
            shape = list(base)
            if not stacking and base:
                shape[dim % len(base)] = data.draw(st.integers(0, 3), label="size along dim")
            if base and data.draw(st.integers(0, 9), label="misfit") == 0:
                shape[0] += 1
            if not stacking and data.draw(st.integers(0, 9), label="legacy empty") == 0:
                shape = [0]
            dtype = float_dtype(data)
            operands.append(Operand(values(rng, tuple(shape), dtype, special_rate)))
        return operands, {"dim": dim}

    return draw


case("cat", lambda *xs, dim: mg.cat(list(xs), dim), lambda *xs, dim: torch.cat(list(xs), dim), draw_joined(False))
case("stack", lambda *xs, dim: mg.stack(xs, dim), lambda *xs, dim: torch.stack(xs, dim), draw_joined(True))


# --- splitting -------------------------------------------------------------------------------------

@st.composite
def split_options(draw, shape):
    dim = draw(st.integers(-len(shape), len(shape) - 1)) if shape else 0
    length = shape[dim] if shape else 0
    if draw(st.booleans()):
        sections = draw(st.integers(0, 5))  # 0: only an empty dim takes it
    else:
        cuts = sorted(draw(st.lists(st.integers(0, length), max_size=3)))
        sections = [end - start for start, end in zip([0] + cuts, cuts + [length])]
        if draw(st.integers(0, 9)) == 0:
            sections.append(1)  # no longer adds up
    return {"sections": sections, "dim": dim}


case("split", lambda x, sections, dim: x.split(sections, dim), lambda x, sections, dim: x.split(sections, dim),
     one_tensor(split_options))
case("mg.split", lambda x, sections, dim: mg.split(x, sections, dim=dim),
     lambda x, sections, dim: torch.split(x, sections, dim=dim), one_tensor(split_options))
case("chunk", lambda x, chunks, dim: x.chunk(chunks, dim), lambda x, chunks, dim: x.chunk(chunks, dim),
     one_tensor(lambda shape: st.fixed_dictionaries({
         "chunks": st.integers(0, 5), "dim": st.integers(-len(shape), len(shape) - 1) if shape else st.just(0)})))


# --- where, masked_fill ----------------------------------------------------------------------------

def draw_where(data, rng, special_rate):
    dtype = float_dtype(data)
    condition_shape, *operand_shapes = data.draw(broadcast_shapes(3), label="shapes")
    operands = [Operand(values(rng, condition_shape, np.bool_))]
    for position, shape in enumerate(operand_shapes):
        if data.draw(st.integers(0, 3), label=f"number {position}") == 0:
            operands.append(Operand(float(values(rng, (), np.float64))))
        else:
            operands.append(Operand(values(rng, shape, dtype, special_rate)))
    return operands, {}


case("where", mg.where, torch.where, draw_where)


def draw_masked_fill(data, rng, special_rate):
    dtype = float_dtype(data)
    shape, mask_shape = data.draw(broadcast_shapes(2), label="shapes")
    operands = [Operand(values(rng, shape, dtype, special_rate)), Operand(values(rng, mask_shape, np.bool_))]
    kind = data.draw(st.sampled_from(["number", "0-d tensor", "special"]), label="value")
    if kind == "number":
        operands.append(Operand(float(values(rng, (), np.float64))))
    elif kind == "special":
        operands.append(Operand(float(data.draw(st.sampled_from([np.nan, np.inf, -np.inf])))))
    else:
        operands.append(Operand(values(rng, (), data.draw(st.sampled_from(FLOATS)), special_rate)))
    return operands, {}


case("masked_fill", lambda x, mask, value: x.masked_fill(mask, value),
     lambda x, mask, value: x.masked_fill(mask, value), draw_masked_fill)


# --- gather, scatter_add ---------------------------------------------------------------------------

def draw_indexed(scatter):
    """A tensor, a dim, an int64 index no larger than the tensor apart from the dim (now and then a
    value out of range, or a size too large), and for scatter_add a src at least the index's size."""

    def draw(data, rng, special_rate):
        dtype = float_dtype(data)
        shape = data.draw(shapes(3, 4, min_dims=1, min_side=1), label="shape")
        dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
        axis = dim % len(shape)
        index_shape = [data.draw(st.integers(0, 4)) if position == axis else data.draw(st.integers(0, size))
                       for position, size in enumerate(shape)]
        index = rng.integers(0, shape[axis], index_shape)
        trouble = data.draw(st.integers(0, 9), label="trouble")
        if trouble == 0 and index.size:
            index.flat[0] = data.draw(st.sampled_from([-1, shape[axis]]))
        elif trouble == 1:
            index = rng.integers(0, shape[axis], [size + 1 for size in index_shape])
        operands = [Operand(values(rng, shape, dtype, special_rate)), Operand(index.astype(np.int64))]
        if scatter:
            src_shape = tuple(size + data.draw(st.integers(0, 1)) for size in index.shape)
            operands.append(Operand(values(rng, src_shape, dtype, special_rate)))
        return operands, {"dim": dim}

    return draw


case("gather", lambda x, index, dim: x.gather(dim, index), lambda x, index, dim: x.gather(dim, index),
     draw_indexed(False))
case("mg.gather", lambda x, index, dim: mg.gather(x, dim, index), lambda x, index, dim: torch.gather(x, dim, index),
     draw_indexed(False))
case("scatter_add", lambda x, index, src, dim: x.scatter_add(dim, index, src),
     lambda x, index, src, dim: x.scatter_add(dim, index, src), draw_indexed(True))


# --- sort, topk, max/min along a dim ---------------------------------------------------------------

case("sort", lambda x, dim, descending: x.sort(dim, descending, stable=True),
     lambda x, dim, descending: x.sort(dim=dim, descending=descending, stable=True),
     one_tensor(lambda shape: st.fixed_dictionaries({
         "dim": st.integers(-len(shape), len(shape) - 1) if shape else st.just(0), "descending": st.booleans()})))


def draw_topk(data, rng, special_rate):
    """Distinct values (PyTorch's order among ties is its own), a NaN (the largest) at times."""
    shape = data.draw(shapes(3, 4), label="shape")
    dim = data.draw(st.integers(-len(shape), len(shape) - 1) if shape else st.just(0), label="dim")
    length = shape[dim] if shape else 1
    array = np.array(rng.permutation(max(int(np.prod(shape)), 1))[: int(np.prod(shape))].reshape(shape) * 0.5 - 3.0)
    if data.draw(st.booleans(), label="a NaN") and array.size:
        array.flat[rng.integers(array.size)] = np.nan  # one: the order among several is PyTorch's own
    options = {"k": data.draw(st.integers(0, length + 1), label="k"), "dim": dim, "largest": data.draw(st.booleans())}
    return [Operand(np.asarray(array, dtype=float_dtype(data)))], options


case("topk", lambda x, k, dim, largest: x.topk(k, dim, largest),
     lambda x, k, dim, largest: x.topk(k, dim, largest), draw_topk)


# --- cumsum, var, std, norm, logsumexp -------------------------------------------------------------

case("cumsum", lambda x, dim: x.cumsum(dim), lambda x, dim: x.cumsum(dim),
     one_tensor(lambda shape: (st.integers(-len(shape), len(shape) - 1) if shape else st.just(0)).map(
         lambda dim: {"dim": dim})))


def dims_of(shape, allow_none=True):
    if not shape:
        return st.none() if allow_none else st.just(0)
    one = st.integers(-len(shape), len(shape) - 1)
    several = st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True).map(tuple)
    return st.one_of(st.none(), one, several) if allow_none else st.one_of(one, several)


def without_huge_values(draw):
    """``draw`` with the huge finite specials (1e30, 1e15) made 0: the mean of values that cancel
    (1e30 - 1e30) depends on the order of the sum, and var's gradient is g times x - mean."""

    def drawn(data, rng, special_rate):
        operands, options = draw(data, rng, special_rate)
        value = operands[0].value
        operands[0] = Operand(np.where(np.isfinite(value) & (np.abs(value) >= 1e12), 0, value).astype(value.dtype))
        return operands, options

    return drawn


SPREAD = st.sampled_from([{}, {"unbiased": False}, {"unbiased": True}, {"correction": 0}])
for name in ("var", "std"):
    case(name, lambda x, dim, keepdim, spread, name=name: getattr(x, name)(dim, keepdim=keepdim, **spread),
         lambda x, dim, keepdim, spread, name=name: getattr(x, name)(dim, keepdim=keepdim, **spread),
         without_huge_values(one_tensor(lambda shape: st.fixed_dictionaries({
             "dim": dims_of(shape), "keepdim": st.booleans(), "spread": SPREAD}))))

NORM_ORDERS = st.sampled_from(["fro", 2, 1, float("inf"), -float("inf"), 0, 3, 1.5, 0.5, -1])
case("norm", lambda x, p, dim, keepdim: x.norm(p, dim, keepdim), lambda x, p, dim, keepdim: x.norm(p, dim, keepdim),
     one_tensor(lambda shape: st.fixed_dictionaries({"p": NORM_ORDERS, "dim": dims_of(shape), "keepdim": st.booleans()})))
case("logsumexp", lambda x, dim, keepdim: x.logsumexp(dim, keepdim),
     lambda x, dim, keepdim: x.logsumexp(dim, keepdim),
     one_tensor(lambda shape: st.fixed_dictionaries({"dim": dims_of(shape, allow_none=False),
                                                     "keepdim": st.booleans()})))


# --- clamp with tensor bounds ----------------------------------------------------------------------

def draw_clamp_tensors(data, rng, special_rate):
    dtype = float_dtype(data)
    which = data.draw(st.sampled_from(["both", "min", "max"]), label="bounds")
    operand_shapes = data.draw(broadcast_shapes(3 if which == "both" else 2), label="shapes")
    operands = [Operand(values(rng, shape, dtype, special_rate)) for shape in operand_shapes]
    return operands, {"which": which}


def clamp_between(x, *bounds, which):
    if which == "both":
        return x.clamp(*bounds)
    return x.clamp(**{which: bounds[0]})


case("clamp (tensor bounds)", clamp_between, clamp_between, draw_clamp_tensors)


# --- shapes ----------------------------------------------------------------------------------------

@st.composite
def expand_sizes(draw, shape):
    sizes = [draw(st.integers(0, 2)) for _ in range(draw(st.integers(0, 2)))]
    for size in shape:
        choice = draw(st.sampled_from(["keep", "-1", "stretch"]))
        sizes.append(-1 if choice == "-1" else draw(st.integers(0, 3)) if choice == "stretch" and size == 1 else size)
    if draw(st.integers(0, 9)) == 0 and sizes:
        sizes[-1] += 1  # stretches a dim that is not 1 (unless it was)
    return {"sizes": tuple(sizes)}


case("expand", lambda x, sizes: x.expand(*sizes), lambda x, sizes: x.expand(*sizes), one_tensor(expand_sizes))
case("repeat", lambda x, sizes: x.repeat(*sizes), lambda x, sizes: x.repeat(*sizes),
     one_tensor(lambda shape: st.lists(st.integers(0, 3), min_size=len(shape), max_size=len(shape) + 2).map(
         lambda sizes: {"sizes": tuple(sizes)})), )
case("squeeze dims", lambda x, dims: x.squeeze(dims), lambda x, dims: x.squeeze(dims),
     one_tensor(lambda shape: (st.lists(st.integers(-len(shape), len(shape) - 1), max_size=3).map(tuple) if shape
                               else st.just((0,))).map(lambda dims: {"dims": dims})))

TENSOR_FUNCTIONS = sorted(set(REGISTRY) - _BEFORE)  # the names this file registered
