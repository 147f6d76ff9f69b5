"""nn.Module and nn.Parameter: registration, traversal, modes, gradients, state dicts, errors."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.scale = nn.Parameter(mg.ones(2))
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.conv(x)) * self.scale.reshape(1, 2, 1, 1)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Block()
        self.second = Block()
        self.second.scale = self.first.scale  # shared: listed once


def test_parameters_are_registered_by_attribute_with_dotted_names():
    names = [name for name, _ in Model().named_parameters()]
    assert names == ["first.scale", "first.conv.weight", "first.conv.bias", "second.conv.weight", "second.conv.bias"]


def test_children_and_modules():
    model = Model()
    assert [type(child).__name__ for child in model.children()] == ["Block", "Block"]
    assert [name for name, _ in model.named_modules()][:4] == ["", "first", "first.conv", "first.pool"]


def test_parameters_are_leaves_that_require_grad_and_ops_on_them_give_tensors():
    parameter = nn.Parameter(mg.zeros(3))
    assert parameter.requires_grad and parameter.is_leaf and parameter.dtype == mg.float32
    assert type(parameter * 2) is mg.Tensor and "Parameter containing" in repr(parameter)


def test_forward_backward_and_zero_grad():
    model = Block()
    model(mg.randn(2, 1, 6, 6)).sum().backward()
    assert all(parameter.grad is not None for parameter in model.parameters())
    model.zero_grad()
    assert all(parameter.grad is None for parameter in model.parameters())


def test_train_and_eval_reach_every_submodule():
    model = Model().eval()
    assert not any(module.training for module in model.modules())
    assert all(module.training for module in model.train().modules())


def test_state_dict_round_trip_copies_values():
    source, target = Model(), Model()
    state = source.state_dict()
    assert list(state) == [name for name, _ in source.named_parameters()]
    assert all(isinstance(value, np.ndarray) for value in state.values())
    target.load_state_dict(state)
    for (_, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    state["first.scale"][:] = 7  # a copy: the model is untouched
    assert source.first.scale.data[0] == 1


def test_load_state_dict_names_missing_unexpected_and_mis_shaped_keys():
    model = Block()
    state = model.state_dict()
    del state["conv.bias"]
    state["extra"] = np.zeros(1)
    state["scale"] = np.zeros(3)
    with pytest.raises(ValueError) as caught:
        model.load_state_dict(state)
    message = str(caught.value)
    assert "missing keys: conv.bias" in message and "unexpected keys: extra" in message
    assert "scale: saved shape (3,) does not match the parameter's (2,)" in message


def test_load_state_dict_non_strict_skips_missing_and_unexpected():
    model = Block()
    model.load_state_dict({"scale": np.full(2, 5.0), "other": np.zeros(1)}, strict=False)
    np.testing.assert_array_equal(model.scale.data, [5.0, 5.0])


def test_assigning_the_wrong_kind_to_a_registered_name_is_refused():
    model = Block()
    with pytest.raises(TypeError, match="'scale': a Parameter or None"):
        model.scale = mg.ones(2)
    with pytest.raises(TypeError, match="'conv': a Module or None"):
        model.conv = 3


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.weight = nn.Parameter(mg.ones(1))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_to_cuda_is_refused_clearly():
    with pytest.raises(RuntimeError, match="CUDA"):
        Block().to("cuda")


def test_repr_nests_children():
    text = repr(Block())
    assert text.startswith("Block(\n  (conv): Conv2d(1, 2, kernel_size=(3, 3)") and "(pool): MaxPool2d(kernel_size=2" in text


class Masked(nn.Module):
    def forward(self, x, mask, scale=1.0):
        return x * mask * scale


class Summed(nn.Module):
    def forward(self, tensors):
        return sum(tensors[1:], tensors[0])


def test_a_numpy_array_as_any_positional_argument_is_refused_with_the_module_name():
    with pytest.raises(TypeError, match=r"^Block: expected a Tensor as input, got numpy.ndarray of shape \(2, 1, 6, 6\) "
                                        r"and dtype float64; wrap it with mg.from_numpy\(x\)"):
        Block()(np.zeros((2, 1, 6, 6)))
    with pytest.raises(TypeError, match=r"^Masked: expected a Tensor as argument 2 \(mask\), got numpy.ndarray"):
        Masked()(mg.ones(2), np.ones(2))
    with pytest.raises(TypeError, match=r"^Masked: expected a Tensor as argument 3 \(scale\)"):
        Masked()(mg.ones(2), mg.ones(2), np.float32(2) * np.ones(1))


def test_a_users_forward_may_take_other_things_than_tensors():
    # Only raw arrays are refused at a user's module: lists, numbers and NumPy scalars reach forward().
    assert Masked()(mg.ones(2), mg.ones(2), np.float32(3.0)).tolist() == [3.0, 3.0]
    assert Summed()([mg.ones(2), mg.ones(2)]).tolist() == [2.0, 2.0]
    assert nn.Sequential(Summed(), nn.ReLU())([mg.ones(2), mg.ones(2)]).tolist() == [2.0, 2.0]


def test_sequential_refuses_at_its_own_call_what_its_first_layer_would():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(TypeError, match=r"^Sequential: expected a Tensor as input, got list"):
        model([[1.0, 2.0, 3.0, 4.0]])
    with pytest.raises(TypeError, match=r"^Sequential: expected a Tensor as input, got numpy.ndarray"):
        nn.Sequential(Summed())(np.ones((2, 2)))
