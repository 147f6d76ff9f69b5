"""Anomaly mode: stop at the first op whose forward or backward makes a NaN or an infinity, and say where.

Inside ``with mg.detect_anomaly():`` every op application checks its output for NaN and inf, and
every node's backward checks the gradients it sends to its inputs. Each recorded node also keeps
the frames of the user's code that created it, so a bad gradient found during backward points at
the line of the forward pass that made the op (PyTorch's anomaly mode does the same). Outside it,
the engine pays one ``is None`` test per op and per node.
"""
import os
import sys
import traceback

import numpy as np

from . import autograd, backend

_PACKAGE_DIRECTORY = os.path.dirname(os.path.abspath(__file__)) + os.sep
FRAMES_KEPT = 6  # the user's innermost frames shown in an error; enough to find the line


class AnomalyError(RuntimeError):
    """A NaN or an infinity appeared in an op's output or in a gradient, under detect_anomaly()."""


class _Settings:
    __slots__ = ("check_nan",)

    def __init__(self, check_nan):
        self.check_nan = check_nan


class detect_anomaly:
    """``with mg.detect_anomaly():`` (or ``@mg.detect_anomaly()``): find the op that made a NaN or inf.

    ``check_nan=False`` only records where each op was created, so that any error in backward (an
    in-place modification, a second backward) also says which line of the forward pass made the op.
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._previous = autograd._anomaly_mode
        autograd._anomaly_mode = _Settings(self.check_nan)
        return self

    def __exit__(self, *exception):
        autograd._anomaly_mode = self._previous

    def __call__(self, function):
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return function(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = function.__name__, function.__doc__, function
        return wrapper


class set_detect_anomaly:
    """``mg.set_detect_anomaly(True)`` turns anomaly mode on for good; in a ``with`` it is restored after."""

    def __init__(self, mode, check_nan=True):
        self._previous = autograd._anomaly_mode
        autograd._anomaly_mode = _Settings(check_nan) if mode else None

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        autograd._anomaly_mode = self._previous


def is_anomaly_enabled():
    return autograd._anomaly_mode is not None


# --- where an op was created ----------------------------------------------------------------------

def user_frames():
    """The caller's frames outside the minigrad package, innermost first (at most FRAMES_KEPT).

    Frames inside minigrad (Module.__call__, F.conv2d, Function.apply) are left out: the line that
    matters is the user's, and the frames between two of the user's lines are minigrad's plumbing.
    """
    outside = (
        (frame, line) for frame, line in traceback.walk_stack(sys._getframe(1))
        if not frame.f_code.co_filename.startswith(_PACKAGE_DIRECTORY)
    )
    return traceback.StackSummary.extract(outside, limit=FRAMES_KEPT)


def _where(frames):
    if not frames:
        return "  (no frame outside minigrad)"
    # Outermost first and the op's own line last, as Python prints a traceback.
    return "".join(traceback.StackSummary.from_list(list(reversed(frames))).format()).rstrip()


def _created_at(node):
    frames = getattr(node, "creation_frames", None)
    if frames is None:
        return ("Where this op was created is unknown: its forward pass ran outside detect_anomaly(). "
                "Run the forward pass inside the block too.")
    return f"{_op_name(node)} was created at (most recent call last):\n{_where(frames)}"


# --- the checks -----------------------------------------------------------------------------------

def _non_finite(array):
    """'2 NaN and 1 inf (the first at index (0, 3))', or None when every value is finite."""
    if array.dtype.kind not in "fc" or np.isfinite(array).all():
        return None
    array = backend.to_host(array) if backend.device_of(array) == "cuda" else array  # the details: on the host
    nan_count, inf_count = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    counts = " and ".join(text for count, text in ((nan_count, f"{nan_count} NaN"), (inf_count, f"{inf_count} inf"))
                          if count)
    first = np.unravel_index(int(np.flatnonzero(~np.isfinite(array))[0]), array.shape)
    position = f"the first at index {tuple(int(i) for i in first)}" if array.ndim else "the scalar"
    return f"{counts} ({position})"


def _op_name(function):
    sequence = getattr(function, "sequence", None)
    return f"{function.name} (sequence {sequence})" if sequence is not None else f"{function.name} (not on the tape)"


def _describe_inputs(inputs):
    lines = []
    for position, tensor in enumerate(inputs):
        problem = _non_finite(tensor.data)
        note = f": already held {problem} before this op" if problem else ""
        lines.append(f"  input {position}: shape {tuple(tensor.shape)} {tensor.dtype}{note}")
    return "\n".join(lines)


def check_forward(function, inputs, output_data, settings):
    """Raise AnomalyError if the op's output holds a NaN or an infinity."""
    if not settings.check_nan:
        return
    problem = _non_finite(output_data)
    if problem is None:
        return
    frames = getattr(function, "creation_frames", None) or user_frames()
    raise AnomalyError(
        f"detect_anomaly: the forward of {_op_name(function)} produced {problem} in its output of shape "
        f"{tuple(output_data.shape)}.\n{_describe_inputs(inputs)}\n"
        f"{function.name} was called at (most recent call last):\n{_where(frames)}"
    )


def run_node_backward(node, grad_output, create_graph=False):
    """node.backward (its differentiable_backward with create_graph), with any error it raises
    extended by where the node was created."""
    try:
        node.check_saved_versions()
        if create_graph:
            return node.differentiable_backward(grad_output)
        return node.backward(grad_output)
    except Exception as error:
        if hasattr(error, "add_note"):  # Python 3.11+
            error.add_note(f"detect_anomaly: the error came from the backward of {_op_name(node)}. {_created_at(node)}")
        raise


def check_backward(node, grad_output, input_gradients, settings):
    """Raise AnomalyError if the node's backward sent a NaN or an infinity to one of its inputs."""
    if not settings.check_nan:
        return
    for position, (gradient, needed) in enumerate(zip(input_gradients, node.needs_input_grad)):
        if gradient is None or not needed:
            continue
        problem = _non_finite(gradient if hasattr(gradient, 'dtype') else np.asarray(gradient))
        if problem is None:
            continue
        received = _non_finite(grad_output if hasattr(grad_output, 'dtype') else np.asarray(grad_output))
        received = f"already held {received}" if received else "was finite"
        raise AnomalyError(
            f"detect_anomaly: the backward of {_op_name(node)} produced {problem} in the gradient for its "
            f"input {position} (shape {tuple(np.shape(gradient))}); the gradient it received, of shape "
            f"{tuple(np.shape(grad_output))}, {received}.\n{_describe_inputs(node.inputs)}\n{_created_at(node)}"
        )
