"""Adaptive 2-D average and max pooling on NCHW arrays: the output size is given, the windows follow.

Output row ``oh`` of ``OH`` pools input rows [floor(oh * H / OH), ceil((oh + 1) * H / OH)), and
columns likewise: PyTorch's bins. They tile the plane when OH divides H, overlap by a row when it
does not, and repeat rows when OH > H. Every kernel runs one (sample, channel) plane per ``prange``
iteration, so a backward pass that scatters into overlapping bins has one writer per plane and
needs no atomics (as kernels/cpu/pool.py).

Global average pooling (output 1x1, the head of every small ResNet) has its own pair of kernels,
chosen in Python: the plane is one contiguous row of H*W values, so the forward is a sum per row
in the array's own dtype (which vectorises 8 float32 lanes wide), and the backward writes each
row's g / (H*W) over it.

Max pooling's backward is max pooling's: kernels/cpu/pool.py's ``max_pool2d_backward`` scatters
to the recorded flat in-plane indices whatever the windows were, so the backend calls it.
"""
from numba import prange

from .preset import cpu_kernel, serial_kernel

# The entry points the backend calls; kernels/cuda/adaptive_pool.py has the same names and arguments.
__all__ = ["adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward", "adaptive_max_pool2d_forward"]


@serial_kernel
def bin_bounds(output_position, output_size, input_size):
    """[start, stop) of one adaptive bin along one axis: floor(i * in / out), ceil((i + 1) * in / out)."""
    start = (output_position * input_size) // output_size
    stop = ((output_position + 1) * input_size + output_size - 1) // output_size
    return start, stop


def adaptive_avg_pool2d_forward(x, out):
    """out[n, c, oh, ow] = mean of x[n, c] over bin (oh, ow).  ``x`` contiguous."""
    if out.shape[2] == 1 and out.shape[3] == 1 and x.shape[2] * x.shape[3] > 0:
        planes = x.shape[0] * x.shape[1]
        global_avg_forward(x.reshape(planes, x.shape[2] * x.shape[3]), out.reshape(planes))
    else:
        adaptive_avg_general_forward(x, out)


def adaptive_avg_pool2d_backward(grad_out, grad_x):
    """grad_x[n, c, cell] = sum over the bins holding the cell of grad_out[n, c, oh, ow] / bin size.
    ``grad_x`` contiguous."""
    if grad_out.shape[2] == 1 and grad_out.shape[3] == 1 and grad_x.shape[2] * grad_x.shape[3] > 0:
        planes = grad_x.shape[0] * grad_x.shape[1]
        global_avg_backward(grad_out.reshape(planes), grad_x.reshape(planes, grad_x.shape[2] * grad_x.shape[3]))
    else:
        adaptive_avg_general_backward(grad_out, grad_x)


@cpu_kernel
def global_avg_forward(planes, out):
    """out[p] = mean of planes[p, :] (every plane holds at least one value)."""
    length = planes.shape[1]
    for plane in prange(planes.shape[0]):
        total = planes[plane, 0]  # starts in the array's dtype, so the sum stays in it
        for position in range(1, length):
            total += planes[plane, position]
        out[plane] = total / length


@cpu_kernel
def global_avg_backward(grad_out, grad_planes):
    """grad_planes[p, :] = grad_out[p] / length: the gradient of the mean, broadcast."""
    length = grad_planes.shape[1]
    for plane in prange(grad_planes.shape[0]):
        share = grad_out[plane] / length
        for position in range(length):
            grad_planes[plane, position] = share


@cpu_kernel
def adaptive_avg_general_forward(x, out):
    """out[n, c, oh, ow] = sum of x[n, c] over bin (oh, ow) / its cell count."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    out_height, out_width = out.shape[2], out.shape[3]
    for plane in prange(x.shape[0] * channels):
        n, c = plane // channels, plane % channels
        for oh in range(out_height):
            row_start, row_stop = bin_bounds(oh, out_height, height)
            for ow in range(out_width):
                column_start, column_stop = bin_bounds(ow, out_width, width)
                total = 0.0
                for row in range(row_start, row_stop):
                    for column in range(column_start, column_stop):
                        total += x[n, c, row, column]
                out[n, c, oh, ow] = total / ((row_stop - row_start) * (column_stop - column_start))


@cpu_kernel
def adaptive_avg_general_backward(grad_out, grad_x):
    """grad_x[n, c] = 0, then += grad_out[n, c, oh, ow] / bin size over every cell of every bin."""
    channels, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    out_height, out_width = grad_out.shape[2], grad_out.shape[3]
    for plane in prange(grad_x.shape[0] * channels):
        n, c = plane // channels, plane % channels
        grad_x[n, c, :, :] = 0.0
        for oh in range(out_height):
            row_start, row_stop = bin_bounds(oh, out_height, height)
            for ow in range(out_width):
                column_start, column_stop = bin_bounds(ow, out_width, width)
                share = grad_out[n, c, oh, ow] / ((row_stop - row_start) * (column_stop - column_start))
                for row in range(row_start, row_stop):
                    for column in range(column_start, column_stop):
                        grad_x[n, c, row, column] += share


@cpu_kernel
def adaptive_max_pool2d_forward(x, out, indices):
    """out[n, c, oh, ow] = max of x[n, c] over bin (oh, ow);  indices = row * W + column of it.

    Ties go to the first cell in row-major order (strict >); a NaN is always taken, so it
    propagates: PyTorch's ``val > max || isnan(val)``. Bins are never empty.
    """
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    out_height, out_width = out.shape[2], out.shape[3]
    for plane in prange(x.shape[0] * channels):
        n, c = plane // channels, plane % channels
        for oh in range(out_height):
            row_start, row_stop = bin_bounds(oh, out_height, height)
            for ow in range(out_width):
                column_start, column_stop = bin_bounds(ow, out_width, width)
                best = x[n, c, row_start, column_start]
                best_index = row_start * width + column_start
                for row in range(row_start, row_stop):
                    for column in range(column_start, column_stop):
                        value = x[n, c, row, column]
                        if value > best or value != value:
                            best = value
                            best_index = row * width + column
                out[n, c, oh, ow] = best
                indices[n, c, oh, ow] = best_index
