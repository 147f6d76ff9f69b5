"""nn.Module and nn.Parameter: registration, buffers, traversal, modes, gradients, to(), errors.

state_dict / load_state_dict are in test_nn_state_dict.py, the repr tree in test_nn_repr.py. Where
PyTorch is installed, behaviour is compared with the same structure built in torch.nn.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def modules_of(framework):
    """Block and Model written once for either framework: (minigrad, mg.nn) or (torch, torch.nn)."""
    library, layers = framework

    class Block(layers.Module):
        def __init__(self):
            super().__init__()
            self.conv = layers.Conv2d(1, 2, 3)
            self.scale = layers.Parameter(library.ones(2))
            self.pool = layers.MaxPool2d(2)
            self.register_buffer("running", library.zeros(2))
            self.register_buffer("count", library.tensor(0))
            self.register_buffer("scratch", library.ones(3), persistent=False)
            self.register_buffer("empty", None)

        def forward(self, x):
            return self.pool(self.conv(x)) * self.scale.reshape(1, 2, 1, 1)

    class Model(layers.Module):
        def __init__(self):
            super().__init__()
            self.first = Block()
            self.second = Block()
            self.second.scale = self.first.scale  # shared: listed once by named_parameters
            self.again = self.first  # a shared submodule: listed once by named_modules

    return Block, Model


Block, Model = modules_of((mg, nn))


@pytest.fixture
def torch_modules():
    torch = pytest.importorskip("torch")
    return (torch,) + modules_of((torch, torch.nn))


def names(pairs):
    return [name for name, _ in pairs]


def test_parameters_are_registered_by_attribute_with_dotted_names():
    assert names(Model().named_parameters()) == [
        "first.scale", "first.conv.weight", "first.conv.bias", "second.conv.weight", "second.conv.bias"]


def test_traversal_names_match_torch(torch_modules):
    _, _, TorchModel = torch_modules
    ours, theirs = Model(), TorchModel()
    for method, arguments in [("named_parameters", {}), ("named_buffers", {}), ("named_modules", {}),
                              ("named_children", {}), ("named_parameters", {"remove_duplicate": False}),
                              ("named_modules", {"remove_duplicate": False}), ("named_buffers", {"recurse": False}),
                              ("named_parameters", {"prefix": "model"})]:
        assert names(getattr(ours, method)(**arguments)) == names(getattr(theirs, method)(**arguments)), method
    assert [type(module).__name__ for module in ours.modules()] == [
        type(module).__name__ for module in theirs.modules()]
    assert len(list(ours.buffers())) == len(list(theirs.buffers())) == 6
    assert len(list(ours.first.parameters(recurse=False))) == 1


def test_parameters_are_leaves_that_require_grad_and_ops_on_them_give_tensors():
    parameter = nn.Parameter(mg.zeros(3))
    assert parameter.requires_grad and parameter.is_leaf and parameter.dtype == mg.float32
    assert type(parameter * 2) is mg.Tensor and "Parameter containing" in repr(parameter)


def test_buffers_are_attributes_and_can_be_reassigned_or_deleted():
    block = Block()
    assert block.running.tolist() == [0.0, 0.0] and block.empty is None
    block.running = mg.ones(2)
    assert block._buffers["running"] is block.running and names(block.named_buffers())[0] == "running"
    del block.scratch
    assert names(block.named_buffers()) == ["running", "count"] and not hasattr(block, "scratch")
    with pytest.raises(TypeError, match=r"Block: cannot assign int as buffer 'running' \(Tensor or None expected\)"):
        block.running = 3


def test_registration_errors_match_torchs_kinds(torch_modules):
    torch, TorchBlock, _ = torch_modules
    cases = [
        lambda m, lib: m.register_buffer("conv", lib.ones(1)),  # an attribute of another kind
        lambda m, lib: m.register_buffer("a.b", lib.ones(1)),
        lambda m, lib: m.register_buffer("", lib.ones(1)),
        lambda m, lib: m.register_buffer("x", 3),
        lambda m, lib: m.register_buffer(3, lib.ones(1)),
        lambda m, lib: m.register_buffer("training", lib.ones(1)),
        lambda m, lib: m.register_parameter("running", None),
        lambda m, lib: m.register_parameter("q", lib.ones(1)),
        lambda m, lib: m.register_parameter("a.b", None),
        lambda m, lib: m.add_module("a.b", None),
        lambda m, lib: m.add_module("z", 3),
        lambda m, lib: m.add_module("running", None),
        lambda m, lib: setattr(m, "conv", 3),
        lambda m, lib: setattr(m, "scale", lib.ones(2)),
    ]
    for index, case in enumerate(cases):
        errors = []
        for module, library in ((Block(), mg), (TorchBlock(), torch)):
            with pytest.raises(Exception) as caught:
                case(module, library)
            errors.append(type(caught.value))
        assert errors[0] is errors[1], f"case {index}: {errors}"
    with pytest.raises(KeyError, match="Block.register_buffer: attribute 'conv' already exists"):
        Block().register_buffer("conv", mg.ones(1))


def test_register_parameter_and_add_module_and_kind_changes():
    module = nn.Module()
    module.register_parameter("weight", nn.Parameter(mg.ones(2)))
    module.register_parameter("bias", None)
    module.add_module("inner", nn.ReLU())
    module.register_module("other", nn.Tanh())
    assert names(module.named_parameters()) == ["weight"] and module.bias is None
    assert names(module.named_children()) == ["inner", "other"]
    module.register_buffer("state", mg.ones(1))
    module.state = nn.Parameter(mg.zeros(1))  # a Parameter replaces the buffer of that name, as torch
    assert list(module._buffers) == [] and names(module.named_parameters()) == ["weight", "state"]


def test_reassigning_a_child_keeps_its_place():
    model = nn.Sequential(nn.ReLU(), nn.Tanh())
    setattr(model, "0", nn.Sigmoid())
    assert [type(child).__name__ for child in model] == ["Sigmoid", "Tanh"]


def test_get_submodule_parameter_and_buffer():
    model = Model()
    assert model.get_submodule("first.conv") is model.first.conv and model.get_submodule("") is model
    assert model.get_parameter("first.conv.weight") is model.first.conv.weight
    assert model.get_buffer("second.running") is model.second.running
    with pytest.raises(AttributeError, match="Block has no attribute `nothing`"):
        model.get_submodule("first.nothing")
    with pytest.raises(AttributeError, match="`scale` is not an nn.Module"):
        model.get_submodule("first.scale")
    with pytest.raises(AttributeError, match="`running` is not an nn.Parameter"):
        model.get_parameter("first.running")
    with pytest.raises(AttributeError, match="`scale` is not a buffer"):
        model.get_buffer("first.scale")


def test_forward_backward_and_zero_grad():
    model = Block()
    model(mg.randn(2, 1, 6, 6)).sum().backward()
    assert all(parameter.grad is not None for parameter in model.parameters())
    model.zero_grad()
    assert all(parameter.grad is None for parameter in model.parameters())


def test_zero_grad_without_set_to_none_zeroes_the_same_gradient_in_place():
    model = nn.Linear(3, 2)
    model(mg.ones(1, 3)).sum().backward()
    gradient = model.weight.grad
    model.zero_grad(set_to_none=False)
    assert model.weight.grad is gradient and not gradient.data.any() and not gradient.requires_grad


def test_train_and_eval_reach_every_submodule_through_their_own_train():
    calls = []

    class Recording(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    model = nn.Sequential(Model(), Recording())
    assert model.eval() is model
    assert not any(module.training for module in model.modules()) and calls == [False]
    assert all(module.training for module in model.train().modules()) and calls == [False, True]
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        model.train(1)


def test_apply_visits_children_first_as_torch(torch_modules):
    torch = torch_modules[0]
    visited = {}
    for library in (nn, torch.nn):
        model = library.Sequential(library.Linear(1, 1), library.Sequential(library.ReLU(), library.Tanh()))
        order = []
        assert model.apply(lambda module, order=order: order.append(type(module).__name__)) is model
        visited[library] = order
    assert visited[nn] == visited[torch.nn] == ["Linear", "ReLU", "Tanh", "Sequential", "Sequential"]


def test_apply_initialises_weights():
    def initialise(module):
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.5)

    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)).apply(initialise)
    assert all((layer.weight.numpy() == 0.5).all() for layer in (model[0], model[2]))


def test_requires_grad_freezes_and_unfreezes():
    model = Block()
    assert model.requires_grad_(False) is model and not any(p.requires_grad for p in model.parameters())
    assert all(p.requires_grad for p in model.requires_grad_().parameters())


# --- to(), double(), float() -----------------------------------------------------------------------------

def test_double_casts_floating_parameters_buffers_and_grads_in_place(torch_modules):
    torch, TorchBlock, _ = torch_modules
    for module in (Block(), TorchBlock()):
        weight = module.conv.weight
        module.conv.weight.grad = (mg if isinstance(module, nn.Module) else torch).ones(2, 1, 3, 3)
        gradient = module.conv.weight.grad
        assert module.double() is module
        assert module.conv.weight is weight and module.conv.weight.grad is gradient
        dtypes = [str(tensor.dtype).replace("torch.", "") for tensor in
                  (weight, gradient, module.running, module.count, module.scratch)]
        assert dtypes == ["float64", "float64", "float64", "int64", "float64"]
    assert Block().float().scale.dtype == mg.float32


@pytest.mark.parametrize("arguments", [(mg.float64,), ("cpu", mg.float64), ("float64",), (mg.zeros(1, dtype=mg.float64),)])
def test_to_accepts_torchs_forms(arguments):
    model = Block()
    assert model.to(*arguments) is model and model.conv.weight.dtype == mg.float64 and model.count.dtype == mg.int64
    assert model.to(device="cpu", dtype=mg.float32).running.dtype == mg.float32
    assert model.to("cpu") is model and model.to() is model


def test_to_refuses_non_floating_dtypes_and_unknown_devices():
    with pytest.raises(TypeError, match="Block.to only accepts floating point dtypes, but got desired dtype=int64"):
        Block().to(mg.int64)
    with pytest.raises(ValueError, match="unknown device"):
        Block().to("tpu")
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        Block().to("cpu", colour="red")


def test_an_optimizer_built_before_double_still_trains_the_model():
    model = nn.Linear(3, 1)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    model.double()
    before = model.weight.numpy().copy()
    model(mg.ones(2, 3, dtype=mg.float64)).sum().backward()
    optimizer.step()
    assert model.weight.dtype == mg.float64 and not np.array_equal(model.weight.numpy(), before)


def test_to_cuda_is_refused_clearly():
    with pytest.raises(RuntimeError, match="CUDA"):
        Block().to("cuda")


# --- assignment errors and __call__ checks ----------------------------------------------------------------

def test_assigning_the_wrong_kind_to_a_registered_name_is_refused():
    model = Block()
    with pytest.raises(TypeError, match=r"cannot assign Tensor as parameter 'scale' \(nn.Parameter or None expected\)"):
        model.scale = mg.ones(2)
    with pytest.raises(TypeError, match=r"cannot assign int as child module 'conv' \(nn.Module or None expected\)"):
        model.conv = 3


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.weight = nn.Parameter(mg.ones(1))

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_a_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match=r'Module \[ModuleList\] is missing the required "forward" function'):
        nn.ModuleList()(mg.ones(1))


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
