"""mg.detect_anomaly(): a NaN or inf from an op's forward or backward names the op and the user's line."""
import inspect

import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd

# The planted NaNs and infinities make NumPy warn as well; the tests are about minigrad's error.
pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")

THIS_FILE = __file__


def next_line():
    """The line number of the caller's next line: where the op under test is created."""
    return inspect.currentframe().f_back.f_lineno + 1


def test_nan_planted_in_forward_names_the_op_its_sequence_inputs_and_line():
    x = mg.tensor([1.0, -2.0, 3.0], dtype=mg.float64, requires_grad=True)
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as error:
        line = next_line()
        x.log()
    message = str(error.value)
    assert message.startswith("detect_anomaly: the forward of Log (sequence ")
    assert "produced 1 NaN (the first at index (1,)) in its output of shape (3,)" in message
    assert "input 0: shape (3,) float64" in message
    assert f'File "{THIS_FILE}", line {line}, in test_nan_planted_in_forward' in message
    assert message.rstrip().endswith("x.log()")


def test_inf_planted_in_backward_names_the_op_and_the_line_that_created_it():
    x = mg.tensor([4.0, 0.0], dtype=mg.float64, requires_grad=True)
    with mg.detect_anomaly():
        line = next_line()
        root = x.sqrt()
        total = root.sum()  # forward is finite: sqrt(0) = 0
        with pytest.raises(mg.AnomalyError) as error, np.errstate(divide="ignore"):
            total.backward()
    message = str(error.value)
    sequence = root.grad_fn.sequence
    assert message.startswith(f"detect_anomaly: the backward of Sqrt (sequence {sequence}) produced 1 inf")
    assert "gradient for its input 0 (shape (2,)); the gradient it received, of shape (2,), was finite" in message
    assert f'File "{THIS_FILE}", line {line}, in test_inf_planted_in_backward' in message
    assert "root = x.sqrt()" in message


def test_the_op_is_located_in_the_users_module_not_inside_minigrad():
    class Model(mg.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = mg.nn.Linear(2, 2)

        def forward(self, x):
            self.line = next_line()
            return self.linear(x).log()

    model = Model()
    mg.nn.init.constant_(model.linear.weight, -1.0)
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as error:
        model(mg.ones(1, 2))
    assert f"line {model.line}, in forward" in str(error.value)
    assert "minigrad/nn" not in str(error.value)


def test_a_nan_that_came_from_outside_says_the_input_already_held_it():
    x = mg.tensor([1.0, np.nan], requires_grad=True)
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as error:
        x * 2
    assert "the forward of Mul" in str(error.value)
    assert "input 0: shape (2,) float32: already held 1 NaN (the first at index (1,)) before this op" in str(error.value)


def test_ops_that_record_nothing_are_checked_too():
    with mg.detect_anomaly(), mg.no_grad(), pytest.raises(mg.AnomalyError, match=r"Exp \(not on the tape\)"):
        mg.tensor([1000.0], dtype=mg.float64).exp()


def test_gradient_tape_backward_is_checked():
    x = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    with mg.detect_anomaly():
        with mg.GradientTape() as tape:
            y = x.sqrt()
        with pytest.raises(mg.AnomalyError, match="the backward of Sqrt"), np.errstate(divide="ignore"):
            tape.gradient(y, x)


def test_off_by_default_and_restored_after_the_block():
    assert not mg.is_anomaly_enabled()
    with np.errstate(invalid="ignore"):
        assert np.isnan(mg.tensor([-1.0]).log().numpy()).all()  # off: the NaN flows on silently
    with mg.detect_anomaly():
        assert mg.is_anomaly_enabled()
        with mg.set_detect_anomaly(False):
            assert not mg.is_anomaly_enabled()
        assert mg.is_anomaly_enabled()
    assert not mg.is_anomaly_enabled() and autograd._anomaly_mode is None


def test_set_detect_anomaly_as_a_call_stays_on_until_turned_off():
    try:
        mg.set_detect_anomaly(True)
        assert mg.is_anomaly_enabled()
    finally:
        mg.set_detect_anomaly(False)
    assert not mg.is_anomaly_enabled()


def test_as_a_decorator():
    @mg.detect_anomaly()
    def step(x):
        return x.log()

    with pytest.raises(mg.AnomalyError):
        step(mg.tensor([-1.0]))
    assert not mg.is_anomaly_enabled()


def test_check_nan_false_lets_nan_through_but_backward_errors_say_where_the_op_was_made():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    with mg.detect_anomaly(check_nan=False):
        line = next_line()
        y = x.exp()  # Exp saves its output for backward
        with mg.no_grad():
            y += mg.tensor([np.nan, 0.0], dtype=mg.float64)  # no error: NaN checks are off
        with pytest.raises(RuntimeError, match="modified in place") as error:
            y.sum().backward()
    if hasattr(error.value, "add_note"):  # Python 3.11+: the note says where Exp was created
        notes = "\n".join(error.value.__notes__)
        assert "the error came from the backward of Exp (sequence" in notes
        assert f'File "{THIS_FILE}", line {line}, in test_check_nan_false' in notes


def test_without_anomaly_mode_in_forward_a_backward_error_says_where_is_unknown():
    x = mg.tensor([0.0], dtype=mg.float64, requires_grad=True)
    y = x.sqrt()
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as error, np.errstate(divide="ignore"):
        y.backward(mg.ones(1, dtype=mg.float64))
    assert "its forward pass ran outside detect_anomaly()" in str(error.value)
