"""Every op, three checks: gradcheck (backward), gradgradcheck (differentiable_backward, which it
also compares with backward) and the forward-mode Jacobian (jvp) against the reverse-mode one.

The table below must name every Function class minigrad.ops exports: a new op fails
test_the_table_names_every_op until it has a case, so it cannot skip the checks. Ops that only
exist as another op's gradient (Conv2dInputGradient, MaxPool2dBackward...) are reached through
that op's recorded gradient. The family test files (test_double_backward_*.py,
test_forward_mode_*.py) cover the options and edge cases; this one is the roll call.
"""
import importlib
import inspect
import pathlib

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import ops
from minigrad.autograd import Function
from op_case_tools import first_derivative, leaf


def seeded_dropout(x):
    mg.manual_seed(3)  # the same mask at every call, as the checks call it many times
    return F.dropout(x, 0.5)


def conv(x, w, b):
    return F.conv2d(x, w, b, stride=1, padding=1)


def cross_entropy(logits):
    return F.cross_entropy(logits, mg.tensor([0, 2, 1]), label_smoothing=0.1)


CASES = {
    # arithmetic
    "Add": lambda: (lambda a, b: a + b, (leaf(2, 3), leaf(3, seed=1))),
    "Sub": lambda: (lambda a, b: a - b, (leaf(2, 3), leaf(2, 1, seed=1))),
    "Mul": lambda: (lambda a, b: a * b, (leaf(2, 3), leaf(3, seed=1))),
    "Div": lambda: (lambda a, b: a / b, (leaf(2, 3), leaf(3, seed=1, low=0.5))),
    "Neg": lambda: (lambda a: -a, (leaf(4),)),
    "Pow": lambda: (lambda a, b: a ** b, (leaf(2, 3, low=0.5), leaf(3, seed=1))),
    "PowConstant": lambda: (lambda a: a ** 2.5, (leaf(5, low=0.5),)),
    "Remainder": lambda: (lambda a, b: a % b, (mg.tensor([1.3, -2.7, 3.1], dtype=mg.float64, requires_grad=True),
                                               mg.tensor([0.7, 1.1, -0.9], dtype=mg.float64, requires_grad=True))),
    "Fmod": lambda: (lambda a, b: a.fmod(b), (mg.tensor([1.3, -2.7, 3.1], dtype=mg.float64, requires_grad=True),
                                              mg.tensor([0.7, 1.1, -0.9], dtype=mg.float64, requires_grad=True))),
    # the functions of one element
    "Exp": lambda: (lambda a: a.exp(), (leaf(4),)),
    "Log": lambda: (lambda a: a.log(), (leaf(4, low=0.5),)),
    "Sqrt": lambda: (lambda a: a.sqrt(), (leaf(4, low=0.5),)),
    "Abs": lambda: (lambda a: a.abs(), (mg.tensor([0.7, -1.2, 1.5, -0.8], dtype=mg.float64, requires_grad=True),)),
    "Relu": lambda: (lambda a: a.relu(), (mg.tensor([0.5, -1.5, 2.0, -0.3], dtype=mg.float64, requires_grad=True),)),
    "Sigmoid": lambda: (lambda a: a.sigmoid(), (leaf(4),)),
    "Tanh": lambda: (lambda a: a.tanh(), (leaf(4),)),
    "Clamp": lambda: (lambda a: a.clamp(-0.5, 0.5), (mg.tensor([0.2, -1.5, 2.0, -0.3], dtype=mg.float64, requires_grad=True),)),
    "Clone": lambda: (lambda a: a.clone(), (leaf(4),)),
    # bounds: no ties within the finite differences' reach
    "Maximum": lambda: (mg.maximum, (leaf(2, 3), leaf(3, seed=1))),
    "Minimum": lambda: (lambda a, b: mg.min(a, b), (leaf(2, 3), leaf(2, 1, seed=1))),
    "ClampTensors": lambda: (lambda x, low, high: x.clamp(low, high),
                             (mg.tensor([0.2, -1.5, 2.0, -0.3, 0.9], dtype=mg.float64, requires_grad=True),
                              mg.tensor([-0.5, -1.0, -0.8, 0.1, 1.2], dtype=mg.float64, requires_grad=True),
                              mg.tensor([0.5, 1.0, 1.5, 0.4, 0.7], dtype=mg.float64, requires_grad=True))),
    "ReluBackward": lambda: (first_derivative(lambda a: a.relu() ** 2, 0),
                             (mg.tensor([0.5, -1.5, 2.0, -0.3], dtype=mg.float64, requires_grad=True),)),
    "Where": lambda: (first_derivative(lambda a: a.clamp(-1.0, 1.0) ** 2, 0),
                      (mg.tensor([0.5, -1.5, 2.0, -0.3], dtype=mg.float64, requires_grad=True),)),
    # reductions
    "Sum": lambda: (lambda a: a.sum(axis=1), (leaf(2, 3),)),
    "Mean": lambda: (lambda a: a.mean(axis=0, keepdims=True), (leaf(2, 3),)),
    "Max": lambda: (lambda a: a.amax(dim=1), (leaf(2, 3),)),
    "Min": lambda: (lambda a: a.amin(dim=0), (leaf(2, 3),)),
    "Cumsum": lambda: (lambda a: a.cumsum(1), (leaf(2, 3),)),
    "LogSumExp": lambda: (lambda a: a.logsumexp((0, 2)), (leaf(2, 3, 2),)),
    "Var": lambda: (lambda a: a.var(1, correction=0), (leaf(2, 3),)),
    "Std": lambda: (lambda a: a.std(0, keepdim=True), (leaf(3, 2),)),
    "Norm": lambda: (lambda a: a.norm(3, dim=1), (leaf(2, 3),)),
    "Softmax": lambda: (lambda a: F.softmax(a, dim=1), (leaf(2, 3),)),
    "LogSoftmax": lambda: (lambda a: F.log_softmax(a, dim=1), (leaf(2, 3),)),
    # shapes
    "Reshape": lambda: (lambda a: a.reshape(3, 2), (leaf(2, 3),)),
    "Permute": lambda: (lambda a: a.permute(2, 0, 1), (leaf(2, 3, 2),)),
    "GetItem": lambda: (lambda a: a[1:, ::-1], (leaf(3, 3),)),
    # (squared: the gradient reaching the linear op must depend on the input, or it records nothing)
    "BroadcastTo": lambda: (first_derivative(lambda a: a.sum(axis=0) ** 2, 0), (leaf(3, 2),)),
    "ScatterAdd": lambda: (first_derivative(lambda a: a[np.array([0, 2, 0])] ** 2, 0), (leaf(3, 2),)),
    "Stack": lambda: (lambda a, b: mg.stack([a, b], dim=1), (leaf(2, 2), leaf(2, 2, seed=1))),
    "Concatenate": lambda: (lambda a, b: mg.cat([a, b], dim=1), (leaf(2, 2), leaf(2, 3, seed=1))),
    "Expand": lambda: (lambda a: a.expand(2, 3, 2), (leaf(3, 1),)),
    # (repeated indices: the gradient adds up)
    "Gather": lambda: (lambda a: a.gather(1, mg.tensor([[0, 2, 0], [1, 1, 0]])), (leaf(2, 3),)),
    "ScatterAddAlongDim": lambda: (lambda a, b: a.scatter_add(0, mg.tensor([[1, 0], [1, 2]]), b),
                                   (leaf(3, 2), leaf(2, 3, seed=1))),
    # linear algebra
    "MatMul": lambda: (lambda a, b: a @ b, (leaf(2, 3), leaf(3, 2, seed=1))),
    "Linear": lambda: (lambda x, w, b: F.linear(x, w, b), (leaf(2, 3), leaf(4, 3, seed=1), leaf(4, seed=2))),
    # convolution and pooling
    "Conv2d": lambda: (conv, (leaf(1, 2, 4, 4), leaf(2, 2, 3, 3, seed=1), leaf(2, seed=2))),
    "Conv2dInputGradient": lambda: (first_derivative(lambda x, w: F.conv2d(x, w, padding=1), 0),
                                    (leaf(1, 1, 4, 4), leaf(2, 1, 3, 3, seed=1))),
    "Conv2dWeightGradient": lambda: (first_derivative(lambda x, w: F.conv2d(x, w, padding=1), 1),
                                     (leaf(1, 1, 4, 4), leaf(2, 1, 3, 3, seed=1))),
    "MaxPool2d": lambda: (lambda x: F.max_pool2d(x, 2), (leaf(1, 2, 4, 4),)),
    "MaxPool2dBackward": lambda: (first_derivative(lambda x: F.max_pool2d(x, 2) ** 2, 0), (leaf(1, 1, 4, 4),)),
    # the gradient of the scatter's input is a gather of what reaches the scatter's output
    "MaxPool2dGather": lambda: (first_derivative(
        lambda x: first_derivative(lambda y: F.max_pool2d(y, 2) ** 2, 0)(x) ** 2, 0), (leaf(1, 1, 4, 4),)),
    "AvgPool2d": lambda: (lambda x: F.avg_pool2d(x, 2), (leaf(1, 2, 4, 4),)),
    "AvgPool2dBackward": lambda: (first_derivative(lambda x: F.avg_pool2d(x, 2) ** 2, 0), (leaf(1, 1, 4, 4),)),
    # losses and dropout
    "SoftmaxCrossEntropy": lambda: (cross_entropy, (leaf(3, 4),)),
    "BinaryCrossEntropyWithLogits": lambda: (
        lambda x: F.binary_cross_entropy_with_logits(x, mg.tensor([1.0, 0.0, 1.0], dtype=mg.float64)), (leaf(3),)),
    "NllLoss": lambda: (lambda x: F.nll_loss(x, mg.tensor([0, 2, 1])), (leaf(3, 4),)),
    "Dropout": lambda: (seeded_dropout, (leaf(6),)),
}
# The families added later keep their cases in tests/op_cases_<family>.py (a CASES dictionary each).
for _path in sorted(pathlib.Path(__file__).parent.glob("op_cases_*.py")):
    _family = importlib.import_module(_path.stem).CASES
    assert not set(_family) & set(CASES), f"{_path.name} repeats cases: {set(_family) & set(CASES)}"
    CASES.update(_family)

# Not in CASES, with the reason and where they are checked instead.
CHECKED_ELSEWHERE = {
    "Cast": "float64 -> float32 -> float64 rounds below central differences' resolution: "
            "test_cast_gradients_of_every_order",
    "ToDevice": "needs a GPU: tests/test_double_backward_core_ops.py and the CUDA suite",
    "FloorDivide": "not differentiable, as in PyTorch: test_floor_divide_refuses_every_derivative",
}


def op_names():
    return sorted(name for name, value in vars(ops).items()
                  if inspect.isclass(value) and issubclass(value, Function) and not name.startswith("_"))


def test_the_table_names_every_op():
    assert sorted(set(CASES) | set(CHECKED_ELSEWHERE)) == op_names()


def reaches(op_name, function, inputs):
    """The case really applies the op it is filed under (a typo would check another op)."""
    seen = set()
    output = function(*inputs)
    stack, visited = [output.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in visited:
            continue
        visited.add(id(node))
        seen.add(node.name)
        stack.extend(tensor.grad_fn for tensor in node.inputs)
    return op_name in seen


@pytest.mark.parametrize("op_name", sorted(CASES))
def test_every_op_passes_gradcheck_gradgradcheck_and_the_forward_mode_check(op_name):
    function, inputs = CASES[op_name]()
    assert reaches(op_name, function, inputs), f"the case filed under {op_name} does not apply it"
    assert mg.gradcheck(function, inputs)
    assert mg.gradgradcheck(function, inputs)
    positions = tuple(range(len(inputs)))
    plain = tuple(value.detach() for value in inputs)
    forward = mg.func.jacfwd(function, argnums=positions)(*plain)
    reverse = mg.func.jacrev(function, argnums=positions)(*plain)
    for position, (by_jvp, by_vjp) in enumerate(zip(forward, reverse)):
        np.testing.assert_allclose(by_jvp.data, by_vjp.data, rtol=1e-10, atol=1e-12,
                                   err_msg=f"{op_name}: forward-mode Jacobian of input {position}")


def test_cast_gradients_of_every_order():
    x = leaf(4)

    def through_float32(a):
        return a.float().double() * a

    (gradient,) = mg.autograd.grad(through_float32(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(gradient.data, 2 * x.data, rtol=1e-6)
    (second,) = mg.autograd.grad(gradient.sum(), x)
    np.testing.assert_allclose(second.data, np.full(4, 2.0))
    tangent = mg.tensor(np.arange(4.0), dtype=mg.float64)
    _, derivative = mg.func.jvp(through_float32, (x.detach(),), (tangent,))
    np.testing.assert_allclose(derivative.data, 2 * x.data * tangent.data, rtol=1e-6)


def test_floor_divide_refuses_every_derivative():
    a = mg.tensor([1.5, -2.5], dtype=mg.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="floor_divide: not differentiable"):
        (a // 0.7).sum().backward()
    with pytest.raises(RuntimeError, match="floor_divide: not differentiable"):
        mg.func.jvp(lambda t: t // 0.7, (a.detach(),), (mg.ones(2, dtype=mg.float64),))
