"""Arithmetic with NumPy broadcasting: + - * /, powers, and division with rounding (PyTorch's
remainder, floor_divide, fmod). Forward is NumPy's ufunc on either device (a CudaArray answers
NumPy's protocols).
"""
import numpy as np

from .. import dtypes
from ..autograd import Function
from .broadcasting import unbroadcast
from .elementwise import Where
from .shape import broadcast_tangent


class _Binary(Function):
    """An elementwise op of two arrays with NumPy broadcasting; remembers the shapes for unbroadcast."""

    def broadcasting(self, ufunc, a, b):
        self.shapes = (a.shape, b.shape)
        try:
            return ufunc(a, b)
        except ValueError:
            # Say it in the op's own words when the shapes are the trouble (checked only now: the
            # check costs microseconds per op); any other ValueError is the ufunc's own.
            try:
                np.broadcast_shapes(a.shape, b.shape)
            except ValueError:
                raise ValueError(
                    f"{self.name.lower()}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
            raise

    def broadcast(self, tangent):
        """An input's tangent broadcast to the output's shape, as NumPy broadcast the input."""
        return broadcast_tangent(tangent, self.primal_output.shape)


# --- arithmetic -----------------------------------------------------------------------------------

class Add(_Binary):
    """a + b:  da = g,  db = g (each summed back over broadcast axes)"""

    def forward(self, a, b):
        return self.broadcasting(np.add, a, b)

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])

    differentiable_backward = backward  # unbroadcast is a sum and a reshape: Tensor ops too

    def jvp(self, da, db):
        """dout = da + db (broadcast)"""
        if da is None or db is None:
            return self.broadcast(db if da is None else da)
        return da + db


class Sub(_Binary):
    """a - b:  da = g,  db = -g"""

    def forward(self, a, b):
        return self.broadcasting(np.subtract, a, b)

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])

    differentiable_backward = backward

    def jvp(self, da, db):
        """dout = da - db (broadcast)"""
        if db is None:
            return self.broadcast(da)
        return self.broadcast(-db) if da is None else da - db


class Mul(_Binary):
    """a * b:  da = g * b,  db = g * a"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.broadcasting(np.multiply, a, b)

    def backward(self, g):
        a, b = self.saved
        return self._gradients(g, a, b)

    def differentiable_backward(self, g):
        return self._gradients(g, *self.inputs)

    def _gradients(self, g, a, b):
        """The same formula on arrays (backward) or on the input Tensors (create_graph)."""
        da = unbroadcast(g * b, self.shapes[0]) if self.needs_input_grad[0] else None
        db = unbroadcast(g * a, self.shapes[1]) if self.needs_input_grad[1] else None
        return da, db

    def jvp(self, da, db):
        """dout = da * b + a * db"""
        a, b = self.saved
        return _sum_of_terms(None if da is None else da * b, None if db is None else a * db)


class Div(_Binary):
    """a / b:  da = g / b,  db = -g * ((a / b) / b)"""

    def forward(self, a, b):
        out = self.broadcasting(np.divide, a, b)
        self.save_for_backward(b, out)
        return out

    def backward(self, g):
        b, out = self.saved
        da = unbroadcast(g / b, self.shapes[0]) if self.needs_input_grad[0] else None
        # (a / b) / b, not a / b**2: b**2 overflows (or underflows to 0) where the quotient does not
        db = unbroadcast(-g * (out / b), self.shapes[1]) if self.needs_input_grad[1] else None
        return da, db

    def differentiable_backward(self, g):
        a, b = self.inputs
        da = unbroadcast(g / b, self.shapes[0]) if self.needs_input_grad[0] else None
        db = unbroadcast(-g * ((a / b) / b), self.shapes[1]) if self.needs_input_grad[1] else None
        return da, db

    def jvp(self, da, db):
        """dout = da / b - db * ((a / b) / b)"""
        b, out = self.saved
        return _sum_of_terms(None if da is None else da / b, None if db is None else -db * (out / b))


class Neg(Function):
    """-x:  dx = -g"""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)

    differentiable_backward = backward

    def jvp(self, dx):
        """dout = -dx"""
        return -dx


class Pow(_Binary):
    """a ** b:  da = g * (b * a**(b-1)) (0 where b = 0),  db = g * (a**b * log(a)) (0 where a = 0 and b >= 0)"""

    def forward(self, a, b):
        if a.dtype.kind in "iu":
            out = self.broadcasting(_integer_power, a, b)
        else:
            out = self.broadcasting(np.power, a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs_input_grad[0]:
                # x**0 is constant: no gradient, even where b * a**(b-1) is 0 * inf (a = 0)
                da = unbroadcast(np.where(b == 0, 0, g * (b * a ** (b - 1))), self.shapes[0])
            if self.needs_input_grad[1]:
                # 0**b is constant for b >= 0, though log(0) = -inf (PyTorch's form: g times the
                # local derivative, so an infinite g at a zero derivative is NaN there too)
                db = unbroadcast(g * np.where((a == 0) & (b >= 0), 0, out * np.log(a)), self.shapes[1])
        return da, db

    def differentiable_backward(self, g):
        a, b = self.inputs
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):  # backward's selections, as constant masks
            if self.needs_input_grad[0]:
                da = unbroadcast(Where.apply(g * (b * a ** (b - 1)), mask=b.data != 0), self.shapes[0])
            if self.needs_input_grad[1]:
                constant = (a.data == 0) & (b.data >= 0)
                db = unbroadcast(g * Where.apply(a**b * a.log(), mask=np.logical_not(constant)), self.shapes[1])
        return da, db

    def jvp(self, da, db):
        """dout = da * (b * a**(b-1)) (0 where b = 0) + db * (a**b * log(a)) (0 where a = 0 and b >= 0)"""
        a, b, out = self.saved
        from_a = from_b = None
        with np.errstate(divide="ignore", invalid="ignore"):  # backward's selections
            if da is not None:
                from_a = np.where(b == 0, 0, da * (b * a ** (b - 1)))
            if db is not None:
                from_b = db * np.where((a == 0) & (b >= 0), 0, out * np.log(a))
        return _sum_of_terms(from_a, from_b)


def _sum_of_terms(first, second):
    """The sum of two tangent terms, either of which may be None (zero)."""
    if first is None or second is None:
        return second if first is None else first
    return first + second


def _integer_power(a, b):
    """a ** b on integers with PyTorch's answer for negative exponents (NumPy refuses them): 1 for a = 1,
    +-1 for a = -1 by the parity of b, else 0 (the integer part of a fraction below 1)."""
    magnitude = np.power(a, np.abs(b))
    return np.where(b < 0, np.where(np.abs(a) == 1, magnitude, 0), magnitude)


class PowConstant(Function):
    """x ** p for a number p:  dx = g * (p * x**(p-1))"""

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        self.save_for_backward(x)
        return power(x, self.exponent)

    def backward(self, g):
        (x,) = self.saved
        if self.exponent == 0:
            return (np.zeros_like(g),)
        return (g * (self.exponent * power(x, self.exponent - 1)),)

    def differentiable_backward(self, g):
        if self.exponent == 0:
            return (self.constant(np.zeros_like(g.data)),)
        return (g * (self.exponent * self.inputs[0] ** (self.exponent - 1)),)

    def jvp(self, dx):
        """dout = dx * (p * x**(p-1))  (none for p = 0: the output is constant)"""
        (x,) = self.saved
        if self.exponent == 0:
            return None
        return dx * (self.exponent * power(x, self.exponent - 1))


# PyTorch computes these powers by the functions they equal, not by pow(), and the answers differ
# at the edges: sqrt(-inf) is NaN where pow(-inf, 0.5) is inf, 1/sqrt(-0) is -inf where
# pow(-0, -0.5) is inf.
_POWERS = {
    0.5: np.sqrt, -0.5: lambda x: 1 / np.sqrt(x), 2: lambda x: x * x, 3: lambda x: x * x * x,
    -1: lambda x: 1 / x, -2: lambda x: 1 / (x * x),
}


def power(x, exponent):
    """x ** exponent for a number exponent, as PyTorch computes it."""
    special = _POWERS.get(exponent) if x.dtype.kind == "f" else None
    if special is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            return special(x)
    return x**exponent


# --- division with rounding: PyTorch's remainder, floor_divide and fmod ----------------------------
# The array functions compute PyTorch's values (its forward and its in-place forms, Tensor.__imod__...);
# the ops below add the gradients. Integers divided by zero raise, as in PyTorch (NumPy answers 0).

def remainder(a, b, out=None):
    """a - b * floor(a / b), the sign of b (Python's %), computed as PyTorch does: C's fmod, plus b
    where the fmod is nonzero with the other sign (so a zero keeps a's sign; NumPy's remainder gives b's)."""
    _refuse_integer_division_by_zero("remainder", a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        modulus = np.fmod(a, b)
        result = np.where((modulus != 0) & ((modulus < 0) != (b < 0)), modulus + b, modulus)
    if out is None:
        return result
    np.copyto(out, result, casting="same_kind")  # what a ufunc's out= allows: no float into an int tensor
    return out


def floor_divide(a, b, out=None):
    """floor(a / b), rounded toward -inf: NumPy's floor_divide is PyTorch's (>= 1.13) to the sign of a zero."""
    _refuse_integer_division_by_zero("floor_divide", a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # int64 min // -1 wraps, as in PyTorch
        return np.floor_divide(a, b, out=out)


def fmod(a, b, out=None):
    """a - b * trunc(a / b), the sign of a (C's fmod), as PyTorch's fmod."""
    _refuse_integer_division_by_zero("fmod", a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.fmod(a, b, out=out)


def _refuse_integer_division_by_zero(name, a, b):
    # Only where there is something to divide: PyTorch's empty // 0 is empty (a nonempty a and b
    # broadcast to a nonempty result, which reads every element of b).
    if (not dtypes.is_floating(dtypes.result_type(a, b)) and np.size(a) and np.size(b)
            and np.any(np.equal(b, 0))):
        raise ZeroDivisionError(f"{name}: integer division by zero (a 0 in the divisor)")


class Remainder(_Binary):
    """a - b * floor(a / b):  da = g,  db = -g * floor(a / b)"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.broadcasting(remainder, a, b)

    def backward(self, g):
        a, b = self.saved
        da = unbroadcast(g, self.shapes[0]) if self.needs_input_grad[0] else None
        db = unbroadcast(-g * floor_divide(a, b), self.shapes[1]) if self.needs_input_grad[1] else None
        return da, db

    def differentiable_backward(self, g):
        a, b = (tensor.data for tensor in self.inputs)  # the quotient is piecewise constant: a constant
        da = unbroadcast(g, self.shapes[0]) if self.needs_input_grad[0] else None
        db = unbroadcast(-g * self.constant(floor_divide(a, b)), self.shapes[1]) if self.needs_input_grad[1] else None
        return da, db

    def jvp(self, da, db):
        """dout = da - db * floor(a / b) (broadcast)"""
        if db is None:
            return self.broadcast(da)
        a, b = self.saved
        from_b = -db * floor_divide(a, b)
        return from_b if da is None else da + from_b


class Fmod(_Binary):
    """a - b * trunc(a / b):  da = g,  db = -g * trunc(a / b)"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.broadcasting(fmod, a, b)

    def backward(self, g):
        a, b = self.saved
        da = unbroadcast(g, self.shapes[0]) if self.needs_input_grad[0] else None
        with np.errstate(divide="ignore", invalid="ignore"):
            db = unbroadcast(-g * np.trunc(a / b), self.shapes[1]) if self.needs_input_grad[1] else None
        return da, db

    def differentiable_backward(self, g):
        a, b = (tensor.data for tensor in self.inputs)  # the quotient is piecewise constant: a constant
        da = unbroadcast(g, self.shapes[0]) if self.needs_input_grad[0] else None
        if not self.needs_input_grad[1]:
            return da, None
        with np.errstate(divide="ignore", invalid="ignore"):
            quotient = self.constant(np.trunc(a / b))
        return da, unbroadcast(-g * quotient, self.shapes[1])

    def jvp(self, da, db):
        """dout = da - db * trunc(a / b) (broadcast)"""
        if db is None:
            return self.broadcast(da)
        a, b = self.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            from_b = -db * np.trunc(a / b)
        return from_b if da is None else da + from_b


class FloorDivide(_Binary):
    """floor(a / b):  no gradient; backward raises, as PyTorch's (its output still requires grad)"""

    def forward(self, a, b):
        return self.broadcasting(floor_divide, a, b)

    def backward(self, g):
        raise RuntimeError("floor_divide: not differentiable (PyTorch: 'derivative for aten::floor_divide is not "
                           "implemented'); divide detached tensors (x.detach() // y) where no gradient is wanted")

    differentiable_backward = backward

    def jvp(self, *tangents):
        """no tangent: raises as backward does (PyTorch's forward AD refuses floor_divide too)"""
        self.backward(None)
