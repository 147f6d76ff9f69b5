"""TensorFlow's GradientTape over minigrad's tape (autograd.py): record inside a ``with`` block,
then ask for gradients or Jacobians of what was recorded.

A tape keeps the list of nodes made while it was active, and replays only those. Nested tapes give
second derivatives as in TF2: the inner tape's ``gradient`` runs inside the outer tape's block, so
it is computed with recorded ops (``create_graph``) that the outer tape can differentiate again.
"""
import numpy as np

from . import autograd, backend


class GradientTape:
    """TensorFlow's tape: records the ops run inside ``with GradientTape() as tape:``.

    Tensors with ``requires_grad=True`` (trainable parameters) are watched automatically; others
    must be passed to ``tape.watch(x)``. ``tape.gradient(target, sources)`` returns d(sum of
    target)/d(source) for each source (None where a source does not affect the target) and leaves
    ``.grad`` untouched; ``tape.jacobian(target, sources)`` the full Jacobian. A non-persistent tape
    frees its buffers after one such call.
    """

    def __init__(self, persistent=False):
        self.persistent = persistent
        self.nodes = []
        self._watched = {}  # id(tensor) -> tensor (kept alive so its id stays unique)
        self._used = False
        self._recording = False

    def __enter__(self):
        if self._recording:
            raise RuntimeError("GradientTape: this tape is already recording")
        self._recording = True
        autograd._active_tapes.append(self)
        return self

    def __exit__(self, *exception):
        autograd._active_tapes.remove(self)
        self._recording = False

    def watch(self, tensors):
        """Record ops on these tensors (a tensor or a list of tensors) even if they need no grad."""
        for tensor in _as_list(tensors):
            if not np.issubdtype(tensor.dtype, np.floating):
                raise TypeError(f"GradientTape.watch: only floating point tensors can be watched, got {tensor.dtype}")
            self._watched[id(tensor)] = tensor

    def _watches(self, tensor):
        return id(tensor) in self._watched

    def watched_tensors(self):
        return list(self._watched.values())

    def gradient(self, target, sources, output_gradients=None):
        """Gradients of ``target`` (a tensor or list, summed) with respect to ``sources``.

        ``sources`` may be one tensor or a list/tuple; the result has the same structure.
        ``output_gradients`` weights the target's elements (default: ones, as in TensorFlow).
        """
        from .tensor import Tensor

        self._start("gradient")
        targets, source_list = _as_list(target), self._sources("gradient", sources)
        if output_gradients is None:
            root_gradients = [backend.full(t.shape, 1, t.dtype, t.device) for t in targets]
        else:
            root_gradients = []
            for t, weight in zip(targets, _as_list(output_gradients)):
                weight = backend.as_array(weight.data if isinstance(weight, Tensor) else weight, t.dtype, t.data)
                if weight.shape != t.shape:
                    raise ValueError(
                        f"GradientTape.gradient: output_gradients shape {weight.shape} does not match "
                        f"target shape {t.shape}"
                    )
                root_gradients.append(weight)
        results = self._replay(targets, root_gradients, source_list)
        self._finish()
        return type(sources)(results) if isinstance(sources, (list, tuple)) else results[0]

    def jacobian(self, target, sources):
        """d target / d source for each source, of shape target.shape + source.shape (zeros where
        the source does not affect the target), as TensorFlow's ``tape.jacobian``: one replay
        of the tape per element of ``target``."""
        from .ops import Stack

        self._start("jacobian")
        source_list = self._sources("jacobian", sources)
        rows = [[] for _ in source_list]
        for element in range(target.data.size):
            seed = np.zeros(target.data.size, dtype=target.dtype)
            seed[element] = 1
            seed = backend.as_array(seed.reshape(target.shape), target.dtype, target.data)
            for row, gradient, source in zip(rows, self._replay([target], [seed], source_list), source_list):
                row.append(gradient if gradient is not None else
                           source._wrap(backend.full(source.shape, 0, source.dtype, source.device), source.device))
        self._finish()
        results = []
        for row, source in zip(rows, source_list):
            shape = tuple(target.shape) + tuple(source.shape)
            if not row:
                results.append(source._wrap(backend.full(shape, 0, source.dtype, source.device), source.device))
            else:
                results.append(Stack.apply(*row).reshape(shape))
        return type(sources)(results) if isinstance(sources, (list, tuple)) else results[0]

    def _start(self, call):
        if self._used and not self.persistent:
            raise RuntimeError(
                f"GradientTape.{call}: a non-persistent GradientTape can only compute one set of "
                f"gradients; create it with GradientTape(persistent=True) to call {call}() again"
            )
        if self._recording and not self.persistent:
            raise RuntimeError(f"GradientTape.{call}: call it after the `with` block of a non-persistent tape")
        self._used = True

    def _sources(self, call, sources):
        from .tensor import Tensor

        source_list = _as_list(sources)
        for source in source_list:
            if not isinstance(source, Tensor):
                raise TypeError(f"GradientTape.{call}: sources must be tensors, got {type(source).__name__}")
        return source_list

    def _replay(self, targets, root_gradients, source_list):
        """One backward over this tape's nodes: a Tensor (or None) per source."""
        # Inside another tape's block (nested tapes) the gradient is computed with recorded ops,
        # so the outer tape can differentiate it again.
        self._nested = bool(autograd._active_tapes) and autograd.is_grad_enabled()
        gradients = autograd.run_backward(targets, root_gradients, retain_graph=True, allowed=set(self.nodes),
                                          capture=source_list, create_graph=self._nested)
        if self._nested:
            return [gradients.get(id(source)) for source in source_list]
        return [None if id(source) not in gradients else source._wrap(
            backend.as_array(gradients[id(source)], source.dtype, source.data), source.device)
            for source in source_list]

    def _finish(self):
        if not self.persistent and not self._nested:
            # The nodes stay listed, so print(tape) can still show them. Inside an outer tape they
            # keep their buffers: the outer tape differentiates through them again.
            for node in self.nodes:
                node.release()

    def __repr__(self):
        return f"<GradientTape persistent={self.persistent} nodes={len(self.nodes)}>"

    def __str__(self):
        """``print(tape)``: the recorded nodes, one line each (see explain)."""
        from .explain import explain

        return str(explain(self))


def _as_list(items):
    if isinstance(items, (list, tuple)):
        return list(items)
    return [items]
