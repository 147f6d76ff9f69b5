"""Optimizer: parameter groups, per-parameter state, and the bookkeeping every optimizer shares.

A subclass gives its hyperparameters (``defaults``), checks them (``check_group``), names its
array-valued state (``state_buffers``) and updates one parameter (``update``: one fused kernel
call through minigrad.backend). This class does the rest, as ``torch.optim.Optimizer`` does:
groups, ``step()``, ``zero_grad()``, ``state_dict()`` / ``load_state_dict()``, and TensorFlow's
``apply_gradients(zip(grads, params))``.

``param_groups`` is a list of dicts holding ``"params"`` and every hyperparameter; ``state`` maps a
parameter to a dict of its ``"step"`` count and state arrays (shaped like the parameter, allocated
at its first update). ``iterations`` counts updates (TensorFlow's name): ``step()`` and
``apply_gradients()`` add one each.
"""
import math
import numbers

import numpy as np

from .. import backend
from ..autograd import enable_grad, no_grad
from ..tensor import Tensor
from .lr_scheduler import LearningRateSchedule


class Optimizer:
    state_buffers = ()  # names of the array-valued entries of a parameter's state

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        self.iterations = 0
        self.lr_schedule = None
        if isinstance(self.defaults.get("lr"), LearningRateSchedule):
            # TensorFlow's lr=schedule: the optimizer owns it, and every update moves it on.
            self.lr_schedule = self.defaults["lr"]
            self.defaults["lr"] = self.lr_schedule(0)
        self.check_group(self.defaults)
        if isinstance(params, (Tensor, dict, set, frozenset)) or not hasattr(params, "__iter__"):
            raise TypeError(f"{self.name}: params must be an ordered iterable of tensors or of dicts (parameter "
                            f"groups), got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError(f"{self.name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        if self.lr_schedule is not None:
            self.lr_schedule.attach(self, follow_iterations=True)

    @property
    def name(self):
        return type(self).__name__

    # --- what a subclass provides ----------------------------------------------------------------

    def check_group(self, group):
        """Raise a clear error for a bad hyperparameter of ``group`` (and normalise, e.g. betas to a tuple)."""

    def update(self, param, flat_param, flat_grad, state, group):
        """Update ``flat_param`` (a flat view of ``param.data``) in place; ``state`` is the parameter's dict."""
        raise NotImplementedError

    def buffer(self, state, name, param, fill=0.0):
        """The flat view of state array ``name``, allocated (shaped like ``param``) on first use."""
        array = state.get(name)
        if array is None:
            array = state[name] = backend.full(param.shape, fill, param.dtype, param.device)
        elif backend.device_of(array) != param.device:
            array = state[name] = backend.to_device(array, param.device)  # the model moved since the last step
        return array.reshape(-1)

    # --- groups ----------------------------------------------------------------------------------

    def add_param_group(self, param_group):
        """Add a dict with ``"params"`` and any hyperparameters that differ from the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{self.name}: a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{self.name}: a parameter group needs a 'params' entry, got keys {sorted(param_group)}")
        index = len(self.param_groups)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{self.name}: parameters must be given in an ordered collection, not a set, "
                            "so that state_dict() indices are stable")
        params = list(params)
        if not params:
            raise ValueError(f"{self.name}: param group {index} has no parameters")
        seen = {id(param) for group in self.param_groups for param in group["params"]}
        for position, param in enumerate(params):
            self._check_parameter(param, index, position, seen)
            seen.add(id(param))
        if self.lr_schedule is not None and "lr" in param_group:
            raise ValueError(f"{self.name}: lr is a schedule ({type(self.lr_schedule).__name__}), which sets the lr "
                             f"of every group; param group {index} gives its own lr. Use a number for lr and a "
                             "scheduler from minigrad.optim.lr_scheduler for per-group rates")
        group = {**self.defaults, **{key: value for key, value in param_group.items() if key != "params"}}
        if self.lr_schedule is not None:
            group["lr"] = self.lr_schedule(self.iterations)
        try:
            self.check_group(group)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{error} (param group {index})") from None
        group["params"] = params
        self.param_groups.append(group)

    def _check_parameter(self, param, index, position, seen):
        where = f"param group {index}, parameter {position}"
        if not isinstance(param, Tensor):
            raise TypeError(f"{self.name}: can only optimize tensors, got {type(param).__name__} ({where})")
        if param.dtype.kind != "f":
            raise TypeError(f"{self.name}: can only optimize floating point tensors, got {param.dtype} ({where})")
        if not param.is_leaf:
            raise ValueError(f"{self.name}: can't optimize a non-leaf tensor (one computed by an op); "
                             f"optimize the leaf it came from ({where})")
        if id(param) in seen:
            raise ValueError(f"{self.name}: a parameter of shape {param.shape} is given twice ({where}); "
                             "each parameter may appear once, in one group")

    # --- updating --------------------------------------------------------------------------------

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` (optional) recomputes and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is not None:
                        self._update_parameter(param, param.grad.data, group)
        self._finish_iteration()
        return loss

    def apply_gradients(self, grads_and_vars):
        """TensorFlow's update: ``opt.apply_gradients(zip(grads, params))``, for just those parameters.

        Gradients are tensors or arrays shaped like their parameter; a None gradient skips its
        parameter. They are used as given: ``.grad`` is neither read nor written. Everything is
        checked before any parameter changes.
        """
        group_of = {id(param): group for group in self.param_groups for param in group["params"]}
        updates, seen = [], set()
        for index, pair in enumerate(grads_and_vars):
            try:
                grad, param = pair
            except (TypeError, ValueError):
                raise TypeError(f"{self.name}.apply_gradients: expected (gradient, parameter) pairs, got "
                                f"{type(pair).__name__} at position {index}") from None
            if not isinstance(param, Tensor) or id(param) not in group_of:
                raise ValueError(f"{self.name}.apply_gradients: the parameter at position {index} "
                                 f"({type(param).__name__} of shape {np.shape(param)}) is not one of this "
                                 "optimizer's parameters")
            if id(param) in seen:
                raise ValueError(f"{self.name}.apply_gradients: the parameter at position {index} "
                                 "appears twice")
            seen.add(id(param))
            if grad is None:
                continue
            grad = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
            if grad.shape != param.shape:
                raise ValueError(f"{self.name}.apply_gradients: gradient of shape {grad.shape} for a parameter of "
                                 f"shape {param.shape} (position {index})")
            updates.append((param, grad, group_of[id(param)]))
        with no_grad():
            for param, grad, group in updates:
                self._update_parameter(param, grad, group)
        self._finish_iteration()

    def _update_parameter(self, param, grad, group):
        data = param.data
        if not data.flags.writeable:
            raise ValueError(f"{self.name}: a parameter of shape {param.shape} is read-only and cannot be updated")
        if grad.shape != data.shape:
            raise ValueError(f"{self.name}: gradient of shape {grad.shape} for a parameter of shape {data.shape}")
        if backend.device_of(grad) != param.device:
            raise RuntimeError(f"{self.name}: a gradient on {backend.device_of(grad)} for a parameter of shape "
                               f"{param.shape} on {param.device}; expected both on one device")
        if grad.dtype != data.dtype:
            grad = grad.astype(data.dtype)
        # A contiguous parameter is updated through a flat view; any other through a copy written back.
        contiguous = data.flags.c_contiguous
        flat_param = data.reshape(-1) if contiguous else backend.contiguous(data).reshape(-1)
        state = self.state.get(param)
        if state is None:
            state = self.state[param] = {}
        self.update(param, flat_param, backend.contiguous(grad).reshape(-1), state, group)
        if not contiguous:
            data[...] = flat_param.reshape(data.shape)
        param._version_counter.value += 1

    def _finish_iteration(self):
        self.iterations += 1
        if self.lr_schedule is not None:
            self.lr_schedule.step()

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (``set_to_none``) or fill it with zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    with no_grad():
                        param.grad.zero_()

    # --- saving and restoring --------------------------------------------------------------------

    def state_dict(self):
        """PyTorch's layout, with copies: {"state": {index: {...}}, "param_groups": [{..., "params": [index]}]}.

        Parameters are numbered in group order. Also ``"iterations"``, the update count.
        """
        index_of, groups = {}, []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = []
            for param in group["params"]:
                index_of[id(param)] = len(index_of)
                packed["params"].append(index_of[id(param)])
            groups.append(packed)
        state = {
            index_of[id(param)]: {key: backend.to_host(value) if hasattr(value, "dtype") else value
                                  for key, value in entry.items()}
            for param, entry in self.state.items()
        }
        return {"state": state, "param_groups": groups, "iterations": self.iterations}

    def load_state_dict(self, state_dict):
        """Restore a ``state_dict()``: groups must match in number and size; arrays are copied in."""
        for key in ("state", "param_groups"):
            if not isinstance(state_dict, dict) or key not in state_dict:
                raise ValueError(f"{self.name}.load_state_dict: expected a dict with 'state' and 'param_groups', "
                                 f"got {type(state_dict).__name__}"
                                 + (f" with keys {sorted(map(str, state_dict))}" if isinstance(state_dict, dict) else ""))
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{self.name}.load_state_dict: the state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        param_of, new_groups = {}, []
        for index, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            saved_params = list(saved["params"])
            if len(saved_params) != len(group["params"]):
                raise ValueError(f"{self.name}.load_state_dict: param group {index} has {len(saved_params)} "
                                 f"parameters in the state dict and {len(group['params'])} in this optimizer")
            param_of.update((int(saved_index), param) for saved_index, param in zip(saved_params, group["params"]))
            new_group = {key: value for key, value in {**group, **saved}.items() if key != "params"}
            try:
                self.check_group(new_group)
            except (TypeError, ValueError) as error:
                raise type(error)(f"{self.name}.load_state_dict: {error} (param group {index})") from None
            new_group["params"] = group["params"]
            new_groups.append(new_group)
        new_state = {}
        for saved_index, entry in state_dict["state"].items():
            param = param_of.get(int(saved_index))
            if param is None:
                raise ValueError(f"{self.name}.load_state_dict: state for parameter {saved_index}, which no "
                                 "parameter group lists")
            new_state[param] = {name: self._loaded_value(name, value, param, saved_index)
                                for name, value in entry.items()}
        self.param_groups[:] = new_groups
        self.state = new_state
        self.iterations = int(state_dict.get("iterations", 0))
        if self.lr_schedule is not None:
            self.lr_schedule.step()  # follows self.iterations

    def _loaded_value(self, name, value, param, index):
        if name == "step":
            return int(np.asarray(value).item())
        if name not in self.state_buffers:
            return value
        array = backend.to_host(value) if hasattr(value, "dtype") else np.asarray(value)
        if array.size != param.data.size:  # Tensor.size is PyTorch's method; the array's is the count
            raise ValueError(f"{self.name}.load_state_dict: state '{name}' of parameter {index} has shape "
                             f"{array.shape}, the parameter has shape {param.shape}")
        # A fresh contiguous copy in the parameter's dtype: the kernels update it in place.
        array = np.array(array, dtype=param.dtype, order="C").reshape(param.shape)
        return backend.to_device(array, param.device)

    def __repr__(self):
        lines = [f"{self.name} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines.extend(f"    {key}: {value}" for key, value in sorted(group.items()) if key != "params")
        return "\n".join(lines) + "\n)"


# --- argument checks shared by the optimizers -----------------------------------------------------

def check_number(owner, name, value, low=0, high=None, high_included=False):
    """A finite real ``low <= value`` (``< high`` or ``<= high``), or an error naming the optimizer and value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} {value!r}")
    too_high = high is not None and (value > high if high_included else value >= high)
    if not math.isfinite(value) or value < low or too_high:
        upper = "" if high is None else f" and {'<=' if high_included else '<'} {high}"
        raise ValueError(f"{owner}: {name} must be >= {low}{upper}, got {value!r}")


def check_flag(owner, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")


def check_betas(owner, group):
    """``group["betas"]`` a pair of numbers in [0, 1), stored back as a tuple of floats (a list from a file)."""
    betas = group["betas"]
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    for index, beta in enumerate(betas):
        if not isinstance(beta, numbers.Real):  # NumPy scalars from a loaded state dict become floats
            check_number(owner, f"betas[{index}]", beta)
        check_number(owner, f"betas[{index}]", float(beta), high=1)
    group["betas"] = (float(betas[0]), float(betas[1]))
