"""Containers of modules, as torch.nn's: Sequential (applied in order), ModuleList, ModuleDict.

Their children are registered like any attribute, so parameters(), state_dict(), to() and repr see
them; ModuleList and Sequential name theirs "0", "1", ... (state_dict keys "0.weight", "3.bias").
"""
import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .checks import describe
from .module import Module, indent


def _check_module(owner, method, value):
    if not isinstance(value, Module):
        raise TypeError(f"{owner}.{method}: expected a Module, got {describe(value)}")
    return value


def _absolute_index(owner, index, length):
    """``index`` (an int, possibly negative) as a position in 0..length-1, or IndexError naming ``owner``."""
    try:
        index = operator.index(index)
    except TypeError:
        raise TypeError(f"{owner} indices must be integers or slices, not {type(index).__name__}") from None
    if not -length <= index < length:
        raise IndexError(f"{owner}: index {index} is out of range for {length} modules")
    return index % length if length else index


class _Numbered(Module):
    """What Sequential and ModuleList share: children in order, indexed by position."""

    def _renumber(self, modules):
        """Make ``modules`` (in order) the children, named "0", "1", ...; torch renumbers after a delete."""
        for name in list(self._modules):
            delattr(self, name)
        for position, module in enumerate(modules):
            self._store("_modules", str(position), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._from_items(list(self._modules.items())[index])
        position = _absolute_index(type(self).__name__, index, len(self))
        return list(self._modules.values())[position]

    def __setitem__(self, index, module):
        position = _absolute_index(type(self).__name__, index, len(self))
        setattr(self, list(self._modules)[position], _check_module(type(self).__name__, "__setitem__", module))

    def __delitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_absolute_index(type(self).__name__, index, len(self))]
        self._renumber(modules)

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _check_module(type(self).__name__, "append", module))
        return self

    def extend(self, modules):
        """Append each module of the iterable ``modules``; returns self."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"{type(self).__name__}.extend should be called with an iterable, but got "
                            f"{describe(modules)}")
        for module in list(modules):  # a copy: extending a container with itself
            self.append(module)
        return self

    def _insert(self, index, module):
        """Put ``module`` before position ``index`` (-len..len, as torch's Sequential) and renumber."""
        modules = list(self._modules.values())
        if not -len(modules) <= operator.index(index) <= len(modules):
            raise IndexError(f"{type(self).__name__}.insert: index {index} is out of range for {len(modules)} modules")
        modules.insert(index, _check_module(type(self).__name__, "insert", module))
        self._renumber(modules)

    def pop(self, index=-1):
        module = self[index]
        del self[index]
        return module

    def __iadd__(self, modules):
        return self.extend(modules)


class Sequential(_Numbered):
    """Sequential(m0, m1, ...): forward(x) = ...m1(m0(x)). Children are named "0", "1", ... as in PyTorch,
    or by the keys of one OrderedDict argument: Sequential(OrderedDict(conv=..., relu=...))."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, _check_module("Sequential", "__init__", module))
        else:
            for module in modules:
                self.append(module)

    @classmethod
    def _from_items(cls, items):
        return cls(OrderedDict(items))

    def insert(self, index, module):
        """Put ``module`` before position ``index`` and renumber; returns self."""
        self._insert(index, module)
        return self

    @property
    def tensor_input(self):
        """Whatever its first module takes: refuse a non-Tensor at the Sequential if that module would."""
        first = next(iter(self._modules.values()), None)
        return first is not None and first.tensor_input

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __add__(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential: add operator supports only objects of Sequential class, but "
                             f"{describe(other)} is given.")
        return Sequential(*self, *other)

    def __mul__(self, count):
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            raise ValueError(f"Sequential: non-positive multiplication factor {count!r} for Sequential")
        return Sequential(*(list(self) * count))  # the same module objects, repeated, as torch

    __rmul__ = __mul__


class ModuleList(_Numbered):
    """A list of modules, registered as children "0", "1", ...: ModuleList([m0, m1]); no forward()."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @classmethod
    def _from_items(cls, items):
        return cls([module for _, module in items])

    def insert(self, index, module):
        """Put ``module`` before position ``index`` and renumber (returns None, as torch's)."""
        self._insert(index, module)

    def __add__(self, other):
        return ModuleList([*self, *other])

    def __repr__(self):
        """torch's ModuleList repr: runs of identical children shown once, as "(0-2): 3 x Linear(...)"."""
        reprs = [repr(module) for module in self]
        if not reprs:
            return self._get_name() + "()"
        runs = []  # [first index, last index, repr]
        for position, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = position
            else:
                runs.append([position, position, text])
        lines = []
        for first, last, text in runs:
            label = f"({first}): {text}" if first == last else f"({first}-{last}): {last - first + 1} x {text}"
            lines.append(indent(label, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules, registered as children under their keys (insertion order kept); no forward()."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        try:
            return self._modules[key]
        except KeyError:
            raise KeyError(f"ModuleDict has no module {key!r} (keys: {list(self._modules)})") from None

    def __setitem__(self, key, module):
        self.add_module(key, _check_module("ModuleDict", "__setitem__", module))

    def __delitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no module {key!r} (keys: {list(self._modules)})")
        delattr(self, key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        for key in list(self._modules):
            delattr(self, key)

    def pop(self, key):
        module = self[key]
        del self[key]
        return module

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        """Add (or replace) modules from a mapping, or from an iterable of (key, module) pairs."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleDict.update should be called with an iterable of key/value pairs, but got "
                            f"{describe(modules)}")
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        for position, pair in enumerate(modules):
            if not isinstance(pair, Iterable):
                raise TypeError(f"ModuleDict update sequence element #{position} should be Iterable; is "
                                f"{describe(pair)}")
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(f"ModuleDict update sequence element #{position} has length {len(pair)}; "
                                 "2 is required")
            self[pair[0]] = pair[1]
