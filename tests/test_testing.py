"""mg.testing.assert_close and make_tensor behave as torch.testing's (compared where torch is installed)."""
import re

import numpy as np
import pytest

import minigrad as mg

try:
    import torch
except ImportError:  # the comparisons with PyTorch skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def test_close_values_pass_with_the_dtypes_default_tolerances():
    mg.testing.assert_close(mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.0 + 1e-6]))  # float32: rtol 1.3e-6, atol 1e-5
    with pytest.raises(AssertionError):
        mg.testing.assert_close(mg.tensor([1.0, 2.0], dtype=mg.float64), mg.tensor([1.0, 2.0 + 1e-6], dtype=mg.float64))
    mg.testing.assert_close(mg.tensor([1, 2]), mg.tensor([1, 2]))
    mg.testing.assert_close(1.0, 1.0 + 1e-9)
    mg.testing.assert_close({"a": [mg.tensor([1.0])]}, {"a": [mg.tensor([1.0])]})


@needs_torch
def test_the_report_reads_as_pytorchs():
    actual, expected = [1.0, 2.5, 3.0], [1.0, 2.0, 3.5]
    with pytest.raises(AssertionError) as ours:
        mg.testing.assert_close(mg.tensor(actual), mg.tensor(expected))
    with pytest.raises(AssertionError) as theirs:
        torch.testing.assert_close(torch.tensor(actual), torch.tensor(expected))
    assert str(ours.value) == str(theirs.value)


def test_shape_dtype_device_and_kind_mismatches_are_named():
    with pytest.raises(AssertionError, match=re.escape("attribute 'shape' do not match: (2,) != (3,)")):
        mg.testing.assert_close(mg.zeros(2), mg.zeros(3))
    with pytest.raises(AssertionError, match="attribute 'dtype' do not match: float32 != float64"):
        mg.testing.assert_close(mg.zeros(2), mg.zeros(2, dtype=mg.float64))
    mg.testing.assert_close(mg.zeros(2), mg.zeros(2, dtype=mg.float64), check_dtype=False)
    with pytest.raises(TypeError, match="comparing Tensor with ndarray is not supported"):
        mg.testing.assert_close(mg.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="both 'rtol' and 'atol'"):
        mg.testing.assert_close(mg.zeros(2), mg.zeros(2), rtol=1e-3)
    with pytest.raises(AssertionError, match=r"item \[1\]"):
        mg.testing.assert_close([mg.zeros(1), mg.zeros(1)], [mg.zeros(1), mg.ones(1)])
    with pytest.raises(AssertionError, match="^custom$"):
        mg.testing.assert_close(mg.zeros(1), mg.ones(1), msg="custom")


def test_nan_is_equal_to_nan_only_when_asked():
    with pytest.raises(AssertionError):
        mg.testing.assert_close(mg.tensor([np.nan]), mg.tensor([np.nan]))
    mg.testing.assert_close(mg.tensor([np.nan]), mg.tensor([np.nan]), equal_nan=True)


def test_make_tensor_ranges_dtypes_and_options():
    mg.manual_seed(0)
    floats = mg.testing.make_tensor(1000, dtype=mg.float64, device="cpu")
    assert floats.dtype == mg.float64 and floats.shape == (1000,)
    assert -9 <= floats.data.min() and floats.data.max() < 9
    integers = mg.testing.make_tensor((20, 50), dtype=mg.int64, device="cpu", low=-2, high=3, exclude_zero=True)
    assert set(np.unique(integers.data)) <= {-2, -1, 1, 2}
    strided = mg.testing.make_tensor(4, 5, dtype=mg.float32, device="cpu", noncontiguous=True, requires_grad=True)
    assert not strided.data.flags.c_contiguous and strided.requires_grad and strided.shape == (4, 5)
    with pytest.raises(ValueError, match="low .* must be below high"):
        mg.testing.make_tensor(3, dtype=mg.float32, device="cpu", low=1, high=1)
