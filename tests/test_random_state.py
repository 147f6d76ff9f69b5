"""mg.manual_seed and the get/set of the generator's state that checkpoints rely on."""
import numpy as np
import pytest

import minigrad as mg


def test_set_rng_state_repeats_the_draws_that_followed_get_rng_state():
    mg.manual_seed(7)
    mg.rand(3)
    state = mg.get_rng_state()
    first = (mg.rand(4).numpy(), mg.randn(2, 3).numpy(), mg.nn.functional.dropout(mg.ones(50), 0.5).numpy())
    mg.randn(100)
    mg.set_rng_state(state)
    second = (mg.rand(4).numpy(), mg.randn(2, 3).numpy(), mg.nn.functional.dropout(mg.ones(50), 0.5).numpy())
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_rng_state_survives_save_and_load(tmp_path):
    mg.manual_seed(3)
    mg.save({"rng": mg.get_rng_state()}, tmp_path / "state.npz")
    expected = mg.rand(5).numpy()
    mg.manual_seed(99)
    mg.set_rng_state(mg.load(tmp_path / "state.npz")["rng"])
    np.testing.assert_array_equal(mg.rand(5).numpy(), expected)


def test_set_rng_state_refuses_what_is_not_a_state():
    with pytest.raises(TypeError, match="expected a dict from mg.get_rng_state"):
        mg.set_rng_state(42)
    with pytest.raises(ValueError, match="unknown bit generator"):
        mg.set_rng_state({"bit_generator": "Nonsense", "state": {}})
