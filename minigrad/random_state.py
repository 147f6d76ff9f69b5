"""minigrad's one random generator, so ``mg.manual_seed(n)`` makes rand/randn/init/dropout repeatable.

``get_rng_state``/``set_rng_state`` capture and restore it (as torch.get_rng_state does), so a
checkpoint can resume with the same dropout masks and shuffles as a run that never stopped. The
state is the NumPy bit generator's own description: a dict of strings and ints, no pickle needed.
"""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed the generator behind mg.rand, mg.randn and every other random draw in minigrad."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator():
    return _generator


def get_rng_state():
    """The generator's state, a plain dict (bit generator name and integers)."""
    return _generator.bit_generator.state


def set_rng_state(state):
    """Restore a state from get_rng_state(); the draws that follow repeat those after it was taken."""
    global _generator
    if not isinstance(state, dict) or "bit_generator" not in state:
        raise TypeError(f"set_rng_state: expected a dict from mg.get_rng_state(), got {type(state).__name__}")
    bit_generator = getattr(np.random, state["bit_generator"], None)
    if bit_generator is None:
        raise ValueError(f"set_rng_state: unknown bit generator {state['bit_generator']!r}")
    restored = bit_generator()
    restored.state = state
    _generator = np.random.Generator(restored)
