"""Custom autograd Functions in PyTorch's form: static ``forward(ctx, ...)`` and ``backward(ctx, ...)``
on Tensors, ``Function.apply``, and the ``ctx`` that carries what forward saved to backward.

    class Square(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return 2 * x * grad_output

    y = Square.apply(x)

A Function subclass whose ``forward`` is a staticmethod is in this form (``Function.__init_subclass__``
gives it ``apply_pytorch_form`` below as its ``apply``); minigrad's own ops keep the instance form,
``forward(self, *arrays)`` on arrays. Both put a node on the same tape, and the engine does not tell
them apart: here the node is a ``CustomNode``, an instance-form op whose backward calls the user's.

As in PyTorch: forward runs under no_grad on the Tensors it is given; if grad mode is on and an
argument needs a gradient, one node is recorded for all the outputs. A plain backward runs the
user's backward under no_grad; ``create_graph=True`` runs it recorded, so a backward written in
Tensor ops can be differentiated again. Inside ``forward_ad.dual_level()`` the user's ``jvp(ctx,
*tangents)`` gives the outputs' tangents. The checks of what the user's code returns are in
custom_function_checks.py.
"""
import inspect
import weakref

from . import autograd, backend, forward_ad
from . import custom_function_checks as checks


class FunctionCtx:
    """The ``ctx`` that a custom Function's forward (or setup_context), backward and jvp share.

    ``needs_input_grad`` has one bool per argument of forward; anything else set on it
    (``ctx.scale = scale``) is the user's own.
    """

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self.to_save = ()  # what forward passed to save_for_backward, until apply files it on the node
        self.saved_for_forward = ()
        self.dirty_tensors = ()
        self.non_differentiable = ()
        self.materialize_grads = True
        self._node = None  # a weak reference to the recorded node: saved_tensors reads its records
        self._in_jvp = False

    def save_for_backward(self, *tensors):
        """Keep Tensors (or None) for backward; it reads them back, checked, as ``ctx.saved_tensors``."""
        self.to_save = checks.savable("save_for_backward", tensors)

    def save_for_forward(self, *tensors):
        """Keep Tensors (or None) for jvp, where ``ctx.saved_tensors`` returns them."""
        self.saved_for_forward = checks.savable("save_for_forward", tensors)

    @property
    def saved_tensors(self):
        """What forward saved, as Tensors; an error if one was modified in place since, or if backward
        already ran and freed them (without retain_graph=True)."""
        if self._in_jvp:
            return self.saved_for_forward
        node = self._node() if self._node is not None else None
        if node is None:  # not recorded (no input needs a gradient), or forward is still running
            return self.to_save
        if node.released:
            raise autograd._freed(node)
        node.check_saved_versions()
        return tuple(node.unpack(record) for record in node.records)

    def mark_dirty(self, *tensors):
        """Say that forward modified these inputs in place (and returns them): they are then outputs of this node."""
        self.dirty_tensors = tensors

    def mark_non_differentiable(self, *tensors):
        """These outputs get no gradient (indices, masks); backward still receives one for each (zeros)."""
        self.non_differentiable = tensors

    def set_materialize_grads(self, value):
        """False: backward receives None, not zeros, for an output that got no gradient."""
        self.materialize_grads = bool(value)


def apply_pytorch_form(cls, *args, **kwargs):
    """``Function.apply`` for a Function in PyTorch's form: its forward on Tensors, one node for its outputs."""
    from .tensor import Tensor

    setup_context = getattr(cls, "setup_context", None)
    if setup_context is not None:  # PyTorch's second form: forward(*args) without ctx, then setup_context
        args = _bound(cls, inspect.signature(cls.forward).bind(*args, **kwargs), defaults=True)
    elif kwargs:  # as PyTorch, keywords are bound to forward's parameters: each is an argument like the others
        args = _bound(cls, inspect.signature(cls.forward).bind(None, *args, **kwargs), defaults=False)[1:]
    needs_input_grad = tuple(isinstance(value, Tensor) and _needs_grad(value) for value in args)
    ctx = FunctionCtx(needs_input_grad)
    node = CustomNode(cls, ctx)
    dual_level = autograd._dual_level_active
    autograd._dual_level_active = False  # the tangents come from jvp: forward's own ops need none
    try:
        with autograd.no_grad():
            if setup_context is None:
                output = cls.forward(ctx, *args)
            else:
                output = cls.forward(*args)
                setup_context(ctx, args, output)
    finally:
        autograd._dual_level_active = dual_level
    outputs, single = checks.forward_outputs(cls.__name__, output)
    dirty = checks.dirty_inputs(cls.__name__, ctx.dirty_tensors, args, outputs)
    non_differentiable = {id(tensor) for tensor in ctx.non_differentiable}
    differentiable = [isinstance(value, Tensor) and value.dtype.kind == "f" and id(value) not in non_differentiable
                      for value in outputs]
    if autograd._grad_enabled and True in needs_input_grad and True in differentiable:
        node.record(args, outputs, differentiable, dirty, single)
    else:
        for tensor in dirty:
            tensor._version_counter.value += 1
        outputs = [_alias(value) if _needs_alias(value, args, dirty) else value for value in outputs]
    if dual_level:
        forward_ad.propagate_custom(cls, ctx, args, outputs, differentiable)
    if autograd._anomaly_mode is not None:
        from . import anomaly

        inputs = [value for value in args if isinstance(value, Tensor)]
        for value, checked in zip(outputs, differentiable):
            if checked:
                anomaly.check_forward(node, inputs, value.data, autograd._anomaly_mode)
    ctx.saved_for_forward = ()
    if ctx._node is None:
        ctx.to_save = ()  # nothing will run backward
    return outputs[0] if single else tuple(outputs)


def _bound(cls, arguments, defaults):
    """The arguments of forward by position (keyword-only parameters are refused, as PyTorch refuses them)."""
    if defaults:
        arguments.apply_defaults()
    if arguments.kwargs:
        raise TypeError(f"{cls.__name__}.apply: forward's keyword-only parameter {next(iter(arguments.kwargs))!r} "
                        "cannot be given; apply passes each argument to forward by position, as PyTorch's does")
    return arguments.args


def _needs_grad(tensor):
    return tensor._requires_grad or any(tape._watches(tensor) for tape in autograd._active_tapes)


def _needs_alias(value, args, dirty):
    """An output that is an argument returned as is (or a tensor of someone else's graph) becomes a new
    tensor on the same buffer, as in PyTorch, so the node never rewires a tensor it did not make."""
    from .tensor import Tensor

    if not isinstance(value, Tensor) or any(value is tensor for tensor in dirty):
        return False
    return any(value is argument for argument in args) or value.grad_fn is not None or value._requires_grad


def _alias(tensor, keep_graph=False):
    """A new tensor on ``tensor``'s buffer and version counter (with its place on the tape if ``keep_graph``)."""
    alias = tensor._wrap(tensor.data, tensor.device, tensor._version_counter)
    if keep_graph:
        alias.grad_fn, alias._requires_grad = tensor.grad_fn, tensor._requires_grad
    return alias


class CustomNode(autograd.Function):
    """The tape's node for one application of a custom Function in PyTorch's form.

    ``inputs`` are the Tensor arguments (``argument_inputs`` maps each argument of forward to its
    position there, None for a non-Tensor); with several outputs, run_backward hands backward an
    ``OutputGradients`` with one gradient per output, gathered through ``routed``. What forward
    saved is kept as ``records``: an input by position, an output by a weak reference plus its
    buffer (so a tensor's grad_fn does not hold the tensor), anything else as the Tensor itself.
    """

    def __init__(self, function_class, ctx):
        self.function_class = function_class
        self.ctx = ctx

    @property
    def name(self):
        return self.function_class.__name__

    # --- recording ---------------------------------------------------------------------------------

    def record(self, args, outputs, differentiable, dirty, single):
        """Make this application a node of the tape; ``outputs`` (a list) gets the tensors the user will see."""
        from .tensor import Tensor

        ctx = self.ctx
        dirty_ids = {id(tensor) for tensor in dirty}
        argument_inputs, inputs = [], []
        for value in args:
            if not isinstance(value, Tensor):
                argument_inputs.append(None)
                continue
            argument_inputs.append(len(inputs))
            # A modified input is an output of this node from now on; the input edge keeps its old place on the tape.
            inputs.append(_alias(value, keep_graph=True) if id(value) in dirty_ids else value)
        checks.dirty_leaves(self.name, dirty)
        for tensor in dirty:
            tensor._version_counter.value += 1
        originals = list(outputs)
        for index, value in enumerate(outputs):
            # (an output returned twice is two outputs: the second one on a tensor of its own)
            if _needs_alias(value, args, dirty) or any(value is earlier for earlier in originals[:index]):
                outputs[index] = _alias(value)
        self.inputs, self.argument_inputs = tuple(inputs), tuple(argument_inputs)
        self.needs_input_grad = tuple(_needs_grad(tensor) for tensor in inputs)
        self.output_count = 1 if single else len(outputs)
        self.output_specs = tuple((value.shape, value.dtype, value.device) if isinstance(value, Tensor) else None
                                  for value in outputs)
        self.output_slots = {}  # id(output tensor) -> (weak reference, output index), with several outputs
        for index, value in enumerate(outputs):
            if differentiable[index]:
                self._attach(value, index)
        self.sequence = next(autograd._sequence_numbers)
        self.released = False
        self._file_saved(ctx.to_save, args, originals, outputs, differentiable, dirty_ids)
        ctx.to_save, ctx._node = (), weakref.ref(self)
        first = next(value for value, checked in zip(outputs, differentiable) if checked)
        self.output_shape, self.output_id = first.shape, id(first.data)  # for explain()
        if autograd._anomaly_mode is not None:
            from . import anomaly

            self.creation_frames = anomaly.user_frames()
        if autograd._backward_of is not None:
            self.backward_of = autograd._backward_of.sequence
        for tape in autograd._active_tapes:
            tape.nodes.append(self)

    def _attach(self, tensor, index):
        tensor._requires_grad, tensor.grad_fn = True, self
        if self.output_count != 1:
            self.output_slots[id(tensor)] = (weakref.ref(tensor), index)

    def _file_saved(self, to_save, args, originals, outputs, differentiable, dirty_ids):
        """Turn what forward saved into records, with the version of each buffer for the check in backward."""
        input_positions = {id(value): position for position, value in zip(self.argument_inputs, args)
                           if position is not None and id(value) not in dirty_ids}
        output_indices = {id(value): index for index, value in enumerate(originals) if differentiable[index]}
        self.records, arrays, roles, versions = [], [], [], []
        for tensor in to_save:
            if tensor is None:
                self.records.append(None)
                continue
            if id(tensor) in input_positions:  # (an input returned as is, too: its gradient is the input's)
                self.records.append(["input", input_positions[id(tensor)]])
                role = f"input {input_positions[id(tensor)]}"
            elif id(tensor) in output_indices:
                index = output_indices[id(tensor)]
                output = outputs[index]
                self.records.append(["output", index, weakref.ref(output), output.data, output._version_counter])
                role = f"output {index}"
            else:
                self.records.append(["tensor", tensor])
                role = f"saved tensor {len(self.records) - 1}"
            arrays.append(tensor.data)
            roles.append(role)
            counter = tensor._version_counter
            versions.append((counter, counter.value, f"{role} {tuple(tensor.shape)}"))
        self.saved, self.saved_roles, self.saved_versions = tuple(arrays), roles, tuple(versions)

    def unpack(self, record):
        """One saved Tensor back: an output that its user let go is rebuilt on its buffer, on this node."""
        if record is None:
            return None
        kind = record[0]
        if kind == "input":
            return self.inputs[record[1]]
        if kind == "tensor":
            return record[1]
        _, index, reference, data, counter = record
        tensor = reference()
        if tensor is None:
            tensor = _rebuilt(data, self.output_specs[index][2], counter)
            self._attach(tensor, index)
            record[2] = weakref.ref(tensor)
        return tensor

    def routed(self, tensor, gradient):
        """``gradient``, which reached output ``tensor`` of this node, in that output's slot."""
        gradients = [None] * self.output_count
        gradients[self.output_index(tensor)] = gradient
        return OutputGradients(tuple(gradients))

    def output_index(self, tensor):
        reference, index = self.output_slots[id(tensor)]
        if reference() is not tensor:
            raise RuntimeError(f"{self.name}: a tensor claims to be an output of this node, but is not")
        return index

    # --- backward ----------------------------------------------------------------------------------

    def backward(self, grad_output):
        """The user's backward on Tensors, under no_grad: gradient arrays, one per Tensor input."""
        with autograd.no_grad():
            gradients = self._user_backward(self._gradients_of_outputs(grad_output, wrap=True))
        return tuple(None if gradient is None else gradient.data for gradient in gradients)

    def differentiable_backward(self, grad_output):
        """The user's backward with grad mode on (create_graph): its Tensor ops are recorded."""
        return self._user_backward(self._gradients_of_outputs(grad_output, wrap=False))

    def _gradients_of_outputs(self, grad_output, wrap):
        """One gradient per output, as the user's backward takes them: zeros (or None, without
        materialize_grads) where none arrived, None for an output that is not a Tensor."""
        from .tensor import Tensor

        received = (grad_output,) if self.output_count == 1 else grad_output.gradients
        gradients = []
        for gradient, spec in zip(received, self.output_specs):
            if gradient is None:
                if spec is not None and self.ctx.materialize_grads:
                    shape, dtype, device = spec
                    gradient = Tensor._wrap(backend.full(shape, 0, dtype, device), device)
            elif wrap:
                gradient = Tensor._wrap(gradient, spec[2])
            gradients.append(gradient)
        return gradients

    def _user_backward(self, gradients):
        backward = getattr(self.function_class, "backward", None) or getattr(self.function_class, "vjp", None)
        if backward is None:
            raise NotImplementedError(f"{self.name}: the Function defines no backward; add "
                                      "@staticmethod def backward(ctx, *grad_outputs)")
        return checks.input_gradients(self, backward(self.ctx, *gradients))

    def saved_label(self, index, identity):
        roles = getattr(self, "saved_roles", ())
        return roles[index] if index < len(roles) else f"saved {index}"

    def release(self):
        super().release()
        self.records = []


def _rebuilt(data, device, counter):
    from .tensor import Tensor

    return Tensor._wrap(data, device, counter)


class OutputGradients:
    """The gradients reaching a node that has several outputs: one slot per output, None where none
    arrived. run_backward adds them up per node like any gradient. As an array (``np.asarray``, which
    explain() and anomaly mode use) it is all its gradients flattened one after the other."""

    __slots__ = ("gradients",)

    def __init__(self, gradients):
        self.gradients = gradients

    def __add__(self, other):
        return OutputGradients(tuple(
            mine if theirs is None else theirs if mine is None else mine + theirs
            for mine, theirs in zip(self.gradients, other.gradients)
        ))

    def of(self, tensor, node):
        """The gradient of ``node``'s output ``tensor`` (None if none reached it)."""
        return self.gradients[node.output_index(tensor)]

    @property
    def data(self):
        """The same gradients as arrays (under create_graph they are Tensors)."""
        return OutputGradients(tuple(None if gradient is None else gradient.data for gradient in self.gradients))

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        parts = [np.ravel(backend.to_host(gradient)) for gradient in self.gradients if gradient is not None]
        flat = np.concatenate(parts) if parts else np.zeros(0)
        return flat if dtype is None else flat.astype(dtype)


# torch.autograd.function holds once_differentiable; this module is minigrad.autograd.function.
from .once_differentiable import once_differentiable  # noqa: E402,F401
