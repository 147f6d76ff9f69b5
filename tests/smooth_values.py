"""Inputs where the ops are smooth, for the gradient and forward-mode checks of the core ops
(tests/test_double_backward_core_ops.py, tests/test_forward_mode_core_ops.py)."""
import numpy as np


def away_from_zero(shape, seed, low=0.3, high=1.5):
    """Values of either sign with |x| in [low, high]: clear of the kinks of abs, relu, clamp at 0."""
    generator = np.random.default_rng(seed)
    return generator.uniform(low, high, shape) * generator.choice([-1.0, 1.0], shape)


def positive(shape, seed, low=0.5, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def normal(shape, seed):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape))


def distinct(shape, seed):
    """Values at least 0.1 apart (no ties for max and min), in a random order."""
    size = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(size) * 0.1 - size * 0.05).reshape(shape)


def remainder_pair(shape_a, shape_b, seed):
    """a and b (b positive or negative, |b| >= 0.5) with a / b at least 0.1 from an integer:
    remainder and fmod are smooth there."""
    generator = np.random.default_rng(seed)
    b = generator.uniform(0.5, 1.5, shape_b) * generator.choice([-1.0, 1.0], shape_b)
    shape = np.broadcast_shapes(shape_a, shape_b)
    quotient = generator.integers(-3, 4, shape) + generator.uniform(0.1, 0.9, shape)
    a = quotient * b
    # a must have its own shape: keep one value along the axes b broadcast it over
    return a[tuple(slice(0, 1) if size == 1 and full != 1 else slice(None)
                   for size, full in zip((1,) * (len(shape) - len(shape_a)) + shape_a, shape))].reshape(shape_a), b
