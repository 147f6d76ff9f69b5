"""save / load of state dicts and other nested structures, as a pickle-free .npz written atomically.

    mg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}, "checkpoint.npz")
    checkpoint = mg.load("checkpoint.npz")

Each array is one .npy entry of the archive; the structure around them (dicts with their key order and
key types, lists vs tuples, arrays vs Tensors, NumPy scalars, Python scalars) is one JSON document stored
as a uint8 entry. Nothing is pickled, so ``np.load(path, allow_pickle=False)`` reads any file written here
and loading a file never runs code.

``load`` raises FileNotFoundError for a missing file and CheckpointError (a ValueError) for a file it
cannot read as one written by ``save``: not an .npz archive, a plain .npz from ``np.savez``, another format
version, a damaged archive.
"""
import json
import os
import zipfile
from collections import OrderedDict

import numpy as np

from .atomic_file import atomic_write
from .creation import from_numpy
from .tensor import Tensor

STRUCTURE_ENTRY = "minigrad_structure"
FORMAT_NAME = "minigrad.save"
FORMAT_VERSION = 1
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an archive's first entry; an empty archive's directory


class CheckpointError(ValueError):
    """``mg.load`` was given a file that is not one written by ``mg.save``, or a damaged one.

    The message says what the file is and what was expected. A ValueError, so ``except ValueError``
    catches it too; also available as ``mg.CheckpointError``.
    """


def save(obj, path):
    """Write ``obj`` to exactly ``path`` (no suffix is added), atomically.

    ``obj`` is a nesting of dict / OrderedDict (str or int keys, order kept), list, tuple, NumPy arrays,
    minigrad Tensors (stored as their values; they load with requires_grad False), NumPy scalars and
    Python int, float, bool, str and None (inf and nan included). Other dict subclasses load as dict,
    list and tuple subclasses as list and tuple; an object met twice is stored once and loads as one
    object. Anything else raises TypeError naming where it sits in ``obj``. The file is written to a temporary file in the same directory, synced, then renamed onto
    ``path``: a crash or an error leaves the previous file at ``path`` intact and no temporary file behind.
    """
    path = os.fspath(path)
    entries = {}
    structure = _encode(obj, entries, {}, set(), "")
    document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": structure}
    entries[STRUCTURE_ENTRY] = np.frombuffer(json.dumps(document).encode("utf-8"), dtype=np.uint8)
    with atomic_write(path, durable=True) as file:
        # A file object, not a name: np.savez would append ".npz" to a name that lacks it.
        np.savez(file, allow_pickle=False, **entries)


def load(path):
    """Read a file written by ``save``: the same nesting, with arrays as arrays and Tensors as Tensors.

    Raises FileNotFoundError if ``path`` does not exist and CheckpointError (a ValueError) if it is not a
    file written by ``save`` or is damaged.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        if file.read(4) not in _ZIP_MAGICS:
            raise CheckpointError(f"load: {path} is not a file written by mg.save (it is not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return _decode(_read_structure(archive, path), archive, {})
    except CheckpointError:
        raise  # load's own diagnosis, as is
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as error:
        # A cut or damaged archive fails inside zipfile, numpy's .npy reader or json, each in its own way.
        raise CheckpointError(
            f"load: {path} is damaged or not written by mg.save ({type(error).__name__}: {error})"
        ) from None


def _read_structure(archive, path):
    if STRUCTURE_ENTRY not in archive.files:
        names = ", ".join(repr(name.removesuffix(".npy")) for name in archive.files[:5])
        more = f" and {len(archive.files) - 5} more" if len(archive.files) > 5 else ""
        holding = f"arrays {names}{more}" if archive.files else "no arrays"
        raise CheckpointError(
            f"load: {path} is a plain .npz archive ({holding}), not one written by mg.save, which always holds "
            f"a {STRUCTURE_ENTRY!r} entry; read it with np.load({path!r})"
        )
    document = json.loads(archive[STRUCTURE_ENTRY].tobytes().decode("utf-8"))
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise CheckpointError(f"load: {path}: its structure entry is not in mg.save's format")
    if document.get("version") != FORMAT_VERSION:
        raise CheckpointError(
            f"load: {path}: format version {document.get('version')!r}, this minigrad reads version {FORMAT_VERSION}"
        )
    return document["root"]


# --- encoding: Python objects -> JSON-able structure + array entries ------------------------------------


def _encode(value, entries, memo, containers, where):
    """The JSON form of ``value``; its arrays go into ``entries``. ``where`` is its key path, for errors.

    JSON null/bool/int/float/str stand for themselves; every JSON object is a tagged node ({"kind": ...}),
    so user data never collides with the tags.
    """
    if isinstance(value, Tensor):
        return _array_node("tensor", value, value.detach().cpu().data, entries, memo, where)
    if isinstance(value, np.ndarray):
        return _array_node("array", value, value, entries, memo, where)
    if isinstance(value, np.generic):  # before float: np.float64 is a subclass of float
        return _array_node("scalar", value, np.asarray(value), entries, memo, where)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dict, list, tuple)):
        if id(value) in containers:
            raise ValueError(f"save: the structure contains itself at {where or 'the top level'}")
        containers.add(id(value))
        node = _encode_container(value, entries, memo, containers, where)
        containers.discard(id(value))
        return node
    raise TypeError(f"save: cannot store value of type {type(value).__name__} at {where or 'the top level'}")


def _encode_container(value, entries, memo, containers, where):
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if isinstance(key, np.integer):
                key = int(key)
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(
                    f"save: cannot store a dict key of type {type(key).__name__} ({key!r}) at "
                    f"{where or 'the top level'}; keys must be str or int"
                )
            items.append([key, _encode(item, entries, memo, containers, f"{where}[{key!r}]")])
        return {"kind": "ordered_dict" if isinstance(value, OrderedDict) else "dict", "items": items}
    kind = "tuple" if isinstance(value, tuple) else "list"
    items = [_encode(item, entries, memo, containers, f"{where}[{index}]") for index, item in enumerate(value)]
    return {"kind": kind, "items": items}


def _array_node(kind, value, array, entries, memo, where):
    """A reference to an array entry; the same object saved twice is stored once and loads as one object."""
    if array.dtype.hasobject:
        raise TypeError(
            f"save: cannot store an array of dtype {array.dtype} at {where or 'the top level'}: "
            "object arrays would need pickle"
        )
    if id(value) not in memo:
        entry = f"array_{len(memo)}"
        entries[entry] = array
        memo[id(value)] = (entry, value)  # keeping value alive keeps its id unique while saving
    return {"kind": kind, "entry": memo[id(value)][0]}


# --- decoding ----------------------------------------------------------------------------------------------


def _decode(node, archive, loaded):
    if not isinstance(node, dict):
        return node
    kind = node["kind"]
    if kind in ("dict", "ordered_dict"):
        mapping = OrderedDict() if kind == "ordered_dict" else {}
        for key, item in node["items"]:
            mapping[key] = _decode(item, archive, loaded)
        return mapping
    if kind in ("list", "tuple"):
        items = [_decode(item, archive, loaded) for item in node["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind in ("array", "tensor", "scalar"):
        key = (kind, node["entry"])
        if key not in loaded:
            loaded[key] = _rebuild(kind, archive[node["entry"]])
        return loaded[key]
    raise KeyError(f"unknown node kind {kind!r}")


def _rebuild(kind, array):
    if kind == "tensor":
        return from_numpy(array)  # shares the freshly read array; a new leaf with requires_grad False
    return array[()] if kind == "scalar" else array  # array[()] of a 0-d array is a NumPy scalar
