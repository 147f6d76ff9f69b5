"""nn.init against its formulas; nn.Conv2d's default initialisation."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import init


def weight(*shape):
    return mg.empty(*shape, dtype=mg.float64)


def test_fans_of_linear_and_conv_weights():
    assert init.fans(weight(10, 784)) == (784, 10)
    assert init.fans(weight(64, 32, 5, 5)) == (800, 1600)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fans(weight(3))


def test_constant_fills_and_bump_the_version():
    tensor = weight(3, 4)
    before = tensor._version
    assert np.all(init.zeros_(tensor).data == 0) and np.all(init.ones_(tensor).data == 1)
    assert np.all(init.constant_(tensor, 2.5).data == 2.5)
    assert tensor._version == before + 3


def test_uniform_bounds_of_xavier_and_kaiming():
    tensor = weight(300, 200)
    xavier = math.sqrt(6 / 500)
    assert np.abs(init.xavier_uniform_(tensor).data).max() <= xavier
    assert np.abs(tensor.data).max() > 0.99 * xavier
    he = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(init.kaiming_uniform_(tensor, nonlinearity="relu").data).max() <= he
    assert np.abs(init.glorot_uniform_(tensor, gain=2.0).data).max() <= 2 * xavier


@pytest.mark.parametrize("function, expected_std", [
    (lambda t: init.normal_(t, 0.0, 0.1), 0.1),
    (lambda t: init.xavier_normal_(t), math.sqrt(2 / 1000)),
    (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
    (lambda t: init.he_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 600)),
])
def test_normal_standard_deviations(function, expected_std):
    values = function(weight(600, 400)).data
    assert abs(values.std() / expected_std - 1) < 0.02 and abs(values.mean()) < 0.01 * expected_std * 10


def test_trunc_normal_stays_inside_its_bounds():
    values = init.trunc_normal_(weight(200, 200), std=1.0, a=-0.5, b=1.0).data
    assert values.min() >= -0.5 and values.max() <= 1.0


def test_manual_seed_makes_initialisation_repeatable():
    mg.manual_seed(3)
    first = init.xavier_uniform_(weight(4, 5)).data.copy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(first, init.xavier_uniform_(weight(4, 5)).data)


def test_gain_and_argument_errors():
    assert init.calculate_gain("tanh") == 5 / 3 and init.calculate_gain("leaky_relu", math.sqrt(5)) == math.sqrt(1 / 3)
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(weight(2, 2), mode="fan_avg")


def test_conv2d_default_initialisation_is_pytorchs():
    mg.manual_seed(0)
    layer = nn.Conv2d(32, 64, 5)
    bound = 1 / math.sqrt(32 * 25)
    for parameter in (layer.weight, layer.bias):
        assert np.abs(parameter.data).max() <= bound and np.abs(parameter.data).max() > 0.9 * bound
    assert layer.weight.shape == (64, 32, 5, 5) and layer.bias.shape == (64,)
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None


def test_layers_compute_what_the_functions_compute():
    x = mg.randn(2, 3, 8, 8)
    layer = nn.Conv2d(3, 4, (3, 2), stride=2, padding=1)
    expected = mg.nn.functional.conv2d(x, layer.weight, layer.bias, stride=2, padding=1)
    np.testing.assert_array_equal(layer(x).data, expected.data)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data, mg.nn.functional.max_pool2d(x, 2).data)
    np.testing.assert_array_equal(nn.AvgPool2d(3, 1, 1, False)(x).data, mg.nn.functional.avg_pool2d(x, 3, 1, 1, False).data)
