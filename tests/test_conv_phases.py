"""The strided input gradient's pieces (kernels/cpu/conv_phases.py) against NumPy: the interleave of
phases in both layouts it reads (one block per phase, and the sub-pixel correlation's channels),
vectorised at column step 2 with stores that run past a row; the sub-pixel kernel; the bias the
input gradient starts from on each of its paths."""
import itertools

import numpy as np
import pytest

import minigrad.kernels.cpu.conv2d as conv2d_module
import minigrad.kernels.cpu.conv_phases as conv_phases
from minigrad.kernels.cpu.preset import checked_twin

# (batch, channels, height, width, row_step, column_step): widths from 1 to past two vectors of
# float32 on AVX-512 (a row of 33 pairs), odd and even, planes smaller than one store.
SHAPES = [(2, 3, 14, 14, 2, 2), (1, 2, 13, 13, 2, 2), (3, 1, 5, 3, 2, 2), (2, 2, 1, 1, 2, 2),
          (1, 2, 9, 66, 2, 2), (1, 1, 4, 65, 2, 2), (2, 2, 10, 11, 3, 2), (1, 2, 7, 8, 1, 2),
          (2, 2, 9, 10, 3, 3), (1, 3, 8, 7, 2, 1), (2, 1, 6, 6, 1, 3)]


def expected_interleave(source, plane_stride, phase_stride, phase_rows, phase_columns, row_step, column_step,
                        shape):
    """``interleave_phases``'s contract, element by element."""
    out = np.empty(shape, source.dtype)
    batch, channels, height, width = shape
    for n, c, y, z in itertools.product(range(batch), range(channels), range(height), range(width)):
        a, u = y % row_step, y // row_step
        b, v = z % column_step, z // column_step
        out[n, c, y, z] = source[(n * channels + c) * plane_stride + (a * column_step + b) * phase_stride
                                 + u * phase_columns + v]
    return out


def layouts(shape):
    """(plane_stride, phase_stride, phase_rows, phase_columns, source size) of the two layouts."""
    batch, channels, height, width, row_step, column_step = shape
    rows, columns = -(-height // row_step), -(-width // column_step)
    phases, plane = row_step * column_step, rows * columns
    yield plane, batch * channels * plane, rows, columns, phases * batch * channels * plane  # one block per phase
    yield phases * plane, plane, rows, columns, phases * batch * channels * plane  # sub-pixel channels


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("checked", [False, True])
def test_interleave_phases_matches_numpy(shape, dtype, checked):
    kernel = checked_twin(conv_phases.interleave_phases) if checked else conv_phases.interleave_phases
    for plane_stride, phase_stride, rows, columns, size in layouts(shape):
        source = conv_phases.phase_buffer(size, dtype)
        source[:] = np.random.default_rng(0).standard_normal(source.size)
        out = np.full(shape[:4], np.nan, dtype)
        kernel(source, plane_stride, phase_stride, rows, columns, shape[4], shape[5], out)
        np.testing.assert_array_equal(out, expected_interleave(source, plane_stride, phase_stride, rows, columns,
                                                               shape[4], shape[5], shape[:4]))


# (kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, efficiency)
EFFICIENCIES = [(3, 3, 2, 2, 1, 1, 1, 1, 9 / 16), (2, 2, 2, 2, 0, 0, 1, 1, 1.0), (4, 4, 2, 2, 1, 1, 1, 1, 16 / 36),
                (1, 1, 2, 2, 0, 0, 1, 1, 1 / 4), (3, 3, 3, 3, 0, 0, 1, 1, 1.0), (3, 3, 3, 3, 1, 1, 1, 1, 9 / 36), (3, 1, 2, 1, 0, 0, 2, 1, 3 / 6)]


@pytest.mark.parametrize("case", EFFICIENCIES)
def test_subpixel_efficiency_counts_the_taps_in_its_window(case):
    assert conv_phases.subpixel_efficiency(*case[:8]) == pytest.approx(case[8])


# (batch, out_channels, channels, height, width, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left,
# dilation_h, dilation_w): grad_x (batch, channels, height, width) of a convolution with this geometry.
SUBPIXEL_CASES = [(2, 32, 16, 14, 14, 3, 3, 2, 2, 1, 1, 1, 1), (2, 5, 3, 13, 12, 3, 3, 2, 2, 1, 1, 1, 1),
                  (1, 5, 3, 11, 10, 3, 3, 3, 3, 1, 2, 2, 2), (2, 6, 5, 12, 9, 5, 3, 2, 3, 4, 0, 1, 2),
                  (1, 3, 18, 10, 10, 3, 3, 2, 1, 0, 2, 1, 1), (1, 3, 2, 8, 8, 2, 2, 2, 2, 3, 3, 1, 1)]


def output_size(size, kernel, stride, pad, dilation):
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


@pytest.mark.parametrize("case", SUBPIXEL_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_both_phase_paths_match_the_input_gradient_by_taps(case, dtype):
    batch, outputs, channels, height, width, kh, kw, sh, sw, pt, pl, dh, dw = case
    rng = np.random.default_rng(1)
    grad_out = rng.standard_normal((batch, outputs, output_size(height, kh, sh, pt, dh),
                                    output_size(width, kw, sw, pl, dw))).astype(dtype)
    weight = rng.standard_normal((outputs, channels, kh, kw)).astype(dtype)
    bias = rng.standard_normal(channels).astype(dtype)
    expected = np.empty((batch, channels, height, width), dtype)
    conv2d_module.input_gradient_by_taps(grad_out, weight, sh, sw, pt, pl, dh, dw, expected)
    expected += bias.reshape(1, -1, 1, 1)
    tolerance = 1e-4 if dtype == np.float32 else 1e-12
    for path in (conv_phases.input_gradient_by_subpixels, conv_phases.input_gradient_by_phases):
        grad_x = np.empty_like(expected)
        path(conv2d_module.correlate, grad_out, weight, bias, sh, sw, pt, pl, dh, dw, grad_x)
        np.testing.assert_allclose(grad_x, expected, rtol=tolerance, atol=tolerance * np.abs(expected).max())


# One geometry per path of conv2d_backward_input: by taps (an inf in the weight), sub-pixel, phases,
# the spread grid (a 1x1 kernel at stride 2 below 16 channels), stride 1.
BIAS_CASES = [("taps", 2, 4, 3, 9, 9, 3, 2, 1), ("subpixel", 2, 32, 16, 14, 14, 3, 2, 1),
              ("phases", 2, 8, 33, 9, 9, 3, 2, 1), ("spread", 2, 4, 3, 9, 9, 1, 2, 0),
              ("stride 1", 2, 4, 3, 9, 9, 3, 1, 1)]


@pytest.mark.parametrize("case", BIAS_CASES, ids=[case[0] for case in BIAS_CASES])
def test_the_input_gradient_starts_from_the_bias_on_every_path(case):
    name, batch, outputs, channels, height, width, kernel, stride, pad = case
    rng = np.random.default_rng(2)
    size = output_size(height, kernel, stride, pad, 1)
    grad_out = rng.standard_normal((batch, outputs, size, size))
    weight = rng.standard_normal((outputs, channels, kernel, kernel))
    if name == "taps":
        weight[0, 0, 0, 0] = np.inf
    bias = rng.standard_normal(channels)
    without = np.empty((batch, channels, height, width))
    conv2d_module.conv2d_backward_input(grad_out, weight, stride, stride, pad, pad, 1, 1, without)
    with_bias = np.empty_like(without)
    conv2d_module.conv2d_backward_input(grad_out, weight, stride, stride, pad, pad, 1, 1, with_bias, bias=bias)
    np.testing.assert_allclose(with_bias, without + bias.reshape(1, -1, 1, 1), rtol=1e-12, atol=1e-12)
