"""Module.state_dict / load_state_dict: keys as torch lists them (buffers included), the
(missing_keys, unexpected_keys) result, torch's error text, and all-or-nothing loading."""
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from test_nn_module import Block, Model, modules_of


@pytest.fixture
def torch_modules():
    torch = pytest.importorskip("torch")
    return (torch,) + modules_of((torch, torch.nn))


def snapshot(module):
    return {name: np.array(value) for name, value in module.state_dict().items()}


def assert_unchanged(module, before):
    after = snapshot(module)
    assert list(after) == list(before)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
        assert after[name].dtype == before[name].dtype, name


def torch_text(message):
    """torch's message with its shapes written as minigrad writes them: torch.Size([3, 4]) -> (3, 4)."""
    def as_tuple(match):
        items = [item.strip() for item in match.group(1).split(",") if item.strip()]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return re.sub(r"torch\.Size\(\[([^\]]*)\]\)", as_tuple, message)


def test_state_dict_keys_match_torch_with_buffers_and_shared_parameters(torch_modules):
    _, TorchBlock, TorchModel = torch_modules
    assert list(Block().state_dict()) == list(TorchBlock().state_dict()) == [
        "scale", "running", "count", "conv.weight", "conv.bias"]
    assert list(Model().state_dict()) == list(TorchModel().state_dict())  # shared ones under every name


def test_state_dict_values_are_host_copies_and_keep_vars_gives_the_tensors():
    model = Block()
    state = model.state_dict()
    assert all(isinstance(value, np.ndarray) for value in state.values())
    assert state["count"].dtype == np.int64 and state["running"].dtype == np.float32
    state["scale"][:] = 7  # a copy: the model is untouched
    assert model.scale.data[0] == 1
    kept = model.state_dict(keep_vars=True)
    assert kept["scale"] is model.scale and kept["running"] is model.running
    assert list(model.state_dict(prefix="block.")) == ["block." + name for name in state]


def test_round_trip_copies_values_buffers_included():
    source, target = Model(), Model()
    source.first.running = mg.tensor([3.0, 4.0])
    source.first.count = mg.tensor(5)
    result = target.load_state_dict(source.state_dict())
    assert result == ([], []) and repr(result) == "<All keys matched successfully>"
    assert target.first.running.tolist() == [3.0, 4.0] and target.first.count.item() == 5
    for (_, a), (_, b) in zip(source.named_parameters(), target.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_loading_casts_to_the_models_dtype_and_accepts_tensors():
    model = Block()
    state = {name: mg.tensor(value.astype(np.float64)) if value.dtype.kind == "f" else value
             for name, value in Block().state_dict().items()}
    model.load_state_dict(state)
    assert model.conv.weight.dtype == mg.float32 and model.running.dtype == mg.float32
    np.testing.assert_allclose(model.conv.weight.numpy(), state["conv.weight"].numpy(), rtol=1e-7)


def test_strict_errors_list_every_key_as_torch_does(torch_modules):
    torch, TorchBlock, _ = torch_modules
    messages, before = [], None
    for module, library in ((Block(), mg), (TorchBlock(), torch)):
        state = dict(module.state_dict())
        del state["conv.bias"], state["count"]
        state["extra"] = library.zeros(1)
        state["extra2"] = library.zeros(1)
        state["scale"] = library.zeros(3)
        state["running"] = library.zeros(4, 1)
        if library is mg:
            before = snapshot(module)
        with pytest.raises(RuntimeError) as caught:
            module.load_state_dict(state)
        messages.append(str(caught.value))
        if library is mg:
            assert_unchanged(module, before)
    assert messages[0] == torch_text(messages[1])
    assert messages[0].startswith("Error(s) in loading state_dict for Block:\n\t"
                                  'Missing key(s) in state_dict: "count", "conv.bias". \n\t'
                                  'Unexpected key(s) in state_dict: "extra", "extra2". \n\t'
                                  "size mismatch for scale: copying a param with shape (3,) from checkpoint, "
                                  "the shape in current model is (2,).")


def test_non_strict_returns_missing_and_unexpected_keys_as_torch(torch_modules):
    torch, TorchBlock, _ = torch_modules
    results = []
    for module in (Block(), TorchBlock()):
        state = dict(module.state_dict())
        del state["conv.bias"]
        state["other"] = np.zeros(1) if isinstance(module, nn.Module) else torch.zeros(1)
        results.append(module.load_state_dict(state, strict=False))
    assert results[0] == results[1] == (["conv.bias"], ["other"])
    assert repr(results[0]) == repr(results[1]) and results[0].missing_keys == ["conv.bias"]
    assert type(results[0]).__name__ == "_IncompatibleKeys" and results[0].unexpected_keys == ["other"]


def test_shape_mismatches_raise_even_when_not_strict(torch_modules):
    torch, TorchBlock, _ = torch_modules
    messages = []
    for module, library in ((Block(), mg), (TorchBlock(), torch)):
        with pytest.raises(RuntimeError) as caught:
            module.load_state_dict({"scale": library.zeros(3), "conv.weight": library.zeros(1, 1),
                                    "unknown": library.zeros(1)}, strict=False)
        messages.append(str(caught.value))
    assert messages[0] == torch_text(messages[1])
    assert "size mismatch for conv.weight: copying a param with shape (1, 1) from checkpoint, the shape in " \
           "current model is (2, 1, 3, 3)." in messages[0]


def test_a_failed_load_changes_nothing():
    model = Block()
    before = snapshot(model)
    good = {name: np.full_like(value, 9) for name, value in model.state_dict().items()}
    for state, strict in [({**good, "scale": np.zeros(5)}, False), ({**good, "extra": np.ones(1)}, True),
                          ({name: value for name, value in good.items() if name != "count"}, True),
                          ({**good, "count": "nine"}, False)]:
        with pytest.raises(RuntimeError):
            model.load_state_dict(state, strict=strict)
        assert_unchanged(model, before)
    model.load_state_dict(good)
    assert model.running.tolist() == [9.0, 9.0] and model.count.item() == 9


def test_a_non_array_value_and_a_non_mapping_are_refused():
    with pytest.raises(RuntimeError, match='While copying the parameter named "scale", expected a Tensor or an '
                                           "array from checkpoint but received int"):
        Block().load_state_dict({**Block().state_dict(), "scale": 3})
    with pytest.raises(TypeError, match="load_state_dict of Block: expected state_dict to be dict-like, got list"):
        Block().load_state_dict([("scale", np.ones(2))])


def test_non_persistent_buffers_are_neither_saved_nor_expected():
    model = Block()
    assert "scratch" not in model.state_dict()
    state = model.state_dict()
    state["scratch"] = np.ones(3)
    assert model.load_state_dict(state, strict=False).unexpected_keys == ["scratch"]


def test_loading_bumps_the_version_so_a_stale_graph_is_caught():
    model = nn.Linear(2, 1)
    x = mg.ones(1, 2, requires_grad=True)
    loss = (model(x) * model.weight.sum()).sum()
    model.load_state_dict(nn.Linear(2, 1).state_dict())
    with pytest.raises(RuntimeError):
        loss.backward()


def test_assign_gives_the_saved_arrays_to_the_same_parameter_objects():
    model, weight = nn.Linear(2, 1), None
    weight = model.weight
    saved = {"weight": np.ones((1, 2), dtype=np.float64), "bias": np.zeros(1, dtype=np.float64)}
    model.load_state_dict(saved, assign=True)
    assert model.weight is weight and model.weight.data is saved["weight"] and model.weight.dtype == mg.float64


def test_a_checkpoint_with_buffers_round_trips_through_save(tmp_path):
    model = Block()
    model.running = mg.tensor([1.5, 2.5])
    mg.save(model.state_dict(), tmp_path / "model.npz")
    other = Block()
    other.load_state_dict(mg.load(tmp_path / "model.npz"))
    assert other.running.tolist() == [1.5, 2.5]
