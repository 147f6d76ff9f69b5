"""The tape: how op applications are recorded, and how backward() replays them in reverse.

Every op is a ``Function`` subclass (see minigrad/ops/). Applying one whose inputs need gradients
records the Function instance itself as a node of the tape: its input tensors, the arrays it saved
for backward, and a sequence number from one global counter. An op can only consume tensors that
already exist, so a node's sequence number is larger than those of all the nodes that produced its
inputs: sorting by decreasing sequence number is a topological order, and backward() needs no
recursion (a 100,000-op chain is fine).

``GradientTape`` is TensorFlow's view of the same recording: nodes created while it is active are
also appended to its list, and ``tape.gradient(target, sources)`` replays only those, returning the
gradients instead of accumulating them into ``.grad``.

For people watching the machinery (explain.py, viz.py): a node also notes its output's shape, and
backward leaves on it, by reference, the gradient it received and the ones it sent to its inputs.
Anomaly mode (anomaly.py) hooks in at two places, after forward and after each node's backward;
while it is off, those hooks cost one ``is None`` test each.
"""
import contextlib
import inspect
import itertools
import sys

import numpy as np

from . import backend, grad_hooks
from .leaf_grad import write_grad

_grad_enabled = True
_active_tapes = []  # GradientTapes whose `with` block is running, innermost last
_sequence_numbers = itertools.count()
_anomaly_mode = None  # None: off; else anomaly.py's settings (set by mg.detect_anomaly())
_dual_level_active = False  # inside forward_ad.dual_level(): ops also compute their outputs' tangents
_backward_of = None  # the node whose differentiable_backward is running (create_graph): its ops say so


# --- grad mode ------------------------------------------------------------------------------------

def is_grad_enabled():
    return _grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode for its block, then restores it."""

    mode = True

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exception):
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, function):
        def wrapper(*args, **kwargs):
            with self.__class__():
                return function(*args, **kwargs)

        wrapper.__name__ = function.__name__
        wrapper.__doc__ = function.__doc__
        wrapper.__wrapped__ = function
        return wrapper


class no_grad(_GradMode):
    """Ops inside record nothing: for evaluation and for in-place parameter updates."""

    mode = False


class enable_grad(_GradMode):
    """Turns recording back on inside a no_grad block."""

    mode = True


# --- version counters -----------------------------------------------------------------------------

class VersionCounter:
    """How many times a buffer was modified in place; shared by a tensor and its views.

    A node remembers the version of every buffer it saved; backward compares, so a buffer changed
    after it was saved gives an error instead of a silently wrong gradient.
    """

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


# --- the node -------------------------------------------------------------------------------------

class Function:
    """One differentiable op. Subclasses define ``forward(*arrays)`` and ``backward(grad_output)``.

    forward works on the input tensors' arrays and returns the output array; what backward needs it
    keeps with ``self.save_for_backward(...)``. backward returns one gradient array per input (or
    None where that input needs none), each of the input's shape. When the application is recorded,
    the instance becomes the output's ``grad_fn``: a node of the tape. (That is the instance form,
    minigrad's own ops'; a subclass with a static ``forward(ctx, ...)`` on Tensors is in PyTorch's
    form, which custom_function.py runs. README's "Write your own op" shows both.)
    """

    is_view = False  # the output may share the first input's buffer (reshape, transpose, indexing)
    output_count = 1  # a custom Function (custom_function.py) may have several; run_backward routes by output
    output_device = None  # None: the output lives on the inputs' device
    saved = ()
    saved_names = ()  # what explain() calls saved arrays that are neither an input nor the output

    def __init_subclass__(cls, **options):
        """A subclass whose forward is a staticmethod is a custom Function in PyTorch's form, forward(ctx, ...)
        on Tensors: its apply is custom_function.py's. The ops in minigrad/ops/ keep this class's own."""
        super().__init_subclass__(**options)
        if isinstance(inspect.getattr_static(cls, "forward", None), staticmethod):
            from .custom_function import apply_pytorch_form

            cls.apply = classmethod(apply_pytorch_form)

    def save_for_backward(self, *arrays):
        self.saved = arrays

    def differentiable_backward(self, grad_output):
        """backward written as recorded ops on Tensors, for ``backward(create_graph=True)``.

        ``grad_output`` is a Tensor, the op's inputs are ``self.inputs``; returns one Tensor (or None)
        per input, computed with Tensor ops so that the gradient can be differentiated again. An op
        whose gradient is a kernel makes that kernel an op of its own (Conv2d's input gradient is
        an op whose backward is a convolution).
        """
        raise NotImplementedError(
            f"{self.name}: backward with create_graph=True is not supported for this op yet (its gradient "
            "cannot be differentiated again); backward without create_graph works"
        )

    def jvp(self, *tangents):
        """Forward mode: the output's tangent from the inputs' tangents (arrays; None for a zero
        tangent), right after forward, which left ``self.primal_inputs``, ``self.primal_output``
        and what it saved."""
        raise NotImplementedError(
            f"{self.name}: forward-mode AD (jvp) is not supported for this op yet; reverse mode works"
        )

    def constant(self, array):
        """``array`` (a mask, indices, a one-hot) as a Tensor that needs no gradient, on the inputs' device."""
        first = self.inputs[0]
        return first._wrap(array, first.device)

    @classmethod
    def apply(cls, *inputs, **options):
        """Run forward on the inputs' arrays; record the application on the tape if it needs grad."""
        function = cls(**options) if options else cls()
        first = inputs[0]
        device = first.device
        for tensor in inputs:
            if tensor.device != device:
                raise RuntimeError(
                    f"{function.name}: expected all tensors on one device, got {device} and {tensor.device}"
                )
        output_data = function.forward(*[tensor.data for tensor in inputs])
        if type(output_data) not in backend.ARRAY_TYPES:
            output_data = np.asarray(output_data)  # NumPy gives scalars, not 0-d arrays, for 0-d math
        if function.output_device is not None:
            device = function.output_device  # ToDevice: the one op whose output lives elsewhere
        # A view shares its base's version counter, so an in-place update through either is seen.
        # (Reshape of a non-contiguous array and advanced indexing copy: those are not views.)
        shares_buffer = cls.is_view and np.may_share_memory(output_data, first.data)
        output = first._wrap(output_data, device, first._version_counter if shares_buffer else None)
        if _dual_level_active:  # forward-mode AD: before the saved buffers go (the jvp rules read them)
            from . import forward_ad

            forward_ad.propagate(function, inputs, [tensor.data for tensor in inputs], output)
        if _grad_enabled and output_data.dtype.kind == "f":
            function._record(inputs, output, output_data)
        else:
            function.saved = ()  # nothing will run backward: let the buffers go now
        if _anomaly_mode is not None:
            from . import anomaly

            anomaly.check_forward(function, inputs, output_data, _anomaly_mode)
        return output

    def _record(self, inputs, output, output_data):
        """Make this application a node of the tape if any input needs a gradient."""
        needs_input_grad = tuple(tensor._requires_grad for tensor in inputs)
        if _active_tapes:
            needs_input_grad = tuple(
                needs or any(tape._watches(tensor) for tape in _active_tapes)
                for needs, tensor in zip(needs_input_grad, inputs)
            )
        if True not in needs_input_grad:
            self.saved = ()
            return
        self.inputs = inputs
        self.needs_input_grad = needs_input_grad
        self.sequence = next(_sequence_numbers)
        self.saved_versions = _versions_of_saved(self.saved, inputs, output)
        self.released = False
        # For explain(): the output's shape, and which saved array (if any) is the output itself.
        self.output_shape, self.output_id = output_data.shape, id(output_data)
        if _anomaly_mode is not None:
            from . import anomaly

            self.creation_frames = anomaly.user_frames()
        output._requires_grad = True
        output.grad_fn = self
        if _backward_of is not None:  # explain() and viz show which node's gradient this op computes
            self.backward_of = _backward_of.sequence
        for tape in _active_tapes:
            tape.nodes.append(self)

    @property
    def name(self):
        return type(self).__name__

    def saved_label(self, index, identity):
        """What saved array ``index`` is: "input 0" or "output" when it is that tensor's own buffer
        (it then costs no memory of its own), else its name from ``saved_names``."""
        if identity == getattr(self, "output_id", None):
            return "output"
        inputs = getattr(self, "inputs", ())
        # Ops save their inputs in input order, so prefer the same position: x * x saves its one
        # buffer twice, as input 0 and as input 1.
        if index < len(inputs) and id(inputs[index].data) == identity:
            return f"input {index}"
        for position, tensor in enumerate(inputs):
            if id(tensor.data) == identity:
                return f"input {position}"
        return self.saved_names[index] if index < len(self.saved_names) else f"saved {index}"

    def saved_arrays(self):
        """(label, array) for everything kept for backward: the saved arrays, then array attributes."""
        labelled = [(self.saved_label(index, id(array)), array) for index, array in enumerate(self.saved)]
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray) and name != "output_gradient":
                labelled.append((name, value))
        return labelled

    def release(self):
        """Drop the saved buffers; the node can no longer run backward.

        What was saved is remembered as (index, id, shape, dtype, bytes), so explain() can still
        say it; id() tells two nodes' records of one buffer apart from two buffers (every array
        saved in one forward pass is alive at the same time, so no two of them share an id).
        """
        if self.saved:
            self.freed = [(index, id(array), array.shape, array.dtype, array.nbytes)
                          for index, array in enumerate(self.saved)]
            self.saved = ()
        self.saved_versions = ()
        self.released = True

    def check_saved_versions(self):
        for counter, version, role in self.saved_versions:
            if counter.value != version:
                raise RuntimeError(
                    f"backward: {self.name} (sequence {self.sequence}) saved its {role} at version "
                    f"{version}, but it has since been modified in place (now version {counter.value}); "
                    "an in-place update changed a value that this gradient needs. Modify a .clone() "
                    "instead, or do the update after backward()."
                )

    def __repr__(self):
        return f"<{self.name} sequence={getattr(self, 'sequence', None)}>"


def _versions_of_saved(saved, inputs, output):
    """(counter, version, role) for each input or output whose buffer the op saved."""
    if not saved:
        return ()
    saved_ids = {id(array) for array in saved}
    versions = []
    for index, tensor in enumerate(inputs):
        if id(tensor.data) in saved_ids:
            counter = tensor._version_counter
            versions.append((counter, counter.value, f"input {index} {tuple(tensor.shape)}"))
    if id(output.data) in saved_ids:
        counter = output._version_counter
        versions.append((counter, counter.value, f"output {tuple(output.shape)}"))
    return tuple(versions)


# --- backward -------------------------------------------------------------------------------------

def _reachable_nodes(roots, allowed=None):
    """Nodes reachable from the roots' grad_fns, in decreasing sequence order (a topological order)."""
    seen = set()
    stack = [root.grad_fn for root in roots if root.grad_fn is not None]
    nodes = []
    while stack:
        node = stack.pop()
        if node in seen or (allowed is not None and node not in allowed):
            continue
        seen.add(node)
        nodes.append(node)
        for tensor in node.inputs:
            if tensor.grad_fn is not None and tensor.grad_fn not in seen:
                stack.append(tensor.grad_fn)
    nodes.sort(key=lambda node: node.sequence, reverse=True)
    return nodes


def _accumulate(gradients, key, gradient):
    previous = gradients.get(key)
    gradients[key] = gradient if previous is None else previous + gradient


def run_backward(roots, root_gradients, retain_graph, allowed=None, capture=None, create_graph=False):
    """Propagate gradients from ``roots`` back through the tape.

    Without ``capture`` (``loss.backward()``), leaf gradients are accumulated into ``.grad`` once
    the whole pass has succeeded (an error halfway leaves every ``.grad`` as it was, but for leaves
    with post-accumulate-grad hooks: they get theirs as soon as it is final). With it
    (``tape.gradient``, ``mg.autograd.grad``), nothing is written to ``.grad``: the gradient
    reaching each tensor in ``capture`` is returned in a dict keyed by ``id(tensor)``. ``allowed``
    limits the replay to one GradientTape's nodes; tensors made by other nodes then count as
    constants.

    The gradients are arrays, and each node runs its fused ``backward``. With ``create_graph`` they
    are Tensors and each node runs ``differentiable_backward`` with grad mode on: the gradient
    computation is recorded on the tape like any forward, so it can be differentiated again.
    """
    nodes = _reachable_nodes(roots, allowed)
    if capture is None and grad_hooks.hooked_leaf_count:  # hooked leaves get .grad once it is final
        with grad_hooks.running_pass():
            return _run_backward(nodes, roots, root_gradients, retain_graph, allowed, capture, create_graph,
                                 grad_hooks.ready_after(nodes, roots))
    return _run_backward(nodes, roots, root_gradients, retain_graph, allowed, capture, create_graph)


def _run_backward(nodes, roots, root_gradients, retain_graph, allowed, capture, create_graph, ready_after=None):
    ready_after = ready_after or {}  # node -> the hooked leaves whose gradient is final once it has run
    node_gradients = {}  # node -> gradient with respect to its output
    leaf_gradients = {}  # id(leaf) -> gradient
    leaves = {}  # id(leaf) -> leaf, for the .grad written at the end
    if create_graph:
        root_gradients = [_as_gradient_tensor(root, gradient) for root, gradient in zip(roots, root_gradients)]
    for root, gradient in zip(roots, root_gradients):
        node = root.grad_fn
        if node is not None and (allowed is None or node in allowed):
            _accumulate(node_gradients, node, gradient if node.output_count == 1 else node.routed(root, gradient))
        else:
            _deliver_to_leaf(root, gradient, leaf_gradients, leaves, capture)
    gradient = None
    _write_final_leaves(ready_after.pop(None, ()), leaf_gradients, leaves, create_graph)
    captured_nodes = {}  # node -> the captured tensors it made
    for tensor in capture or ():
        if tensor.grad_fn is not None:
            captured_nodes.setdefault(tensor.grad_fn, []).append(tensor)

    with _GradModeSetting(True) if create_graph else _NO_CHANGE:
        run_node = _run_node_recorded if create_graph else _run_node
        for node in nodes:
            grad_output = node_gradients.pop(node, None)
            if grad_output is None:
                if node in ready_after:
                    _write_final_leaves(ready_after.pop(node), leaf_gradients, leaves, create_graph)
                continue
            for tensor in captured_nodes.get(node, ()):
                leaf_gradients[id(tensor)] = grad_output if node.output_count == 1 else grad_output.of(tensor, node)
            input_gradients = run_node(node, grad_output)
            for tensor, gradient, needed in zip(node.inputs, input_gradients, node.needs_input_grad):
                if gradient is None or not needed:
                    continue
                if gradient.dtype != tensor.dtype:
                    gradient = gradient.to(tensor.dtype) if create_graph else gradient.astype(tensor.dtype)
                producer = tensor.grad_fn
                if producer is not None and (allowed is None or producer in allowed):
                    if producer.output_count != 1:  # one gradient per output, gathered for the node
                        gradient = producer.routed(tensor, gradient)
                    _accumulate(node_gradients, producer, gradient)
                else:
                    _deliver_to_leaf(tensor, gradient, leaf_gradients, leaves, capture)
            if not retain_graph:
                node.release()
            if node in ready_after:
                gradient = grad_output = input_gradients = None  # not counted as sharing (leaf_grad.py)
                _write_final_leaves(ready_after.pop(node), leaf_gradients, leaves, create_graph)
    if capture is None:
        # The loop's last arrays leave scope first, so a leaf's gradient counts no stray reference
        # (leaf_grad.write_grad takes an array that nothing else refers to instead of copying it).
        gradient = grad_output = input_gradients = None
        for key, leaf in leaves.items():
            write_grad(leaf, leaf_gradients[key], create_graph, _anomaly_mode is not None)
    return leaf_gradients


def _write_final_leaves(keys, leaf_gradients, leaves, create_graph):
    """Write the now-final gradients of hooked leaves into .grad, then call their hooks."""
    for key in keys:
        leaf = leaves.pop(key, None)
        if leaf is None:  # no gradient reached it in this pass: PyTorch calls no hook either
            continue
        write_grad(leaf, leaf_gradients.pop(key), create_graph, _anomaly_mode is not None)
        grad_hooks.run_hooks(leaf)


def _run_node(node, grad_output):
    """One node's fused backward: the gradient arrays it sends to its inputs."""
    if node.released:
        raise _freed(node)
    if _anomaly_mode is None:
        node.check_saved_versions()
        input_gradients = node.backward(grad_output)
    else:
        from . import anomaly

        input_gradients = anomaly.run_node_backward(node, grad_output)
    # Kept (not copied) for explain(): the gradient that reached the node and those it sent on.
    node.output_gradient, node.input_gradients = grad_output, input_gradients
    if _anomaly_mode is not None:
        from . import anomaly

        anomaly.check_backward(node, grad_output, input_gradients, _anomaly_mode)
    return input_gradients


def _run_node_recorded(node, grad_output):
    """One node's differentiable backward (create_graph): Tensors, computed by recorded ops that
    remember this node (``backward_of``) for explain() and viz."""
    global _backward_of
    if node.released:
        raise _freed(node)
    outer, _backward_of = _backward_of, node
    try:
        if _anomaly_mode is None:
            node.check_saved_versions()
            input_gradients = tuple(node.differentiable_backward(grad_output))
        else:
            from . import anomaly

            input_gradients = tuple(anomaly.run_node_backward(node, grad_output, create_graph=True))
    finally:
        _backward_of = outer
    if len(input_gradients) != len(node.inputs):
        raise RuntimeError(f"backward: {node.name}.differentiable_backward returned {len(input_gradients)} "
                           f"gradients for {len(node.inputs)} inputs")
    input_arrays = tuple(None if gradient is None else gradient.data for gradient in input_gradients)
    node.output_gradient, node.input_gradients = grad_output.data, input_arrays
    if _anomaly_mode is not None:
        from . import anomaly

        anomaly.check_backward(node, grad_output.data, input_arrays, _anomaly_mode)
    return input_gradients


def _freed(node):
    return RuntimeError(
        f"backward: {node.name} (sequence {node.sequence}) has already been through backward "
        "and its saved buffers were freed. Pass retain_graph=True to the first backward() "
        "(or use GradientTape(persistent=True)) to go through the graph a second time."
    )


_NO_CHANGE = contextlib.nullcontext()  # the fused path runs in whatever grad mode the caller has


def _as_gradient_tensor(root, gradient):
    """A root's seed gradient as a Tensor (kept as given when it is one: it may carry a graph)."""
    from .tensor import Tensor

    if isinstance(gradient, Tensor):
        return gradient
    return root._wrap(gradient, root.device)


def _deliver_to_leaf(tensor, gradient, leaf_gradients, leaves, capture):
    if capture is None and (not tensor.requires_grad or tensor.grad_fn is not None):
        return  # a constant, or a non-leaf: PyTorch keeps .grad on leaves only
    _accumulate(leaf_gradients, id(tensor), gradient)
    leaves[id(tensor)] = tensor


class _GradModeSetting(_GradMode):
    """Grad mode set to a given value for a block (backward runs with it on only for create_graph)."""

    def __init__(self, mode):
        self.mode = mode


# Imported last: both modules read this one's names. mg.autograd.explain and
# mg.autograd.detect_anomaly are where PyTorch users look for them.
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly  # noqa: F401
from .explain import explain


from .gradients import grad  # noqa: E402  (mg.autograd.grad; it runs the backward defined above)
from .gradient_tape import GradientTape  # noqa: E402,F401  (mg.GradientTape)
from . import forward_ad  # noqa: E402,F401  (mg.autograd.forward_ad, as torch.autograd.forward_ad)
# Custom Functions as PyTorch writes them, and a user's Numba kernel as an op. The module is also
# minigrad.autograd.function, so `from minigrad.autograd.function import once_differentiable` reads as torch's.
from . import custom_function as function  # noqa: E402
from .custom_function import FunctionCtx  # noqa: E402,F401
from .once_differentiable import once_differentiable  # noqa: E402,F401
from .kernel_op import kernel_op  # noqa: E402,F401

sys.modules[__name__ + ".function"] = function
