"""mg.save / mg.load: pickle-free round trips of nested structures, exact paths, atomic writes, clear errors."""
import importlib
import inspect
import math
import os
import pkgutil
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, serialization
from minigrad.serialization import load, save


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(mg.randn(4, 3))
        self.bias = nn.Parameter(mg.zeros(3))
        self.inner = nn.Module()
        self.inner.scale = nn.Parameter(mg.ones(1, dtype=mg.float64))


def assert_same(loaded, original):
    """Equal values of the same types, all the way down (dict order, key types, tuple vs list, dtypes)."""
    assert type(loaded) is type(original), (type(loaded), type(original))
    if isinstance(original, dict):
        assert list(loaded) == list(original)
        assert [type(key) for key in loaded] == [type(key) for key in original]
        for key in original:
            assert_same(loaded[key], original[key])
    elif isinstance(original, (list, tuple)):
        assert len(loaded) == len(original)
        for loaded_item, original_item in zip(loaded, original):
            assert_same(loaded_item, original_item)
    elif isinstance(original, mg.Tensor):
        assert loaded.dtype == original.dtype and not loaded.requires_grad
        np.testing.assert_array_equal(loaded.numpy(), original.numpy())
    elif isinstance(original, (np.ndarray, np.generic)):
        assert loaded.dtype == original.dtype and np.shape(loaded) == np.shape(original)
        np.testing.assert_array_equal(loaded, original)
    elif isinstance(original, float) and math.isnan(original):
        assert math.isnan(loaded)
    else:
        assert loaded == original


def round_trip(obj, tmp_path, name="checkpoint.npz"):
    save(obj, tmp_path / name)
    return load(tmp_path / name)


def test_model_state_dict_round_trips_as_an_ordered_dict(tmp_path):
    model = TwoLayers()
    state = model.state_dict()
    loaded = round_trip(state, tmp_path)
    assert_same(loaded, state)
    assert list(loaded) == ["weight", "bias", "inner.scale"]
    other = TwoLayers()
    other.load_state_dict(loaded)
    np.testing.assert_array_equal(other.weight.numpy(), model.weight.numpy())


def test_optimizer_like_state_keeps_int_keys_tuples_and_scalars(tmp_path):
    state = {
        "state": {0: {"step": 3, "exp_avg": np.full((2, 2), 0.5, dtype=np.float32)},
                  1: {"step": 3, "exp_avg": np.zeros(5)}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "amsgrad": False, "name": None}],
    }
    loaded = round_trip(state, tmp_path)
    assert_same(loaded, state)
    assert list(loaded["state"]) == [0, 1] and isinstance(loaded["param_groups"][0]["betas"], tuple)


def test_a_whole_checkpoint_with_every_supported_kind(tmp_path):
    checkpoint = OrderedDict([
        ("model", TwoLayers().state_dict()),
        ("arrays", [np.arange(6, dtype=np.int64).reshape(2, 3), np.array([True, False]), np.float64(2.5) * np.ones(3),
                    np.array(7, dtype=np.int32), np.zeros((0, 4), dtype=np.float32), np.arange(4, dtype=np.uint8)]),
        ("tensors", (mg.tensor([1.0, 2.0]), mg.arange(3), mg.tensor(True), mg.randn(2, 2, requires_grad=True))),
        ("scalars", [np.float32(1.5), np.int64(-3), np.bool_(True), np.float16(0.25), np.complex128(1 + 2j)]),
        ("python", {"int": 10**30, "float": 0.1, "inf": float("inf"), "nan": float("nan"), "text": "é ✓", "none": None,
                    "bools": [True, False], -1: "negative key", "": "empty key", "nested": {"deeper": {"x": ()}}}),
        (5, []),
    ])
    assert_same(round_trip(checkpoint, tmp_path), checkpoint)


def test_top_level_values_and_identity_sharing(tmp_path):
    assert_same(round_trip(np.eye(3), tmp_path), np.eye(3))
    assert round_trip(None, tmp_path) is None
    shared = np.arange(3.0)
    loaded = round_trip({"a": shared, "b": [shared]}, tmp_path)
    assert loaded["a"] is loaded["b"][0]  # saved once, loaded as one array, as torch.save does
    with zipfile.ZipFile(tmp_path / "checkpoint.npz") as archive:
        assert len(archive.namelist()) == 2  # the array and the structure


def test_tensors_load_as_leaves_without_grad(tmp_path):
    parameter = nn.Parameter(mg.randn(3))
    loaded = round_trip({"w": parameter}, tmp_path)["w"]
    assert type(loaded) is mg.Tensor and loaded.is_leaf and not loaded.requires_grad
    np.testing.assert_array_equal(loaded.numpy(), parameter.numpy())
    assert loaded.numpy().flags.writeable


def test_writes_exactly_the_given_path_without_adding_npz(tmp_path):
    save({"x": np.ones(2)}, tmp_path / "weights.ckpt")
    save({"x": np.ones(2)}, str(tmp_path / "no_suffix"))
    assert sorted(os.listdir(tmp_path)) == ["no_suffix", "weights.ckpt"]
    np.testing.assert_array_equal(load(str(tmp_path / "weights.ckpt"))["x"], np.ones(2))


def test_files_open_with_numpy_without_pickle(tmp_path):
    save({"model": TwoLayers().state_dict(), "step": 4}, tmp_path / "checkpoint.npz")
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as archive:
        assert serialization.STRUCTURE_ENTRY in archive.files
        for name in archive.files:
            assert archive[name].dtype != object


def test_overwrites_and_gives_an_ordinary_file_mode(tmp_path):
    path = tmp_path / "checkpoint.npz"
    save({"version": 1}, path)
    save({"version": 2}, path)
    assert load(path) == {"version": 2}
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["checkpoint.npz"]


def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.npz"
    save({"epoch": 1, "w": np.ones(3)}, path)
    before = path.read_bytes()

    def failing_savez(file, *arguments, **keywords):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(serialization.np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        save({"epoch": 2, "w": np.zeros(3)}, path)
    with pytest.raises(OSError, match="disk full"):
        save({"epoch": 2}, tmp_path / "new.npz")
    assert os.listdir(tmp_path) == ["checkpoint.npz"]
    assert path.read_bytes() == before
    monkeypatch.undo()
    assert load(path)["epoch"] == 1


def test_unsupported_values_name_their_key_path(tmp_path):
    with pytest.raises(TypeError, match=r"cannot store value of type set at \['optimizer'\]\['state'\]\[0\]"):
        save({"optimizer": {"state": [{1, 2}]}}, tmp_path / "bad.npz")
    with pytest.raises(TypeError, match="cannot store value of type object at the top level"):
        save(object(), tmp_path / "bad.npz")
    with pytest.raises(TypeError, match=r"dtype object at \['a'\]\[1\]: object arrays would need pickle"):
        save({"a": [np.ones(1), np.array([None])]}, tmp_path / "bad.npz")
    with pytest.raises(TypeError, match=r"dict key of type tuple \(\(1, 2\)\) at \['a'\]; keys must be str or int"):
        save({"a": {(1, 2): 3}}, tmp_path / "bad.npz")
    with pytest.raises(TypeError, match="dict key of type bool"):
        save({True: 1}, tmp_path / "bad.npz")
    looping = []
    looping.append(looping)
    with pytest.raises(ValueError, match=r"contains itself at \[0\]"):
        save(looping, tmp_path / "bad.npz")
    assert os.listdir(tmp_path) == []


def test_numpy_integer_keys_are_stored_as_int(tmp_path):
    assert_same(round_trip({np.int64(3): "x"}, tmp_path), {3: "x"})


def test_load_errors(tmp_path):
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(mg.CheckpointError, match="not an .npz archive"):
        load(tmp_path / "text.npz")
    np.save(tmp_path / "single.npy", np.ones(2))
    with pytest.raises(ValueError, match="not an .npz archive"):  # a ValueError still, as before
        load(tmp_path / "single.npy")
    save({"w": np.ones(100)}, tmp_path / "cut.npz")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "cut.npz").read_bytes()[:300])
    with pytest.raises(mg.CheckpointError, match="damaged or not written by mg.save") as caught:
        load(tmp_path / "cut.npz")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_a_plain_npz_says_what_it_is_and_what_was_expected(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, weights=np.ones(2), bias=np.zeros(1))
    with pytest.raises(mg.CheckpointError) as caught:
        load(path)
    error = caught.value
    assert type(error) is serialization.CheckpointError and isinstance(error, ValueError)
    assert type(error).__module__ == "minigrad.serialization" and not type(error).__name__.startswith("_")
    assert str(error) == (
        f"load: {path} is a plain .npz archive (arrays 'weights', 'bias'), not one written by mg.save, which "
        f"always holds a 'minigrad_structure' entry; read it with np.load({str(path)!r})"
    )
    np.savez(path)
    with pytest.raises(mg.CheckpointError, match=r"plain .npz archive \(no arrays\)"):
        load(path)
    np.savez(path, **{f"a{index}": np.ones(1) for index in range(7)})
    with pytest.raises(mg.CheckpointError, match=r"\(arrays 'a0', 'a1', 'a2', 'a3', 'a4' and 2 more\)"):
        load(path)


def test_every_error_class_of_the_package_is_public():
    # An exception that reaches a user shows its class's full name: no private (_Name) classes.
    packages = [(mg.__path__[:1], "minigrad."), (mg.kernels.__path__, "minigrad.kernels.")]
    for path, prefix in packages:
        for module_info in pkgutil.walk_packages(path, prefix):
            if module_info.name.endswith("__main__"):
                continue
            module = importlib.import_module(module_info.name)
            for name, value in vars(module).items():
                if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                    assert not name.startswith("_"), f"{module.__name__}.{name} can reach users: make it public"
                    assert value.__doc__, f"{module.__name__}.{name} needs a docstring"


def test_load_rejects_other_structures(tmp_path):
    structure = np.frombuffer(b'{"format": "something else"}', dtype=np.uint8)
    np.savez(tmp_path / "foreign.npz", **{serialization.STRUCTURE_ENTRY: structure})
    with pytest.raises(mg.CheckpointError, match="not in mg.save's format"):
        load(tmp_path / "foreign.npz")
    structure = np.frombuffer(b'{"format": "minigrad.save", "version": 99, "root": null}', dtype=np.uint8)
    np.savez(tmp_path / "future.npz", **{serialization.STRUCTURE_ENTRY: structure})
    with pytest.raises(mg.CheckpointError, match="format version 99"):
        load(tmp_path / "future.npz")
    structure = np.frombuffer(b'{"format": "minigrad.save", "version": 1, "root": {"kind": "?"}}', dtype=np.uint8)
    np.savez(tmp_path / "odd.npz", **{serialization.STRUCTURE_ENTRY: structure})
    with pytest.raises(mg.CheckpointError, match="damaged.*unknown node kind"):
        load(tmp_path / "odd.npz")


def test_generator_state_with_128_bit_integers_round_trips(tmp_path):
    # What a resumable checkpoint stores for the random generator (mg.get_rng_state is this dict).
    generator = np.random.default_rng(7)
    state = generator.bit_generator.state
    assert state["state"]["state"] > 2**64
    loaded = round_trip({"rng": state}, tmp_path)["rng"]
    assert_same(loaded, state)
    restored = np.random.Generator(np.random.PCG64())
    restored.bit_generator.state = loaded
    np.testing.assert_array_equal(restored.random(5), generator.random(5))
