"""minigrad's one random generator, so ``mg.manual_seed(n)`` makes rand/randn/init/dropout repeatable."""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed the generator behind mg.rand, mg.randn and every other random draw in minigrad."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator():
    return _generator
