"""Reductions on the GPU: sum, max, min, argmax and argmin of a strided view over some of its axes.

The view is NumPy's model over a whole 1-D device buffer (see ufunc.py): an element offset and
element strides. Its axes come split in two: the kept axes (``kept_shape``, ``kept_strides``),
one output per kept multi-index, written in row-major order into a contiguous ``out``; and the
reduced axes (``reduced_shape``, ``reduced_strides``), walked in row-major order, so that
argmax / argmin report the flat row-major position inside the reduced sub-shape, as
``np.argmax`` does once the reduced axes are moved last and flattened.

Scheme: one block per output. The block's threads stride over the reduction (thread t takes
positions t, t + block size, ...; neighbouring threads read neighbouring elements when the last
reduced axis is contiguous), each keeps its own running sum / extreme (with its position for
arg*), and a shared-memory tree (halving the active threads each round, a barrier between
rounds) leaves the block's result in slot 0. The block is the power of two that covers the
reduction, between a warp and ``MAX_THREADS``: a softmax row of 10 classes gets 32 threads.
A thread with no element (a reduction shorter than the block) offers nothing: slots at or past
the element count never enter the tree, so max and min need no identity value.

Few outputs with long reductions (the sum of 3 million elements into 1, a conv bias gradient:
32 outputs of 78,400) would leave most of the GPU idle with one block per output: one block
runs on one of an H100's 132 multiprocessors, with a few hundred loads in flight, and would take
a millisecond or more to stream 12 MB. So each reduction is cut into ``chunk_count`` contiguous
chunks of at least ``CHUNK_LENGTH`` elements, enough chunks to give about ``TARGET_BLOCKS``
blocks in all; a first launch reduces every chunk in its own block into a temporary partials
array (values, or positions for arg*), and a second launch reduces each output's partials with
one block, the same way. Expected on an H100 for the 3 M-element float32 sum: 732 blocks of 256
threads, 16 elements a thread, 12 MB read in about 5 µs at 3 TB/s, then one block over 732
partials; in all some 10-20 µs with the two launches and the partials' allocation, against
1-2 ms in a single block.

Deterministic: which thread adds which elements, and in which order the tree combines them,
depends on the shapes only, never on timing (no atomics), so a sum is the same bits on every run.
Sums accumulate in x's dtype, like NumPy's; the per-thread runs are short and the tree is
pairwise, so float32 error stays near NumPy's pairwise sum. Max and min propagate NaN (any NaN
gives NaN); argmax and argmin take the first extreme, NaN counting as the extreme (the first
NaN wins), as ``np.argmax``: equal values go to the lower position, in the per-thread loops
(which visit positions in increasing order) and in the tree (which compares positions).
"""
import math

from numba import cuda, float32, float64, int64, types

__all__ = ["reduce_axes"]

SUM = 0
MAX = 1
MIN = 2
ARGMAX = 3
ARGMIN = 4

WARP_SIZE = 32
MAX_THREADS = 256  # also the length of the shared arrays: a compile-time constant
# Split reductions into chunks when there are fewer outputs than this many blocks ...
TARGET_BLOCKS = 1024
# ... and each chunk keeps at least this many elements (16 a thread in a block of 256): shorter
# chunks would spend more on their tree and the second launch than on reading.
CHUNK_LENGTH = 4096


def threads_for(length):
    """The smallest power of two covering ``length``, between a warp and MAX_THREADS."""
    threads = WARP_SIZE
    while threads < length and threads < MAX_THREADS:
        threads *= 2
    return threads


def chunks_for(output_count, reduced_size):
    """How many chunks to cut each reduction into: 1 (one pass) unless outputs are few and long."""
    if output_count >= TARGET_BLOCKS or reduced_size < 2 * CHUNK_LENGTH:
        return 1
    chunk_count = min(reduced_size // CHUNK_LENGTH, math.ceil(TARGET_BLOCKS / output_count))
    # Equal chunks, none empty: recount after rounding the length up.
    return math.ceil(reduced_size / math.ceil(reduced_size / chunk_count))


# The kernels write their index arithmetic out in full: a kernel that calls a device function
# cannot be compiled to PTX without a GPU. A position is peeled off its row-major number last
# axis first; what is left is the index along axis 0.

@cuda.jit
def reduce_kernel(operation, x, x_offset, kept_shape, kept_strides, reduced_shape, reduced_strides, chunk_count,
                  chunk_length, reduced_size, out):
    """out[b] = sum / max / min of x[kept(b // chunk_count) + reduced(r)], r in chunk b % chunk_count"""
    block = cuda.blockIdx.x
    thread = cuda.threadIdx.x
    threads = cuda.blockDim.x
    start = (block % chunk_count) * chunk_length
    count = reduced_size - start
    if count > chunk_length:  # noqa: PLR1730 (min() compiles a device function: no PTX without a GPU)
        count = chunk_length

    remaining = block // chunk_count
    base = x_offset
    for axis in range(len(kept_shape) - 1, 0, -1):
        base += (remaining % kept_shape[axis]) * kept_strides[axis]
        remaining //= kept_shape[axis]
    base += remaining * kept_strides[0]

    # Each thread's own run: positions start + thread, + threads, ... in increasing order.
    accumulator = x.dtype.type(0)
    for r in range(start + thread, start + count, threads):
        remaining = r
        position = base
        for axis in range(len(reduced_shape) - 1, 0, -1):
            position += (remaining % reduced_shape[axis]) * reduced_strides[axis]
            remaining //= reduced_shape[axis]
        position += remaining * reduced_strides[0]
        value = x[position]
        if r == start + thread:
            accumulator = value  # not 0 + value, which would turn a lone -0.0 into +0.0
        elif operation == SUM:
            accumulator += value
        elif operation == MAX:
            if value > accumulator or value != value:  # noqa: PLR0124 (a NaN replaces anything, and stays)
                accumulator = value
        elif value < accumulator or value != value:  # MIN  # noqa: PLR0124
            accumulator = value

    # The tree: slot t takes in slot t + stride; slots at or past `count` belong to threads that
    # had no element, and are never read.
    partial = cuda.shared.array(MAX_THREADS, x.dtype)
    partial[thread] = accumulator
    cuda.syncthreads()
    stride = threads // 2
    while stride > 0:
        if thread < stride and thread + stride < count:
            other = partial[thread + stride]
            if operation == SUM:
                partial[thread] += other
            elif operation == MAX:
                if other > partial[thread] or other != other:  # noqa: PLR0124
                    partial[thread] = other
            elif other < partial[thread] or other != other:  # noqa: PLR0124
                partial[thread] = other
        cuda.syncthreads()  # every slot is final before the next round reads it
        stride //= 2
    if thread == 0:
        out[block] = partial[0]


@cuda.jit
def argreduce_kernel(operation, x, x_offset, kept_shape, kept_strides, reduced_shape, reduced_strides, chunk_count,
                     chunk_length, reduced_size, out):
    """out[b] = first r in chunk b % chunk_count with x[kept(b // chunk_count) + reduced(r)] extreme (NaN first)"""
    block = cuda.blockIdx.x
    thread = cuda.threadIdx.x
    threads = cuda.blockDim.x
    start = (block % chunk_count) * chunk_length
    count = reduced_size - start
    if count > chunk_length:  # noqa: PLR1730
        count = chunk_length

    remaining = block // chunk_count
    base = x_offset
    for axis in range(len(kept_shape) - 1, 0, -1):
        base += (remaining % kept_shape[axis]) * kept_strides[axis]
        remaining //= kept_shape[axis]
    base += remaining * kept_strides[0]

    # Each thread's own run, in increasing position: only a strictly better value takes over.
    best = x.dtype.type(0)
    best_position = start
    for r in range(start + thread, start + count, threads):
        remaining = r
        position = base
        for axis in range(len(reduced_shape) - 1, 0, -1):
            position += (remaining % reduced_shape[axis]) * reduced_strides[axis]
            remaining //= reduced_shape[axis]
        position += remaining * reduced_strides[0]
        value = x[position]
        # A NaN beats any number and no later NaN beats it.
        nan_beats = value != value and best == best  # noqa: PLR0124
        if operation == ARGMAX:
            better = value > best or nan_beats
        else:
            better = value < best or nan_beats
        if r == start + thread or better:
            best = value
            best_position = r

    # The tree: a strictly better value wins, a tie (NaN ties NaN) goes to the lower position.
    partial = cuda.shared.array(MAX_THREADS, x.dtype)
    partial_position = cuda.shared.array(MAX_THREADS, int64)
    partial[thread] = best
    partial_position[thread] = best_position
    cuda.syncthreads()
    stride = threads // 2
    while stride > 0:
        if thread < stride and thread + stride < count:
            mine = partial[thread]
            other = partial[thread + stride]
            mine_is_nan = mine != mine  # noqa: PLR0124
            other_is_nan = other != other  # noqa: PLR0124
            if operation == ARGMAX:
                better = other > mine or (other_is_nan and not mine_is_nan)
            else:
                better = other < mine or (other_is_nan and not mine_is_nan)
            tie = other == mine or (other_is_nan and mine_is_nan)
            if better or (tie and partial_position[thread + stride] < partial_position[thread]):
                partial[thread] = other
                partial_position[thread] = partial_position[thread + stride]
        cuda.syncthreads()
        stride //= 2
    if thread == 0:
        out[block] = partial_position[0]


@cuda.jit
def argreduce_partials_kernel(operation, x, x_offset, kept_shape, kept_strides, reduced_shape, reduced_strides,
                              chunk_count, partial_positions, out):
    """out[k] = the first extreme among the chunk winners partial_positions[k * chunk_count + c], values reread from x"""
    output = cuda.blockIdx.x
    thread = cuda.threadIdx.x
    threads = cuda.blockDim.x

    remaining = output
    base = x_offset
    for axis in range(len(kept_shape) - 1, 0, -1):
        base += (remaining % kept_shape[axis]) * kept_strides[axis]
        remaining //= kept_shape[axis]
    base += remaining * kept_strides[0]

    # The chunks' positions increase with c, so the loops' rule (strictly better takes over) holds.
    best = x.dtype.type(0)
    best_position = partial_positions[output * chunk_count]
    for c in range(thread, chunk_count, threads):
        r = partial_positions[output * chunk_count + c]
        remaining = r
        position = base
        for axis in range(len(reduced_shape) - 1, 0, -1):
            position += (remaining % reduced_shape[axis]) * reduced_strides[axis]
            remaining //= reduced_shape[axis]
        position += remaining * reduced_strides[0]
        value = x[position]
        nan_beats = value != value and best == best  # noqa: PLR0124
        if operation == ARGMAX:
            better = value > best or nan_beats
        else:
            better = value < best or nan_beats
        if c == thread or better:
            best = value
            best_position = r

    partial = cuda.shared.array(MAX_THREADS, x.dtype)
    partial_position = cuda.shared.array(MAX_THREADS, int64)
    partial[thread] = best
    partial_position[thread] = best_position
    cuda.syncthreads()
    stride = threads // 2
    while stride > 0:
        if thread < stride and thread + stride < chunk_count:
            mine = partial[thread]
            other = partial[thread + stride]
            mine_is_nan = mine != mine  # noqa: PLR0124
            other_is_nan = other != other  # noqa: PLR0124
            if operation == ARGMAX:
                better = other > mine or (other_is_nan and not mine_is_nan)
            else:
                better = other < mine or (other_is_nan and not mine_is_nan)
            tie = other == mine or (other_is_nan and mine_is_nan)
            if better or (tie and partial_position[thread + stride] < partial_position[thread]):
                partial[thread] = other
                partial_position[thread] = partial_position[thread + stride]
        cuda.syncthreads()
        stride //= 2
    if thread == 0:
        out[output] = partial_position[0]


def reduce_axes(operation, x, x_offset, kept_shape, kept_strides, reduced_shape, reduced_strides, out):
    """out[k] = operation over the reduced axes of x at kept multi-index k (row-major), into contiguous ``out``.

    SUM / MAX / MIN write x's dtype, ARGMAX / ARGMIN int64 flat positions in the reduced sub-shape.
    Empty tuples go as (1,) with strides (0,); the reduction must not be empty."""
    kept_shape, kept_strides = tuple(kept_shape), tuple(kept_strides)
    reduced_shape, reduced_strides = tuple(reduced_shape), tuple(reduced_strides)
    output_count = math.prod(kept_shape)
    reduced_size = math.prod(reduced_shape)
    if output_count == 0:
        return  # a grid of zero blocks is an error, and there is nothing to do
    if reduced_size == 0:
        raise ValueError("reduce_axes: the reduction is empty (max, min, argmax and argmin have no identity)")
    if operation not in (SUM, MAX, MIN, ARGMAX, ARGMIN):
        raise ValueError(f"reduce_axes: unknown operation code {operation}")
    view = (x, x_offset, kept_shape, kept_strides, reduced_shape, reduced_strides)
    chunk_count = chunks_for(output_count, reduced_size)
    chunk_length = math.ceil(reduced_size / chunk_count)
    if operation in (SUM, MAX, MIN):
        if chunk_count == 1:
            reduce_kernel[output_count, threads_for(reduced_size)](operation, *view, 1, reduced_size, reduced_size, out)
            return
        partials = cuda.device_array(output_count * chunk_count, x.dtype)
        reduce_kernel[output_count * chunk_count, threads_for(chunk_length)](
            operation, *view, chunk_count, chunk_length, reduced_size, partials)
        # The partials are a contiguous (outputs, chunks) array: reduce its rows the same way.
        reduce_kernel[output_count, threads_for(chunk_count)](
            operation, partials, 0, (output_count,), (chunk_count,), (chunk_count,), (1,), 1, chunk_count, chunk_count,
            out)
        return
    if chunk_count == 1:
        argreduce_kernel[output_count, threads_for(reduced_size)](operation, *view, 1, reduced_size, reduced_size, out)
        return
    partial_positions = cuda.device_array(output_count * chunk_count, "int64")
    argreduce_kernel[output_count * chunk_count, threads_for(chunk_length)](
        operation, *view, chunk_count, chunk_length, reduced_size, partial_positions)
    argreduce_partials_kernel[output_count, threads_for(chunk_count)](operation, *view, chunk_count, partial_positions, out)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import):
# each dtype once; (1, 1) axes is the second pass over the partials.
def _view(dtype, kept_axes, reduced_axes):
    return (int64, dtype[:], int64, types.UniTuple(int64, kept_axes), types.UniTuple(int64, kept_axes),
            types.UniTuple(int64, reduced_axes), types.UniTuple(int64, reduced_axes))


DTYPE_AXES = [(float32, 1, 1), (float64, 2, 3), (int64, 2, 1)]
PTX_SIGNATURES = {
    "reduce_kernel": [(*_view(dtype, *axes), int64, int64, int64, dtype[:]) for dtype, *axes in DTYPE_AXES],
    "argreduce_kernel": [(*_view(dtype, *axes), int64, int64, int64, int64[:]) for dtype, *axes in DTYPE_AXES],
    "argreduce_partials_kernel": [(*_view(dtype, *axes), int64, int64[:], int64[:]) for dtype, *axes in DTYPE_AXES],
}
