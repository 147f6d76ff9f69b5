"""minigrad against PyTorch on random inputs: a differential fuzzer over every registered op.

Values and gradients in float64 (and float32 at float32 tolerance) over broadcast shapes with 0-d
and size-0 dims, special values (NaN, infinities, signed zeros, huge and tiny numbers), mixed
dtypes, reductions, shape ops and indexing, matmul, convolution and pooling, losses, random
compositions of the elementwise ops, views with in-place updates, optimizer trajectories and
GradientTape. The ops and how their inputs are drawn: tests/differential_ops.py (a new op joins by
being registered there once); the comparison: tests/differential_check.py.

The normal run uses a fixed seed and a small budget. For a longer run, after changing an op:

    MINIGRAD_FUZZ_EXAMPLES=2000 python -m pytest tests/test_differential.py -k "pow or compositions"
"""
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from differential_check import FLOATS, Operand, broadcast_shapes, run, special_rates, values  # noqa: E402
from differential_ops import ELEMENTWISE, REGISTRY  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import minigrad as mg  # noqa: E402

# NumPy warns where PyTorch stays silent (1 / 0, inf - inf): the special values make plenty of both.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

EXAMPLES = int(os.environ.get("MINIGRAD_FUZZ_EXAMPLES", "50"))
FUZZ = settings(max_examples=EXAMPLES, derandomize="MINIGRAD_FUZZ_EXAMPLES" not in os.environ, deadline=None,
                database=None, suppress_health_check=list(HealthCheck), print_blob=True)


def generator(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


@pytest.mark.parametrize("name", sorted(REGISTRY))
@FUZZ
@given(data=st.data())
def test_op_agrees_with_pytorch(name, data):
    op = REGISTRY[name]
    rng, special_rate = generator(data), data.draw(special_rates(), label="special values")
    operands, options = op.draw(data, rng, special_rate)
    run(name, lambda *inputs: op.minigrad(*inputs, **options), lambda *inputs: op.torch(*inputs, **options),
        operands, rng, special_rate, op.gradient, op.special_upstream)


# --- random compositions of the elementwise ops --------------------------------------------------

@st.composite
def expressions(draw, leaves, depth):
    """A random expression tree over ``leaves`` input positions: (op name, children) or an int leaf."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.integers(0, leaves - 1))
    name = draw(st.sampled_from(sorted(ELEMENTWISE)))
    op = ELEMENTWISE[name]
    children = [draw(expressions(leaves, depth - 1)) for _ in range(op.arity)]
    options = {}
    if name == "clamp":
        options = draw(st.sampled_from([{"low": -1.0, "high": None}, {"low": 0.0, "high": 2.0},
                                        {"low": None, "high": 0.5}]))
    elif name in ("pow number", "rpow number"):
        options = {"p": draw(st.sampled_from([2, 0.5, -1, 3]))}
    return name, children, options


def evaluate(tree, inputs, side):
    if isinstance(tree, int):
        return inputs[tree]
    name, children, options = tree
    op = ELEMENTWISE[name]
    function = op.minigrad if side == "minigrad" else op.torch
    return function(*[evaluate(child, inputs, side) for child in children], **options)


@FUZZ
@given(data=st.data())
def test_random_compositions_of_elementwise_ops_agree_with_pytorch(data):
    rng, special_rate = generator(data), data.draw(special_rates(), label="special values")
    dtype = data.draw(st.sampled_from([FLOATS[0], FLOATS[0], FLOATS[1]]), label="dtype")
    leaf_shapes = data.draw(broadcast_shapes(3), label="shapes")
    tree = data.draw(expressions(3, 3), label="expression")
    operands = [Operand(values(rng, shape, dtype, special_rate)) for shape in leaf_shapes]
    run(f"composition {tree}", lambda *inputs: evaluate(tree, inputs, "minigrad"),
        lambda *inputs: evaluate(tree, inputs, "torch"), operands, rng, special_rate)


# --- views and in-place updates ------------------------------------------------------------------

VIEW_STEPS = {
    "slice": (lambda x: x[1:], lambda x: x[1:]),
    "step slice": (lambda x: x[::2], lambda x: x[::2]),
    "int": (lambda x: x[0], lambda x: x[0]),
    "transpose": (lambda x: x.transpose(0, -1), lambda x: x.transpose(0, -1)),
    "unsqueeze": (lambda x: x.unsqueeze(0), lambda x: x.unsqueeze(0)),
    "reshape": (lambda x: x.reshape(-1), lambda x: x.reshape(-1)),  # a view where one can be, else a copy
    "detach": (lambda x: x.detach(), lambda x: x.detach()),
}
IN_PLACE = {"+=": lambda v, value: v.__iadd__(value), "-=": lambda v, value: v.__isub__(value),
            "*=": lambda v, value: v.__imul__(value), "/=": lambda v, value: v.__itruediv__(value),
            "zero_": lambda v, value: v.zero_(), "setitem": lambda v, value: v.__setitem__(..., value)}


@FUZZ
@given(data=st.data())
def test_in_place_updates_through_views_write_to_the_base_as_in_pytorch(data):
    rng = generator(data)
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), label="shape")
    base = values(rng, shape, np.float64)
    mine, theirs = mg.tensor(base, dtype=mg.float64), torch.tensor(base)
    steps = data.draw(st.lists(st.sampled_from(sorted(VIEW_STEPS)), max_size=3), label="view steps")
    mine_view, their_view = mine, theirs
    for step in steps:
        if their_view.ndim == 0 or (step in ("slice", "step slice", "int") and their_view.shape[0] == 0):
            break
        mine_view, their_view = VIEW_STEPS[step][0](mine_view), VIEW_STEPS[step][1](their_view)
    operation = data.draw(st.sampled_from(sorted(IN_PLACE)), label="update")
    value = float(rng.integers(1, 4))
    IN_PLACE[operation](mine_view, value)
    IN_PLACE[operation](their_view, value)
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=f"{steps} then {operation}")
    np.testing.assert_array_equal(mine_view.numpy(), their_view.numpy())


@FUZZ
@given(data=st.data())
def test_backward_through_a_buffer_changed_in_place_is_refused_as_in_pytorch(data):
    rng = generator(data)
    x_values = values(rng, (3,), np.float64)
    function_name = data.draw(st.sampled_from(["exp", "sigmoid", "mul", "tanh"]), label="op")
    modify = data.draw(st.sampled_from(["input", "output", "nothing"]), label="modified")
    outcomes = []
    for library in (mg, torch):
        x = library.tensor(x_values, requires_grad=True)
        base = x * 1.0  # a non-leaf that may be changed in place
        y = {"exp": lambda: base.exp(), "sigmoid": lambda: base.sigmoid(), "tanh": lambda: base.tanh(),
             "mul": lambda: base * base}[function_name]()
        target = {"input": base, "output": y, "nothing": None}[modify]
        if target is not None:
            with (mg.no_grad() if library is mg else torch.no_grad()):
                target += 1.0
        try:
            y.sum().backward()
            outcomes.append(("ran", x.grad.numpy().copy()))
        except RuntimeError:
            outcomes.append(("refused", None))
    (mine, mine_grad), (theirs, their_grad) = outcomes
    assert mine == theirs, f"{function_name} with {modify} changed: minigrad {mine}, PyTorch {theirs}"
    if mine == "ran":
        np.testing.assert_allclose(mine_grad, their_grad, rtol=1e-9, atol=1e-15)


# --- optimizer trajectories ----------------------------------------------------------------------

OPTIMIZERS = {
    "SGD": st.fixed_dictionaries({"lr": st.sampled_from([0.1, 0.01]), "momentum": st.sampled_from([0.0, 0.9]),
                                  "dampening": st.sampled_from([0.0, 0.5]), "weight_decay": st.sampled_from([0.0, 0.1]),
                                  "nesterov": st.booleans()}),
    "Adam": st.fixed_dictionaries({"lr": st.sampled_from([0.1, 1e-3]), "betas": st.sampled_from([(0.9, 0.999), (0.5, 0.9)]),
                                   "weight_decay": st.sampled_from([0.0, 0.1]), "amsgrad": st.booleans()}),
    "AdamW": st.fixed_dictionaries({"lr": st.sampled_from([0.1, 1e-3]), "weight_decay": st.sampled_from([0.0, 0.1]),
                                    "amsgrad": st.booleans()}),
    "RMSprop": st.fixed_dictionaries({"lr": st.sampled_from([0.01]), "alpha": st.sampled_from([0.99, 0.5]),
                                      "momentum": st.sampled_from([0.0, 0.9]), "centered": st.booleans(),
                                      "weight_decay": st.sampled_from([0.0, 0.1])}),
    "Adagrad": st.fixed_dictionaries({"lr": st.sampled_from([0.1]), "lr_decay": st.sampled_from([0.0, 0.1]),
                                      "weight_decay": st.sampled_from([0.0, 0.1]),
                                      "initial_accumulator_value": st.sampled_from([0.0, 0.5])}),
}


@FUZZ
@given(data=st.data())
def test_optimizer_trajectories_agree_with_pytorch(data):
    rng = generator(data)
    name = data.draw(st.sampled_from(sorted(OPTIMIZERS)), label="optimizer")
    options = data.draw(OPTIMIZERS[name], label="options")
    if name == "SGD" and options["nesterov"] and (options["momentum"] == 0 or options["dampening"] != 0):
        options["nesterov"] = False  # PyTorch refuses the combination; minigrad's refusal has its own test
    shapes_ = data.draw(st.lists(st.lists(st.integers(1, 4), max_size=2).map(tuple), min_size=1, max_size=3))
    starts = [values(rng, shape, np.float64) for shape in shapes_]
    mine = [mg.tensor(start, dtype=mg.float64, requires_grad=True) for start in starts]
    theirs = [torch.tensor(start, requires_grad=True) for start in starts]
    mine_optimizer = getattr(mg.optim, name)(mine, **options)
    their_optimizer = getattr(torch.optim, name)(theirs, **options)
    for step in range(data.draw(st.integers(1, 5), label="steps")):
        for m, t in zip(mine, theirs):
            gradient = values(rng, m.shape, np.float64)
            m.grad, t.grad = mg.tensor(gradient, dtype=mg.float64), torch.tensor(gradient)
        mine_optimizer.step()
        their_optimizer.step()
        for index, (m, t) in enumerate(zip(mine, theirs)):
            np.testing.assert_allclose(m.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name}({options}) parameter {index} after step {step + 1}")


# --- GradientTape against torch.autograd.grad ----------------------------------------------------

@FUZZ
@given(data=st.data())
def test_gradient_tape_agrees_with_torch_autograd_grad(data):
    rng = generator(data)
    leaf_shapes = data.draw(broadcast_shapes(3), label="shapes")
    tree = data.draw(expressions(3, 3), label="expression")
    used = data.draw(st.lists(st.booleans(), min_size=3, max_size=3), label="watched")
    arrays = [values(rng, shape, np.float64) for shape in leaf_shapes]
    mine = [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    with mg.GradientTape() as tape:
        mine_target = evaluate(tree, mine, "minigrad").sum()
    their_target = evaluate(tree, theirs, "torch").sum()
    sources = [index for index, flag in enumerate(used) if flag] or [0]
    if not their_target.requires_grad:
        return  # a constant expression (a leaf of no source): nothing to differentiate
    mine_gradients = tape.gradient(mine_target, [mine[index] for index in sources])
    their_gradients = torch.autograd.grad(their_target, [theirs[index] for index in sources], allow_unused=True)
    for index, m, t in zip(sources, mine_gradients, their_gradients):
        assert (m is None) == (t is None), f"source {index}: minigrad {m}, PyTorch {t} for {tree}"
        if t is not None:
            np.testing.assert_allclose(m.numpy(), t.numpy(), rtol=1e-7, atol=1e-9, equal_nan=True,
                                       err_msg=f"source {index} of {tree}")
