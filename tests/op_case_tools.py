"""What the roll call's cases are made of (tests/test_every_op_checks.py and the op_cases_*.py files):
float64 leaves with fixed draws, and an op's first derivative as a function of its inputs."""
import numpy as np

import minigrad as mg


def leaf(*shape, seed=0, low=None):
    values = np.random.default_rng(seed).standard_normal(shape)
    if low is not None:
        values = low + np.abs(values)  # away from zero, for log, sqrt, division, powers
    return mg.tensor(values, dtype=mg.float64, requires_grad=True)


def first_derivative(function, position, cotangent_seed=9):
    """x -> the gradient of function(*inputs) with respect to input ``position``, weighted by a
    fixed random cotangent, through mg.func.vjp: a function whose ops are the original op's
    gradient ops (recorded when differentiated, carrying tangents in forward mode)."""

    def derivative(*inputs):
        output, vjp_function = mg.func.vjp(function, *inputs)
        weight = mg.tensor(np.random.default_rng(cotangent_seed).standard_normal(output.shape), dtype=mg.float64)
        return vjp_function(weight)[position]

    return derivative
