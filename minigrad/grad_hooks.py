"""Hooks a backward pass calls as it goes: when a leaf's gradient is final, and when the pass ends.

``leaf.register_post_accumulate_grad_hook(hook)`` (PyTorch's name) calls ``hook(leaf)`` as soon as
the leaf's ``.grad`` holds this pass's whole gradient, while the rest of backward still runs. That
is how DistributedDataParallel starts averaging a bucket of gradients before backward is over.

Without hooks a pass writes every ``.grad`` at its end (autograd.run_backward). With them, a hooked
leaf's gradient is written right after the last node that sends it a gradient has run: sequence
order is a topological order, so that node is the reachable node with the smallest sequence number
among those taking the leaf as an input. ``call_after_backward(callback)``, called from a hook,
runs the callback once when the pass has written every ``.grad`` (torch's ``queue_callback``).
"""
import contextlib
import itertools
import weakref

_hook_identities = itertools.count()
hooked_leaf_count = 0  # leaves holding at least one hook: a pass without any skips all of this
_pending_callbacks = []  # one list per running backward pass (a hook may start a nested one)


class RemovableHandle:
    """What registering a hook returns: ``handle.remove()`` takes the hook off again."""

    def __init__(self, hooks, identity):
        self._hooks, self.id = hooks, identity

    def remove(self):
        global hooked_leaf_count
        if self._hooks.pop(self.id, None) is not None and not self._hooks:
            hooked_leaf_count -= 1

    def __enter__(self):
        return self

    def __exit__(self, *exception_info):
        self.remove()


def register_post_accumulate_grad_hook(tensor, hook):
    """Call ``hook(tensor)`` after each backward pass has accumulated the leaf's gradient into ``.grad``."""
    global hooked_leaf_count
    if tensor.grad_fn is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be "
                           "registered on non-leaf tensors")
    if not tensor.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a tensor that "
                           "doesn't require gradient")
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got {type(hook).__name__}")
    hooks = getattr(tensor, "_post_accumulate_grad_hooks", None)
    if hooks is None:
        hooks = tensor._post_accumulate_grad_hooks = {}
        weakref.finalize(tensor, _forget, hooks)  # a leaf that dies hooked stops counting
    if not hooks:
        hooked_leaf_count += 1
    identity = next(_hook_identities)
    hooks[identity] = hook
    return RemovableHandle(hooks, identity)


def _forget(hooks):
    global hooked_leaf_count
    if hooks:
        hooked_leaf_count -= 1
        hooks.clear()


def hooks_of(tensor):
    return getattr(tensor, "_post_accumulate_grad_hooks", None)


def ready_after(nodes, roots):
    """node -> ids of the hooked leaves whose gradient is final once it has run (None: the roots').

    ``nodes`` are in the order backward runs them, so the last one seen taking a leaf wins."""
    final_after = {id(root): None for root in roots if root.grad_fn is None and hooks_of(root)}
    for node in nodes:
        for tensor in node.inputs:
            if tensor.grad_fn is None and hooks_of(tensor):
                final_after[id(tensor)] = node
    leaves_of = {}
    for key, node in final_after.items():
        leaves_of.setdefault(node, []).append(key)
    return leaves_of


def run_hooks(tensor):
    for hook in list(tensor._post_accumulate_grad_hooks.values()):
        hook(tensor)


def call_after_backward(callback):
    """Run ``callback()`` once when the backward pass now running has written every ``.grad``."""
    if not _pending_callbacks:
        raise RuntimeError("call_after_backward: no backward pass is running (call it from a hook)")
    _pending_callbacks[-1].append(callback)


@contextlib.contextmanager
def running_pass():
    """A backward pass with hooks: the callbacks it queues run at its end, only if it succeeded."""
    _pending_callbacks.append([])
    try:
        yield
    except BaseException:
        _pending_callbacks.pop()
        raise
    for callback in _pending_callbacks.pop():
        callback()
