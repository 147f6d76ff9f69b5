"""Numerical gradient checking: the tape's Jacobian against central differences, in float64.

For every output element j and every element i of an input that requires grad, the analytic
entry d out_j / d in_i comes from one backward pass per output element, and the numeric entry
from (f(in_i + eps) - f(in_i - eps)) / (2 eps). They agree when |analytic - numeric| <= atol +
rtol * |numeric| (PyTorch's rule and default tolerances). When they do not, the error names the
input, the worst element, the output element, and both values.
"""
import numpy as np

from . import autograd
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree; the message says exactly where."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check the gradients of ``fn(*inputs)`` with respect to every input that requires grad.

    ``inputs`` is a tensor or a tuple of arguments (tensors that require grad are checked, other
    arguments are passed through). Returns True, or raises GradcheckError with a report (returns
    False instead when ``raise_exception=False``).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [index for index, value in enumerate(inputs) if isinstance(value, Tensor) and value.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; create the inputs with requires_grad=True")
    for index in checked:
        if inputs[index].dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {index} is {inputs[index].dtype}; central differences need float64 "
                "inputs (make them with dtype=mg.float64 or tensor.double())"
            )

    analytic = _analytic_jacobians(fn, inputs, checked)
    numeric = _numeric_jacobians(fn, inputs, checked, eps)
    for index in checked:
        report = _compare(index, inputs[index].shape, analytic[index], numeric[index], atol, rtol)
        if report:
            if raise_exception:
                raise GradcheckError(report)
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Check second derivatives: gradcheck of the first derivatives of ``fn`` as recorded ops.

    As ``torch.autograd.gradgradcheck``: the vector-Jacobian product of ``fn(*inputs)`` with
    ``grad_outputs`` (default: random float64 tensors, seeded, that require grad) is computed with
    ``mg.autograd.grad(..., create_graph=True)``, and its gradients with respect to the inputs and
    to ``grad_outputs`` are checked against central differences. In a report, inputs are numbered
    as ``fn``'s, then ``grad_outputs`` follow them.
    """
    from .gradients import grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [index for index, value in enumerate(inputs) if isinstance(value, Tensor) and value.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad; create the inputs with requires_grad=True")
    outputs = _outputs(fn, inputs)
    if grad_outputs is None:
        generator = np.random.default_rng(0)
        grad_outputs = [Tensor(generator.standard_normal(output.shape), dtype=np.float64, requires_grad=True)
                        for output in outputs]
    else:
        grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (tuple, list)) else [grad_outputs]
    count = len(inputs)
    report = _compare_first_derivatives(fn, inputs, checked, grad_outputs, atol, rtol)
    if report:
        if raise_exception:
            raise GradcheckError(report)
        return False

    def first_derivatives(*arguments):
        function_inputs, weights = arguments[:count], arguments[count:]
        with autograd.enable_grad():  # gradcheck's central differences run under no_grad
            gradients = grad(_outputs(fn, function_inputs), [function_inputs[index] for index in checked],
                             weights, create_graph=True, allow_unused=True)
        return tuple(gradient for gradient in gradients if gradient is not None)

    return gradcheck(first_derivatives, inputs + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)


def _compare_first_derivatives(fn, inputs, checked, grad_outputs, atol, rtol):
    """Each op has two backward formulas, the fused one (arrays) and the differentiable one (Tensor
    ops): the first derivatives both give must agree, or the second derivatives check the wrong function."""
    from .gradients import grad

    sources = [inputs[index] for index in checked]
    with autograd.enable_grad():
        fused = grad(_outputs(fn, inputs), sources, grad_outputs, allow_unused=True)
        recorded = grad(_outputs(fn, inputs), sources, grad_outputs, create_graph=True, allow_unused=True)
    for index, plain, differentiable in zip(checked, fused, recorded):
        if (plain is None) != (differentiable is None):
            return (f"gradgradcheck: input {index}: backward gives {'no' if plain is None else 'a'} gradient, "
                    f"the differentiable backward (create_graph=True) {'none' if differentiable is None else 'one'}")
        if plain is None:
            continue
        a, b = plain.data.astype(np.float64), differentiable.data.astype(np.float64)
        excess = np.asarray(np.abs(a - b) - (atol + rtol * np.abs(a)))  # an array even for 0-d inputs
        excess[np.isnan(a) & np.isnan(b)] = -1.0
        excess[np.isnan(a) ^ np.isnan(b)] = np.inf
        if (excess > 0).any():
            worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
            position = [int(i) for i in worst]
            return (f"gradgradcheck: the first derivative of input {index} (shape {tuple(a.shape)}) differs between "
                    f"backward and the differentiable backward (create_graph=True)\n"
                    f"  worst element: input{position}  backward {a[worst]:.10g}  differentiable {b[worst]:.10g}\n"
                    f"  {int((excess > 0).sum())} of {excess.size} elements out of tolerance")
    return ""


def _outputs(fn, inputs):
    """fn's floating outputs as a list of tensors (fn may return a tensor or a tuple of them)."""
    result = fn(*inputs)
    results = result if isinstance(result, (tuple, list)) else (result,)
    return [value for value in results if isinstance(value, Tensor) and value.dtype.kind == "f"]


def _flat_output(fn, inputs):
    with autograd.no_grad():
        return np.concatenate([np.ravel(value.data) for value in _outputs(fn, inputs)]).astype(np.float64)


def _analytic_jacobians(fn, inputs, checked):
    """{input index: (number of output elements, input size) array} from one backward per output element."""
    outputs = _outputs(fn, inputs)
    total = sum(value.numel() for value in outputs)
    jacobians = {index: np.zeros((total, inputs[index].numel())) for index in checked}
    sources = [inputs[index] for index in checked]
    row = 0
    for output in outputs:
        for element in range(output.numel()):
            seed = np.zeros(output.numel(), dtype=output.dtype)
            seed[element] = 1
            if output.requires_grad:
                gradients = autograd.run_backward(
                    [output], [seed.reshape(output.shape)], retain_graph=True, capture=sources
                )
                for index in checked:
                    gradient = gradients.get(id(inputs[index]))
                    if gradient is not None:
                        jacobians[index][row] = np.ravel(gradient)
            row += 1
    return jacobians


def _numeric_jacobians(fn, inputs, checked, eps):
    jacobians = {}
    for index in checked:
        array = inputs[index].data
        flat = array.reshape(-1)  # a view of the input's own buffer: we perturb it in place
        if not np.shares_memory(flat, array):
            raise ValueError(f"gradcheck: input {index} must be contiguous to be perturbed in place")
        columns = []
        for element in range(flat.size):
            original = flat[element]
            flat[element] = original + eps
            plus = _flat_output(fn, inputs)
            flat[element] = original - eps
            minus = _flat_output(fn, inputs)
            flat[element] = original
            columns.append((plus - minus) / (2 * eps))
        jacobians[index] = np.stack(columns, axis=1) if columns else np.zeros((0, 0))
    return jacobians


def _compare(index, shape, analytic, numeric, atol, rtol):
    """A report of the worst mismatch for one input, or "" when every entry is within tolerance."""
    if analytic.size == 0:
        return ""
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    # NaN on both sides agrees; NaN on one side only is the worst possible mismatch.
    analytic_nan, numeric_nan = np.isnan(analytic), np.isnan(numeric)
    excess[analytic_nan & numeric_nan] = -1.0
    excess[analytic_nan ^ numeric_nan] = np.inf
    if not (excess > 0).any():
        return ""
    output_element, input_element = np.unravel_index(int(np.argmax(excess)), excess.shape)
    position = [int(i) for i in np.unravel_index(input_element, shape)] if shape else []
    a, n = analytic[output_element, input_element], numeric[output_element, input_element]
    return (
        f"gradcheck: gradient of input {index} (shape {tuple(shape)}) does not match its numerical estimate\n"
        f"  worst element: input{position} for output element {int(output_element)}\n"
        f"  analytic {a:.10g}  numeric {n:.10g}  difference {abs(a - n):.3g} "
        f"(allowed atol + rtol*|numeric| = {atol + rtol * abs(n):.3g})\n"
        f"  {int((excess > 0).sum())} of {excess.size} Jacobian entries out of tolerance"
    )
