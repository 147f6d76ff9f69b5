"""Module: a model or layer that owns Parameters and sub-Modules, as torch.nn.Module does.

Assigning a Parameter or a Module to an attribute registers it (``self.weight = Parameter(...)``),
so ``parameters()`` and ``state_dict()`` find everything without being told. ``forward`` holds the
computation; calling the module calls it.
"""
import inspect
from collections import OrderedDict

import numpy as np

from .. import autograd, backend
from ..tensor import Tensor
from .checks import is_array, not_a_tensor
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
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

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

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() was called: call super().__init__() first "
                f"in {type(self).__name__}.__init__"
            )
        parameters, modules = self.__dict__["_parameters"], self.__dict__["_modules"]
        if isinstance(value, Parameter):
            modules.pop(name, None)
            parameters[name] = value
        elif isinstance(value, Module):
            parameters.pop(name, None)
            modules[name] = value
        elif name in parameters or name in modules:
            # A registered slot takes its own kind or None (e.g. a layer built with bias=False).
            registry, kind = (parameters, "Parameter") if name in parameters else (modules, "Module")
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to {name!r}: a {kind} or None is expected")
            registry[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    # --- what the module holds ----------------------------------------------------------------------

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, parameter) pairs, each parameter once even if shared by several modules."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, parameter in module._parameters.items():
                if parameter is not None and id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield (f"{module_prefix}.{name}" if module_prefix else name), parameter

    def parameters(self, recurse=True):
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_children(self):
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix=""):
        """This module and every module below it, depth first, with dotted names."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    # --- modes and gradients ------------------------------------------------------------------------

    def train(self, mode=True):
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        for parameter in self.parameters():
            parameter.grad = None

    def to(self, device):
        """Move every parameter (and its gradient) to ``device`` ("cpu" or "cuda") in place.

        In place, as in PyTorch: the Parameter objects stay the same, so an optimizer built before
        the move keeps working (its state buffers follow the parameters on their next step).
        """
        device = backend.check_device(device)
        for parameter in self.parameters():
            parameter.data, parameter.device = backend.to_device(parameter.data, device), device
            if parameter.grad is not None:
                parameter._grad = parameter.grad.detach().to(device)
        return self

    def cuda(self):
        """``self.to("cuda")``, as PyTorch's Module.cuda()."""
        return self.to("cuda")

    def cpu(self):
        """``self.to("cpu")``, as PyTorch's Module.cpu()."""
        return self.to("cpu")

    # --- state ----------------------------------------------------------------------------------------

    def state_dict(self):
        """An ordered {dotted name: NumPy array copy} of every parameter (host arrays, always)."""
        return OrderedDict((name, backend.to_host(parameter.data)) for name, parameter in self.named_parameters())

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into the parameters of the same names; clear errors for missing, unexpected or
        mis-shaped keys (with strict=False, missing and unexpected keys are skipped)."""
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        for name, parameter in own.items():
            if name in state_dict:
                value = state_dict[name]
                shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
                if shape != parameter.shape:
                    problems.append(f"{name}: saved shape {shape} does not match the parameter's {parameter.shape}")
        if problems:
            raise ValueError(f"load_state_dict of {type(self).__name__}: " + "; ".join(problems))
        with autograd.no_grad():
            for name, parameter in own.items():
                if name in state_dict:
                    value = state_dict[name]
                    value = value.data if isinstance(value, Tensor) else value
                    # onto the parameter's own device, whichever device the saved value is on
                    parameter.data[...] = backend.to_device(value, parameter.device) if hasattr(
                        value, "dtype") else value
                    parameter._version_counter.value += 1

    # --- printing -----------------------------------------------------------------------------------

    def extra_repr(self):
        return ""

    def __repr__(self):
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"
