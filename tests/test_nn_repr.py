"""print(model): the same structure built in minigrad and in torch prints the same text, layer by layer
(extra_repr) and as a tree (nested indentation, "(name): Layer(...)", ModuleList's repeated runs)."""
from collections import OrderedDict

import pytest

import minigrad as mg
from minigrad import nn

LAYERS = {
    "linear": lambda n: n.Linear(3, 4),
    "linear-no-bias": lambda n: n.Linear(3, 4, bias=False),
    "conv": lambda n: n.Conv2d(1, 32, 5),
    "conv-padding": lambda n: n.Conv2d(1, 32, 5, padding=2),
    "conv-same": lambda n: n.Conv2d(32, 64, 5, padding="same"),
    "conv-valid": lambda n: n.Conv2d(32, 64, 5, padding="valid"),
    "conv-everything": lambda n: n.Conv2d(3, 8, (3, 1), stride=(2, 1), padding=(1, 0), dilation=2, bias=False),
    "conv-pair-padding": lambda n: n.Conv2d(1, 2, 3, stride=2, padding=(1, 2)),
    "maxpool": lambda n: n.MaxPool2d(2),
    "maxpool-options": lambda n: n.MaxPool2d(3, stride=1, padding=1),
    "maxpool-pairs": lambda n: n.MaxPool2d((2, 3), (1, 2)),
    "avgpool": lambda n: n.AvgPool2d(3),
    "avgpool-options": lambda n: n.AvgPool2d(2, 1, 1, count_include_pad=False),
    "dropout": lambda n: n.Dropout(),
    "dropout-options": lambda n: n.Dropout(p=0.25, inplace=True),
    "relu": lambda n: n.ReLU(),
    "relu-inplace": lambda n: n.ReLU(inplace=True),
    "sigmoid": lambda n: n.Sigmoid(),
    "tanh": lambda n: n.Tanh(),
    "flatten": lambda n: n.Flatten(),
    "flatten-dims": lambda n: n.Flatten(0, 2),
    "identity": lambda n: n.Identity(),
    "losses": lambda n: n.ModuleList([n.CrossEntropyLoss(), n.NLLLoss(reduction="sum"), n.MSELoss(),
                                      n.BCEWithLogitsLoss()]),
    "empty-containers": lambda n: n.Sequential(n.Sequential(), n.ModuleList(), n.ModuleDict()),
}


def reference_cnn(n):
    return n.Sequential(
        n.Conv2d(1, 32, 5, padding="same"), n.ReLU(), n.MaxPool2d(2),
        n.Conv2d(32, 64, 5, padding="same"), n.ReLU(), n.MaxPool2d(2),
        n.Flatten(), n.Linear(3136, 1024), n.ReLU(), n.Dropout(0.5), n.Linear(1024, 10),
    )


def tutorial_net(n, F):
    """A network as the PyTorch tutorials write it: a Module subclass with named layers and containers."""

    class Net(n.Module):
        def __init__(self):
            super().__init__()
            self.features = n.Sequential(OrderedDict([("conv1", n.Conv2d(1, 32, 3, 1)), ("relu", n.ReLU())]))
            self.blocks = n.ModuleList([n.Linear(8, 8) for _ in range(3)] + [n.Linear(8, 4)])
            self.heads = n.ModuleDict({"classify": n.Linear(4, 10), "skip": n.Identity()})
            self.dropout = n.Dropout(0.25)
            self.empty = None

        def forward(self, x):
            return F.relu(x)

    return Net()


class WithExtra:
    """A user's module with a two-line extra_repr and a child, in either framework."""

    @staticmethod
    def build(n):
        class Custom(n.Module):
            def __init__(self):
                super().__init__()
                self.inner = n.Linear(2, 2)

            def extra_repr(self):
                return "first line\nsecond line"

        class OneLine(n.Module):
            def __init__(self):
                super().__init__()
                self.inner = n.ReLU()

            def extra_repr(self):
                return "size=3"

        class Outer(n.Module):
            def __init__(self):
                super().__init__()
                self.custom = Custom()
                self.tail = n.Sequential(Custom(), n.ReLU())
                self.one_line = OneLine()  # an extra line and a child: not on one line

        return Outer()


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_layer_prints_as_torchs(torch, name):
    assert repr(LAYERS[name](nn)) == repr(LAYERS[name](torch.nn))


def test_the_reference_cnn_prints_as_torchs(torch):
    text = repr(reference_cnn(nn))
    assert text == repr(reference_cnn(torch.nn))
    assert text.splitlines()[1] == "  (0): Conv2d(1, 32, kernel_size=(5, 5), stride=(1, 1), padding=same)"


def test_a_tutorial_style_network_prints_as_torchs(torch):
    ours = repr(tutorial_net(nn, nn.functional))
    assert ours == repr(tutorial_net(torch.nn, torch.nn.functional))
    assert "  (blocks): ModuleList(\n    (0-2): 3 x Linear(in_features=8, out_features=8, bias=True)\n" in ours


def test_extra_repr_lines_and_nested_children_print_as_torchs(torch):
    assert repr(WithExtra.build(nn)) == repr(WithExtra.build(torch.nn))
    assert str(WithExtra.build(nn)).startswith("Outer(\n  (custom): Custom(\n    first line\n    second line\n")


def test_layers_keep_torchs_attributes():
    conv = nn.Conv2d(1, 2, 3, stride=2, padding=1)
    assert (conv.stride, conv.padding, conv.dilation, conv.kernel_size) == ((2, 2), (1, 1), (1, 1), (3, 3))
    assert nn.MaxPool2d(3).stride == 3 and nn.AvgPool2d(2, 1).stride == 1
    assert conv(mg.ones(1, 1, 5, 5)).shape == (1, 2, 3, 3)  # the pairs still work in forward
