"""Fused softmax cross-entropy on the GPU: per-row loss and its gradient with respect to the logits.

Scheme: one thread block per row, always. The block's threads stride across the row's columns
(thread t takes columns t, t + block size, ...), so a warp reads 32 neighbouring logits at once,
and the row goes through the same three passes as in kernels/cpu/softmax_xent.py:
  1. max: each thread keeps the largest of its columns; a shared-memory tree (halving the active
     threads each round, a barrier between rounds) leaves the row's max in slot 0;
  2. exponentials: each thread writes exp(logit - max) into its columns of the gradient row and
     sums them, and the shifted logits, in float64 as the CPU kernel does; two more trees give
     the row's sums;
  3. scaling: each thread turns its columns into softmax - smoothed one-hot; thread 0 writes the
     loss. A thread rereads only the gradient elements it wrote itself, so no barrier is needed.
A tree always adds the same values in the same order, so results are deterministic (they differ
from the CPU's serial sums only by rounding).

Why one block per row and not one thread per row for few classes: wide rows (a thousand classes
or a vocabulary) are where the time goes, and they need a whole block to read coalesced and to
reduce in parallel. For MNIST's 10 classes a block of one warp (32 threads) leaves 22 lanes idle,
but the whole batch (100 rows x 10 logits, 4 KB) costs less than the kernel launch (a few µs)
either way, so a second, per-thread kernel would add code and no measurable speed.

The block size is the power of two that covers the row (``threads_per_row``), at least a warp
and at most ``MAX_THREADS_PER_ROW``, whose value also sizes the shared arrays.

``count_targets`` counts the rows whose target is a class index and those whose target is
neither a class index nor ``ignore_index`` (an error the caller reports), in one launch without
atomics: each block counts a grid-stride share of the targets and sums its threads' counts in
shared-memory trees into one pair of partial counts; the pairs (a few hundred at most) come to
the host in one copy, the only wait for the GPU in a step, and are added there.

Performance: the loss reads each logit once and writes each gradient element once (the
exponentials' round trip through the gradient row stays in L2 for rows of a few thousand
classes), so it is memory-bound: about 8 bytes per float32 logit, e.g. 100 x 1000 logits in
well under 10 µs on an H100, launch included. The float64 sums cost two float64 adds per logit,
which an H100 does at half the float32 rate: far below the memory time.
"""
import math

from numba import cuda, float32, float64, int64

# The entry points the backend calls: the same names and arguments as kernels/cpu/softmax_xent.py.
__all__ = ["count_targets", "softmax_cross_entropy"]

WARP_SIZE = 32
MAX_THREADS_PER_ROW = 256  # also the length of the shared arrays: a compile-time constant

COUNT_THREADS_PER_BLOCK = 256
# Enough blocks to fill a GPU; more targets than they have threads are counted grid-stride.
COUNT_MAX_BLOCKS = COUNT_THREADS_PER_BLOCK


def threads_per_row(class_count):
    """The smallest power of two covering the row, between a warp and MAX_THREADS_PER_ROW."""
    threads = WARP_SIZE
    while threads < class_count and threads < MAX_THREADS_PER_ROW:
        threads *= 2
    return threads


@cuda.jit
def softmax_cross_entropy_kernel(logits, targets, label_smoothing, ignore_index, losses, grad_logits):
    """loss = (1-s) * -log_p[t] + s * mean_c(-log_p[c]),  grad = softmax - ((1-s) * onehot(t) + s/C)."""
    row = cuda.blockIdx.x
    thread = cuda.threadIdx.x
    threads = cuda.blockDim.x
    class_count = logits.shape[1]
    target = targets[row]
    ignored = target == ignore_index  # the same for the whole block: every thread takes the same path

    # 1. The largest logit, subtracted before exp so that exp never overflows. A thread with no
    # column offers -inf, which loses to every logit. A NaN logit does not need to win: it turns
    # the sum below, and so the whole row, into NaN, as on the CPU.
    partial_max = cuda.shared.array(MAX_THREADS_PER_ROW, logits.dtype)
    local_max = logits.dtype.type(-math.inf)  # typed as the logits: a bare -math.inf is a float64
    for c in range(thread, class_count, threads):
        # Not max(): in a CUDA kernel it compiles a device function, which wants a GPU to compile for.
        if logits[row, c] > local_max:  # noqa: PLR1730
            local_max = logits[row, c]
    partial_max[thread] = local_max
    cuda.syncthreads()
    stride = threads // 2
    while stride > 0:
        if thread < stride and partial_max[thread + stride] > partial_max[thread]:
            partial_max[thread] = partial_max[thread + stride]
        cuda.syncthreads()  # every thread's slot is final before the next round reads it
        stride //= 2
    row_max = partial_max[0]  # in the logits' dtype, so the shifts below round as on the CPU

    # 2. Park the unnormalised softmax in the gradient row; sum it, and the shifted logits, in float64.
    partial_exp_sum = cuda.shared.array(MAX_THREADS_PER_ROW, float64)
    partial_shifted_sum = cuda.shared.array(MAX_THREADS_PER_ROW, float64)
    exp_sum = 0.0
    shifted_sum = 0.0
    for c in range(thread, class_count, threads):
        shifted = logits[row, c] - row_max
        shifted_sum += shifted
        exponential = math.exp(shifted)
        exp_sum += exponential
        grad_logits[row, c] = exponential
    partial_exp_sum[thread] = exp_sum
    partial_shifted_sum[thread] = shifted_sum
    cuda.syncthreads()
    stride = threads // 2
    while stride > 0:
        if thread < stride:
            partial_exp_sum[thread] += partial_exp_sum[thread + stride]
            partial_shifted_sum[thread] += partial_shifted_sum[thread + stride]
        cuda.syncthreads()
        stride //= 2
    exp_sum = partial_exp_sum[0]

    inverse_sum = 1.0 / exp_sum
    if ignored:
        # A zero loss; the gradient 0 * softmax: zero, or NaN where the softmax is NaN, as on the CPU.
        if thread == 0:
            losses[row] = 0
        for c in range(thread, class_count, threads):
            grad_logits[row, c] = grad_logits[row, c] * inverse_sum * 0.0
        return

    # 3. -log_p[c] = log_exp_sum - shifted[c], so no logit-sized term is ever cancelled.
    if thread == 0:
        log_exp_sum = math.log(exp_sum)
        loss = (1.0 - label_smoothing) * (log_exp_sum - (logits[row, target] - row_max))
        # Skipped at s = 0 as PyTorch does: a -inf logit would otherwise give 0 * inf = NaN.
        if label_smoothing != 0.0:
            loss += label_smoothing * (log_exp_sum - partial_shifted_sum[0] / class_count)
        losses[row] = loss
    smoothing_per_class = label_smoothing / class_count
    for c in range(thread, class_count, threads):
        grad_logits[row, c] = grad_logits[row, c] * inverse_sum - smoothing_per_class
        if c == target:
            # Two roundings, as on the CPU: the stored softmax term, then the one-hot subtracted.
            grad_logits[row, c] -= 1.0 - label_smoothing


@cuda.jit
def count_targets_per_block(targets, class_count, ignore_index, block_counts):
    """block_counts[block] = (valid, out of range) among the block's grid-stride share of the targets."""
    thread = cuda.threadIdx.x
    valid = 0
    out_of_range = 0
    for n in range(cuda.grid(1), targets.shape[0], cuda.gridsize(1)):
        target = targets[n]
        if target != ignore_index:
            if 0 <= target < class_count:
                valid += 1
            else:
                out_of_range += 1
    valid_counts = cuda.shared.array(COUNT_THREADS_PER_BLOCK, int64)
    out_of_range_counts = cuda.shared.array(COUNT_THREADS_PER_BLOCK, int64)
    valid_counts[thread] = valid
    out_of_range_counts[thread] = out_of_range
    cuda.syncthreads()
    stride = cuda.blockDim.x // 2
    while stride > 0:
        if thread < stride:
            valid_counts[thread] += valid_counts[thread + stride]
            out_of_range_counts[thread] += out_of_range_counts[thread + stride]
        cuda.syncthreads()
        stride //= 2
    if thread == 0:
        block_counts[cuda.blockIdx.x, 0] = valid_counts[0]
        block_counts[cuda.blockIdx.x, 1] = out_of_range_counts[0]


def softmax_cross_entropy(logits, targets, label_smoothing, ignore_index, losses, grad_logits):
    """Per-row loss into ``losses`` (N,) and its gradient into ``grad_logits`` (N, C), on device arrays.

    Rows whose target equals ``ignore_index`` get a zero loss and the gradient 0 * softmax. Sums are
    accumulated in float64 whatever the logits' dtype; outputs take the logits' dtype.
    """
    row_count, class_count = logits.shape
    if row_count == 0:
        return  # a grid of zero blocks is an error, and there is no row to do
    softmax_cross_entropy_kernel[row_count, threads_per_row(class_count)](
        logits, targets, float(label_smoothing), int(ignore_index), losses, grad_logits)


def count_targets(targets, class_count, ignore_index):
    """(valid, out_of_range) as Python ints: rows whose target is a class index, and rows whose
    target is neither a class index nor ``ignore_index``. Copying them back waits for the GPU."""
    size = targets.shape[0]
    if size == 0:
        return 0, 0
    blocks = min(math.ceil(size / COUNT_THREADS_PER_BLOCK), COUNT_MAX_BLOCKS)
    block_counts = cuda.device_array((blocks, 2), dtype="int64")
    count_targets_per_block[blocks, COUNT_THREADS_PER_BLOCK](targets, int(class_count), int(ignore_index),
                                                             block_counts)
    # At most COUNT_MAX_BLOCKS pairs (4 KB): one copy, as for two numbers, and NumPy adds them.
    valid, out_of_range = block_counts.copy_to_host().sum(axis=0)
    return int(valid), int(out_of_range)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import).
PTX_SIGNATURES = {
    "softmax_cross_entropy_kernel": [
        (dtype[:, :], int64[:], float64, int64, dtype[:], dtype[:, :]) for dtype in (float32, float64)
    ],
    "count_targets_per_block": [(int64[:], int64, int64, int64[:, :])],
}
