"""Sequential, ModuleList, ModuleDict and Identity: the same operations on minigrad's and torch's give the
same children, names, state_dict keys and reprs; their errors."""
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def shape_of(container):
    """What a container holds, comparable across frameworks: [(name, layer type)]."""
    return [(name, type(module).__name__) for name, module in container.named_children()]


def keys(container):
    return list(container.state_dict())


# Each script builds and edits a container from a framework's nn; the result is compared across both.
LIST_SCRIPTS = {
    "append-extend": lambda n: n.ModuleList([n.ReLU()]).append(n.Linear(2, 3)).extend([n.Tanh(), n.Linear(3, 1)]),
    "insert": lambda n: _inserted(_inserted(n.ModuleList([n.ReLU(), n.Linear(2, 2)]), 1, n.Linear(2, 4)), 0, n.Tanh()),
    "insert-at-end": lambda n: _inserted(n.ModuleList([n.ReLU()]), 1, n.Tanh()),
    "delete": lambda n: _deleted(n.ModuleList([n.Linear(1, 1), n.ReLU(), n.Linear(1, 2), n.Tanh()]), 1),
    "delete-slice": lambda n: _deleted(n.ModuleList([n.Linear(1, 1), n.ReLU(), n.Linear(1, 2), n.Tanh()]),
                                       slice(0, 3, 2)),
    "pop": lambda n: _popped(n.ModuleList([n.Linear(1, 1), n.ReLU(), n.Linear(1, 2)]), 0),
    "setitem": lambda n: _set(n.ModuleList([n.Linear(1, 1), n.ReLU()]), -1, n.Linear(1, 3)),
    "iadd": lambda n: _iadd(n.ModuleList([n.ReLU()]), [n.Linear(2, 2)]),
    "add": lambda n: n.ModuleList([n.ReLU()]) + n.ModuleList([n.Linear(2, 2)]),
    "slice": lambda n: n.ModuleList([n.ReLU(), n.Linear(2, 2), n.Tanh(), n.Linear(1, 1)])[1::2],
    "nested": lambda n: n.ModuleList([n.ModuleList([n.Linear(2, 2)]), n.Sequential(n.Linear(2, 1), n.ReLU())]),
}

SEQUENTIAL_SCRIPTS = {
    "append": lambda n: n.Sequential(n.Linear(2, 3)).append(n.ReLU()).append(n.Linear(3, 1)),
    "named": lambda n: n.Sequential(OrderedDict([("conv", n.Conv2d(1, 2, 3)), ("act", n.ReLU())])),
    "named-slice": lambda n: n.Sequential(OrderedDict([("a", n.Linear(1, 2)), ("b", n.ReLU()), ("c", n.Tanh())]))[1:],
    "insert": lambda n: n.Sequential(n.ReLU(), n.Tanh()).insert(-1, n.Linear(1, 1)),
    "delete-renumbers": lambda n: _deleted(n.Sequential(OrderedDict([("a", n.Linear(1, 2)), ("b", n.ReLU()),
                                                                   ("c", n.Linear(2, 1))])), 0),
    "extend": lambda n: n.Sequential(n.ReLU()).extend(n.Sequential(n.Linear(1, 1), n.Tanh())),
    "pop": lambda n: _popped(n.Sequential(n.ReLU(), n.Linear(1, 1), n.Tanh()), 1),
    "add": lambda n: n.Sequential(n.ReLU()) + n.Sequential(n.Linear(1, 1)),
    "multiply": lambda n: n.Sequential(n.Linear(1, 1), n.ReLU()) * 2,
}

DICT_SCRIPTS = {
    "mapping": lambda n: n.ModuleDict({"encoder": n.Linear(2, 3), "act": n.ReLU()}),
    "pairs-update": lambda n: _updated(n.ModuleDict([("b", n.ReLU()), ("a", n.Linear(1, 1))]),
                                       [("c", n.Tanh()), ("b", n.Linear(2, 2))]),
    "setitem-delete": lambda n: _deleted(_set(n.ModuleDict({"x": n.ReLU()}), "y", n.Linear(1, 1)), "x"),
    "pop": lambda n: _popped(n.ModuleDict({"x": n.ReLU(), "y": n.Linear(1, 1)}), "x"),
    "clear": lambda n: _cleared(n.ModuleDict({"x": n.ReLU()})),
}


def _deleted(container, index):
    del container[index]
    return container


def _inserted(container, index, module):
    assert container.insert(index, module) is None  # ModuleList's insert returns None, as torch's
    return container


def _popped(container, index):
    container.pop(index)
    return container


def _set(container, index, module):
    container[index] = module
    return container


def _iadd(container, modules):
    container += modules
    return container


def _updated(container, pairs):
    container.update(pairs)
    return container


def _cleared(container):
    container.clear()
    return container


SCRIPTS = {f"{kind}-{name}": build for kind, scripts in (("list", LIST_SCRIPTS), ("sequential", SEQUENTIAL_SCRIPTS),
                                                            ("dict", DICT_SCRIPTS)) for name, build in scripts.items()}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_container_operations_match_torch(script):
    torch = pytest.importorskip("torch")
    build = SCRIPTS[script]
    ours, theirs = build(nn), build(torch.nn)
    assert type(ours).__name__ == type(theirs).__name__
    assert shape_of(ours) == shape_of(theirs)
    assert keys(ours) == keys(theirs)
    assert len(ours) == len(theirs)
    assert repr(ours) == repr(theirs)
    for name, child in ours.named_children():  # each child is also an attribute of that name
        assert getattr(ours, name) is child


def test_module_list_indexing_iteration_and_registration():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and layers[-1] is layers[2] and list(layers) == [layers[0], layers[1], layers[2]]
    assert isinstance(layers[:2], nn.ModuleList) and len(layers[:2]) == 2
    assert len(list(layers.parameters())) == 6
    assert layers.double() is layers and all(p.dtype == mg.float64 for p in layers.parameters())

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 2)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x).relu()
            return x

    net = Net()
    assert [name for name, _ in net.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert net(mg.ones(3, 4)).shape == (3, 2)


def test_module_dict_is_a_dict_of_children():
    blocks = nn.ModuleDict({"encoder": nn.Linear(2, 3), "decoder": nn.Linear(3, 2)})
    assert "encoder" in blocks and "other" not in blocks and list(blocks) == ["encoder", "decoder"]
    assert list(blocks.keys()) == ["encoder", "decoder"] and blocks["decoder"] is blocks.decoder
    assert [type(value).__name__ for value in blocks.values()] == ["Linear", "Linear"]
    assert dict(blocks.items())["encoder"] is blocks.encoder
    blocks.update(nn.ModuleDict({"head": nn.ReLU()}))
    assert list(blocks) == ["encoder", "decoder", "head"] and len(blocks) == 3
    assert blocks.pop("head").__class__ is nn.ReLU and not hasattr(blocks, "head")


def test_sequential_indexing_and_assignment():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model[1] = nn.Tanh()
    assert isinstance(model[1], nn.Tanh) and model._modules["1"] is model[1]
    x = mg.randn(3, 4)
    np.testing.assert_allclose(model(x).numpy(), model[2](model[1](model[0](x))).numpy())
    assert isinstance(model[0:2], nn.Sequential)


def test_identity_returns_its_input_and_ignores_arguments():
    x = mg.randn(2, 3)
    assert nn.Identity(54, unused="argument")(x) is x
    model = nn.Sequential(nn.Linear(3, 3), nn.Identity())
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]


def test_container_errors():
    layers = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    with pytest.raises(IndexError, match="ModuleList: index 2 is out of range for 2 modules"):
        layers[2]
    with pytest.raises(IndexError, match="index -3 is out of range"):
        layers[-3]
    with pytest.raises(TypeError, match="ModuleList indices must be integers or slices, not str"):
        layers["0"]
    with pytest.raises(TypeError, match="ModuleList.append: expected a Module, got int"):
        layers.append(3)
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable, but got int"):
        layers.extend(3)
    with pytest.raises(TypeError, match="expected a Module, got int"):
        nn.ModuleList([3])
    with pytest.raises(IndexError, match="ModuleList.insert: index 5 is out of range for 2 modules"):
        layers.insert(5, nn.ReLU())
    with pytest.raises(ValueError, match="add operator supports only objects of Sequential class"):
        nn.Sequential(nn.ReLU()) + [nn.ReLU()]
    with pytest.raises(ValueError, match="non-positive multiplication factor 0"):
        nn.Sequential(nn.ReLU()) * 0
    blocks = nn.ModuleDict({"a": nn.ReLU()})
    with pytest.raises(KeyError, match=r"ModuleDict has no module 'b' \(keys: \['a'\]\)"):
        blocks["b"]
    with pytest.raises(TypeError, match="ModuleDict.update should be called with an iterable of key/value pairs"):
        blocks.update(3)
    with pytest.raises(ValueError, match="ModuleDict update sequence element #0 has length 3; 2 is required"):
        blocks.update([("x", nn.ReLU(), 3)])
    with pytest.raises(KeyError, match="attribute 'keys' already exists"):
        blocks["keys"] = nn.ReLU()
    with pytest.raises(TypeError, match="ModuleDict.__setitem__: expected a Module, got int"):
        blocks["c"] = 3
