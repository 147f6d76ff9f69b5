"""Module: a model or layer that owns Parameters, buffers and sub-Modules, as torch.nn.Module does.

Assigning a Parameter or a Module to an attribute registers it (``self.weight = Parameter(...)``),
``register_buffer`` registers a tensor that is state but not a parameter (a running mean), so
``parameters()``, ``state_dict()`` and ``to()`` find everything without being told. ``forward`` holds
the computation; calling the module calls it.

Each registered value lives twice: in its registry (``_parameters``, ``_buffers``, ``_modules``, in
registration order) and as a plain instance attribute, so ``self.weight`` is an ordinary attribute read
(mg.func.functional_call swaps that attribute alone). Every write goes through ``_store``.
"""
import inspect
from collections import OrderedDict

from ..tensor import Tensor
from . import module_state
from .checks import describe, is_array, not_a_tensor
from .parameter import Parameter


class Module:
    # What __call__ checks before forward() runs, so a wrong input fails naming this module and saying
    # how to fix it rather than deep inside an op. A raw array (NumPy or CUDA) as a positional argument
    # is refused, as torch refuses one (minigrad's ops take Tensors), except at the positions listed in
    # array_arguments (a loss's target, which the loss functions accept as an array). With tensor_input
    # the first argument must be a Tensor whatever else it is: minigrad's own layers set it; a user's
    # forward() may well take lists or numbers, so Module leaves it off.
    array_arguments = ()
    tensor_input = False

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *inputs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *inputs, **keywords):
        for position, value in enumerate(inputs):
            if is_array(value) and position not in self.array_arguments:
                raise not_a_tensor(type(self).__name__, self._argument_label(position), value)
        if self.tensor_input and inputs and not isinstance(inputs[0], Tensor):
            raise not_a_tensor(type(self).__name__, "input", inputs[0])
        return self.forward(*inputs, **keywords)

    def _argument_label(self, position):
        """How an error names forward()'s positional argument ``position``: "input", "argument 2 (mask)"."""
        if position == 0:
            return "input"
        try:
            parameters = inspect.signature(self.forward).parameters.values()
        except (TypeError, ValueError):
            parameters = ()
        names = [parameter.name for parameter in parameters if parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        return f"argument {position + 1}" + (f" ({names[position]})" if position < len(names) else "")

    # --- registration -------------------------------------------------------------------------------

    def __setattr__(self, name, value):
        state = self.__dict__
        if isinstance(value, Parameter):
            self._require_init(name)
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif "_parameters" in state and name in state["_parameters"]:
            self._store("_parameters", name, self._none_or("parameter", name, value, Parameter, "nn.Parameter"))
        elif isinstance(value, Module):
            self._require_init(name)
            self._forget(name, keep="_modules")
            self._store("_modules", name, value)
        elif "_modules" in state and name in state["_modules"]:
            self._store("_modules", name, self._none_or("child module", name, value, Module, "nn.Module"))
        elif "_buffers" in state and name in state["_buffers"]:
            self._store("_buffers", name, self._none_or("buffer", name, value, Tensor, "Tensor"))
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self.__dict__.get("_non_persistent_buffers_set", set()).discard(name)
        for registry in ("_parameters", "_buffers", "_modules"):
            self.__dict__.get(registry, {}).pop(name, None)
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Add ``param`` (a Parameter, or None for an empty slot such as ``bias=False``) as ``name``."""
        self._check_new_name("register_parameter", "parameter", name, "_parameters")
        self._store("_parameters", name, self._none_or("parameter", name, param, Parameter, "nn.Parameter"))

    def register_buffer(self, name, tensor, persistent=True):
        """Add ``tensor`` (or None) as ``name``: state that is not a parameter. Moved and cast by ``to()``,
        saved by ``state_dict()`` unless ``persistent=False``."""
        self._check_new_name("register_buffer", "buffer", name, "_buffers")
        self._store("_buffers", name, self._none_or("buffer", name, tensor, Tensor, "Tensor"))
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add ``module`` (or None) as the child ``name``; ``register_module`` is the same."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {describe(module)} is not a Module subclass")
        self._check_new_name("add_module", "module", name, "_modules")
        self._store("_modules", name, module)

    register_module = add_module

    def _store(self, registry, name, value):
        self.__dict__[registry][name] = value
        object.__setattr__(self, name, value)

    def _forget(self, name, keep):
        """Drop ``name`` from the instance and every registry but ``keep`` (where a name reassigned keeps its
        place, as in torch: a replaced layer stays where it was in repr and state_dict)."""
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        self.__dict__.pop(name, None)

    def _require_init(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() was called: call super().__init__() first "
                f"in {type(self).__name__}.__init__"
            )

    def _check_new_name(self, method, kind, name, registry):
        self._require_init(name)
        owner = f"{type(self).__name__}.{method}"
        if not isinstance(name, str):
            raise TypeError(f"{owner}: {kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f"{owner}: {kind} name can't contain \".\", got: {name}")
        if name == "":
            raise KeyError(f"{owner}: {kind} name can't be empty string \"\"")
        if hasattr(self, name) and name not in self.__dict__[registry]:
            raise KeyError(f"{owner}: attribute '{name}' already exists")

    def _none_or(self, kind, name, value, expected, expected_name):
        if value is not None and not isinstance(value, expected):
            raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} as {kind} '{name}' "
                            f"({expected_name} or None expected)")
        return value

    # --- what the module holds ----------------------------------------------------------------------

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """This module and every module below it, depth first, with dotted names (each once, unless
        ``remove_duplicate=False``)."""
        memo = set() if memo is None else memo
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        seen = set()  # by id: == on tensors is elementwise
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, member in module.__dict__[registry].items():
                if member is None or id(member) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(member))
                yield (f"{module_prefix}.{name}" if module_prefix else name), member

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, parameter) pairs, each parameter once even if shared by several modules."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, buffer) pairs, persistent or not."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target):
        """The module at dotted path ``target`` ("" is this module)."""
        if target == "":
            return self
        module = self
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def get_parameter(self, target):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        if not isinstance(getattr(module, name), Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return getattr(module, name)

    def get_buffer(self, target):
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(module, name)

    def apply(self, fn):
        """Call ``fn`` on every submodule (children first, then this module); returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # --- modes and gradients ------------------------------------------------------------------------

    def train(self, mode=True):
        """Set training mode here and in every child (each child's own train() runs); returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"{type(self).__name__}.train: training mode is expected to be boolean, got {mode!r}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for parameter in self.parameters():
            parameter.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient (``set_to_none=False``: zero it in place, detached)."""
        for parameter in self.parameters():
            module_state.clear_grad(parameter, set_to_none)

    # --- device and dtype ---------------------------------------------------------------------------

    def to(self, *args, **kwargs):
        """Move and/or cast every parameter and buffer in place; returns self.

        ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` (its device and dtype), as
        torch: a dtype casts floating-point parameters and buffers only. The Parameter objects stay the
        same (their ``.data`` and ``.grad`` change), so an optimizer built before keeps working.
        """
        device, dtype = module_state.parse_to(type(self).__name__, args, kwargs)
        module_state.convert(self, device, dtype)
        return self

    def cuda(self, device=None):
        """``self.to("cuda")``, as PyTorch's Module.cuda()."""
        return self.to("cuda" if device is None else device)

    def cpu(self):
        """``self.to("cpu")``, as PyTorch's Module.cpu()."""
        return self.to("cpu")

    def float(self):
        """Floating-point parameters and buffers to float32."""
        return self.to("float32")

    def double(self):
        """Floating-point parameters and buffers to float64."""
        return self.to("float64")

    # --- state ----------------------------------------------------------------------------------------

    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """An ordered {dotted name: value} of every parameter and persistent buffer, as torch orders it
        (a module's parameters, its buffers, then each child's). Values are NumPy copies on the host,
        whatever the device; ``keep_vars=True`` gives the tensors themselves."""
        return module_state.state_dict(self, destination, prefix, keep_vars)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy the values of ``state_dict`` into the parameters and buffers of the same names.

        Returns ``(missing_keys, unexpected_keys)``. Raises RuntimeError listing every problem: with
        ``strict``, missing and unexpected keys; always, shape mismatches and values that are not
        arrays. Nothing is written unless every key passes.
        """
        return module_state.load_state_dict(self, state_dict, strict, assign)

    # --- printing -----------------------------------------------------------------------------------

    def extra_repr(self):
        """This module's own settings, one line, for repr (a layer overrides it)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        """PyTorch's tree: ``Name(extra_repr)`` or ``Name(\\n  extra lines\\n  (child): repr\\n)``."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + indent(repr(module), 2) for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if len(extra_lines) == 1 and not child_lines:
            text += extra_lines[0]
        elif lines:
            text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"


def indent(text, spaces):
    """Every line of ``text`` but the first indented by ``spaces`` (torch's _addindent)."""
    return text.replace("\n", "\n" + " " * spaces)
