"""One differential case: draw its inputs, run it on minigrad and on PyTorch, compare everything.

What is compared, for each case:
- whether it runs: where PyTorch raises, minigrad must raise (any error), and the other way round;
- the outputs: the same type (tensor, tuple of tensors, number), shape and dtype, and the values, with
  NaN where PyTorch has NaN and the same infinities (signed zeros are not told apart);
- the gradients: both outputs are given the same random upstream gradient (special values among it
  where the case asks for them), and every floating input's gradient must match (an input PyTorch
  leaves without a gradient must have none or zeros).

Values come from a NumPy generator seeded by Hypothesis, so a failure shrinks to a short seed and
small shapes; the structure (shapes, dims, dtypes, options) is drawn by Hypothesis directly.
"""
import numpy as np
import torch
from hypothesis import strategies as st

import minigrad as mg

TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64,
                np.dtype(np.int64): torch.int64, np.dtype(np.bool_): torch.bool}
FLOATS = (np.dtype(np.float64), np.dtype(np.float32))
# (rtol, atol relative to the largest finite magnitude of the expected array, or 1)
TOLERANCES = {np.dtype(np.float64): (1e-7, 1e-9), np.dtype(np.float32): (2e-3, 1e-4)}
SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e30, -1e30, 1e-30])
# In float32 the huge and tiny specials are 1e15 and 1e-15: products of two stay finite (1e30 ones
# would overflow, and a sum of overflowed products is inf or NaN by the order of its terms, which
# differs between any two matrix-product kernels).
SPECIALS32 = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e15, -1e15, 1e-15])


# --- drawing inputs ------------------------------------------------------------------------------

def shapes(max_dims=3, max_side=4, min_dims=0, min_side=0):
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(tuple)


@st.composite
def broadcast_shapes(draw, count, max_dims=3, max_side=4):
    """``count`` shapes that broadcast together: each drops leading axes of one base shape, or sets
    some of its axes to 1."""
    base = draw(shapes(max_dims, max_side))
    result = []
    for _ in range(count):
        dropped = draw(st.integers(0, len(base)))
        shape = [size if not draw(st.booleans()) else 1 for size in base[dropped:]]
        result.append(tuple(shape))
    return result


@st.composite
def special_rates(draw):
    """How many elements are special values: none (most examples), some, or many."""
    return draw(st.sampled_from([0.0, 0.0, 0.1, 0.5]))


def values(rng, shape, dtype, special_rate=0.0, low=None):
    """An array of ``shape``: standard normal floats (or small integers, or bools), a ``special_rate``
    share of them replaced by NaN, infinities, signed zeros, huge and tiny values."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.kind in "iu":
        return np.asarray(rng.integers(-4, 5, shape), dtype=dtype)
    array = rng.standard_normal(shape) * rng.choice([1.0, 3.0])
    if low is not None:
        array = np.abs(array) + low
    if special_rate:
        chosen = rng.random(shape) < special_rate
        array = np.where(chosen, rng.choice(SPECIALS32 if dtype == np.float32 else SPECIALS, shape), array)
    return np.asarray(array, dtype=dtype)  # 0-d stays an array (NumPy gives scalars for shape ())


# --- running both --------------------------------------------------------------------------------

class Operand:
    """A case's input: an array (a tensor on both sides, needing a gradient if ``grad``) or a number."""

    def __init__(self, value, grad=None):
        self.value = value
        is_array = isinstance(value, np.ndarray)
        self.grad = (is_array and value.dtype.kind == "f") if grad is None else grad

    def minigrad(self):
        if not isinstance(self.value, np.ndarray):
            return self.value
        return mg.tensor(self.value, dtype=self.value.dtype, requires_grad=self.grad)

    def torch(self):
        if not isinstance(self.value, np.ndarray):
            return self.value
        return torch.tensor(self.value, dtype=TORCH_DTYPES[self.value.dtype], requires_grad=self.grad)


def run(name, minigrad_function, torch_function, operands, rng, special_rate=0.0, gradient=True,
        special_upstream=True):
    """Run both sides and compare; raises AssertionError naming what differs. The upstream gradient
    takes special values too unless ``special_upstream`` is False (a loss, where backward starts)."""
    mine_inputs = [operand.minigrad() for operand in operands]
    their_inputs = [operand.torch() for operand in operands]
    their_error = mine_error = None
    try:
        theirs = torch_function(*their_inputs)
    except Exception as error:  # noqa: BLE001  any refusal counts
        their_error = error
    try:
        mine = minigrad_function(*mine_inputs)
    except Exception as error:  # noqa: BLE001
        mine_error = error
    context = f"{name} on {describe(operands)}"
    # A float32 input limits the precision of a float64 result (float32 * float64 0-d is float32,
    # float64 * float32 is float64 from float32 values): compare at the narrowest input's tolerance.
    narrowest = min((operand.value.dtype for operand in operands if isinstance(operand.value, np.ndarray)
                     and operand.value.dtype.kind == "f"), key=lambda dtype: dtype.itemsize, default=None)
    if their_error is not None or mine_error is not None:
        assert (their_error is None) == (mine_error is None), (
            f"{context}: PyTorch {'raised ' + repr(their_error) if their_error else 'ran'}, "
            f"minigrad {'raised ' + repr(mine_error) if mine_error else 'ran'}")
        return
    # Huge finite values (1e30 and products of them) make the two libraries' sums round apart by
    # far more than any tolerance once they cancel; such examples compare where the values are
    # NaN, infinite (and its sign) or finite, not the finite values themselves.
    loose = any(isinstance(operand.value, np.ndarray) and _has_huge(operand.value) for operand in operands)
    compare(context + ", forward", mine, theirs, loose, narrowest)
    if not gradient:
        return
    mine_outputs, their_outputs = flat_tensors(mine), flat_tensors(theirs)
    pairs = [(m, t) for m, t in zip(mine_outputs, their_outputs) if t.requires_grad]
    if not pairs:
        return
    for m, t in pairs:
        upstream = values(rng, tuple(t.shape), np.dtype(str(t.dtype).replace("torch.", "")),
                          special_rate if special_upstream else 0.0)
        loose = loose or _has_huge(upstream)
        try:
            t.backward(torch.tensor(upstream), retain_graph=True)
        except RuntimeError:
            return  # PyTorch's own backward fails (float ** bool tensor): no gradients to compare
        m.backward(mg.tensor(upstream, dtype=upstream.dtype), retain_graph=True)
    for index, (operand, m, t) in enumerate(zip(operands, mine_inputs, their_inputs)):
        if not (isinstance(operand.value, np.ndarray) and operand.grad):
            continue
        expected = np.zeros(operand.value.shape, operand.value.dtype) if t.grad is None else t.grad.numpy()
        got = np.zeros(operand.value.shape, operand.value.dtype) if m.grad is None else m.grad.numpy()
        compare_arrays(f"{context}, gradient of input {index}", got, expected, loose, narrowest)


def flat_tensors(result):
    if isinstance(result, (tuple, list)):
        return [tensor for item in result for tensor in flat_tensors(item)]
    return [result]


def describe(operands):
    parts = []
    for operand in operands:
        value = operand.value
        if isinstance(value, np.ndarray):
            text = np.array2string(value, precision=3, threshold=12, edgeitems=2).replace("\n", "")
            parts.append(f"{value.dtype}{list(value.shape)} {text}")
        else:
            parts.append(repr(value))
    return "(" + "; ".join(parts) + ")"


def _has_huge(array):
    finite = np.abs(array[np.isfinite(array)]) if array.dtype.kind == "f" else np.zeros(0)
    return bool(finite.size) and float(finite.max()) >= 1e12


def compare(context, mine, theirs, loose=False, narrowest=None):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(mine, (tuple, list)) and len(mine) == len(theirs), f"{context}: {mine!r} vs {theirs!r}"
        for index, (m, t) in enumerate(zip(mine, theirs)):
            compare(f"{context}[{index}]", m, t, loose, narrowest)
        return
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, mg.Tensor), f"{context}: minigrad gave {type(mine).__name__}, PyTorch a tensor"
        their_array = theirs.detach().numpy()
        assert mine.dtype == their_array.dtype, f"{context}: dtype {mine.dtype}, PyTorch {their_array.dtype}"
        compare_arrays(context, mine.numpy(), their_array, loose, narrowest)
        return
    compare_arrays(context, np.asarray(mine), np.asarray(theirs), loose, narrowest)


def compare_arrays(context, got, expected, loose=False, narrowest=None):
    assert got.shape == expected.shape, f"{context}: shape {got.shape}, PyTorch {expected.shape}"
    if expected.dtype.kind not in "fc":
        np.testing.assert_array_equal(got, expected, err_msg=context)
        return
    if loose:
        kinds = [np.where(np.isnan(a), 2, np.where(np.isinf(a), np.sign(a) * 3, 0)) for a in (got, expected)]
        np.testing.assert_array_equal(kinds[0], kinds[1], err_msg=f"{context} (NaN 2, inf +-3, finite 0)")
        return
    dtype = np.dtype(expected.dtype)
    if narrowest is not None and narrowest.itemsize < dtype.itemsize:
        dtype = narrowest
    rtol, atol = TOLERANCES[dtype]
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol * scale, equal_nan=True, err_msg=context)
