"""Matrix product ``out = a @ b`` (and its batched form) as a shared-memory, register-tiled kernel.

The scheme (the classic SGEMM ladder's "2D block tiling" step):

- Grid: one block of 16 x 16 threads per 64 x 64 tile of out. ``blockIdx.x`` picks the tile's
  rows (the long axis of deep-learning products, and grid x allows 2**31 - 1 blocks),
  ``blockIdx.y`` its columns, ``blockIdx.z`` the matrix of a batch.
- Register tile: each thread computes 4 x 4 outputs, rows ``thread_row + 16 i`` and columns
  ``thread_column + 16 j`` of the block's tile. Its 16 sums stay in registers for the whole
  shared dimension k and each output is written once, by one thread: no atomics, and every
  sum runs over k in the same order, so results are deterministic.
- Shared memory: k is walked in steps of 16. At each step the 256 threads copy a 64 x 16 slice
  of a and a 16 x 64 slice of b into shared memory (4 elements each per thread), both stored
  k-major (``a_tile[step, row]``, ``b_tile[step, column]``), then each thread runs the 16 steps
  as rank-1 updates: 4 values of a and 4 of b from shared memory feed 16 multiply-adds.
  Elements past the edges of a or b are loaded as zeros, so edge tiles need no special path;
  padded rows and columns are never stored, and padded steps multiply two zeros, so an inf or
  NaN reaches an output only through a real product (as in NumPy).
- Global loads follow each operand's contiguous axis, chosen from its strides (a C-ordered a
  is read along its rows, ``a = x.T`` along its columns), so a warp's loads coalesce for every
  layout a linear layer uses (``x @ W``, ``x @ W.T``, ``x.T @ g``). The shared rows are padded
  to 65 elements, so the transposing stores of a k-contiguous operand (neighbouring threads,
  neighbouring steps) hit at worst two-way bank conflicts instead of sixteen-way.
- Strided mapping: a thread's columns are 16 apart rather than adjacent, so the 16 threads of a
  half-warp read 16 neighbouring elements of ``b_tile`` (no bank conflicts) and store 16
  neighbouring elements of out (coalesced). Adjacent columns per thread would need 128-bit
  vector loads to avoid 4-way bank conflicts, which Numba's CUDA Python does not expose.

What to expect on an H100 (not measured: this was written on a machine without a GPU): the
inner loop issues 8 shared-memory loads per 16 fused multiply-adds per thread. An SM serves one
warp-wide 32-bit shared load per cycle but retires four warp-wide FMAs, so shared memory caps the
kernel at half of the FP32 peak (67 TFLOP/s on an SXM H100), and global loads, barriers and
Numba's 64-bit index arithmetic take more: expect about 15-25 TFLOP/s at 4096**3 float32, a third
to a half of cuBLAS SGEMM in strict FP32 (about 50 TFLOP/s); against cuBLAS with TF32 tensor
cores enabled (``torch.backends.cuda.matmul.allow_tf32``) it is under a tenth. float64 fares
worse (64-bit shared loads take two cycles, and cuBLAS DGEMM uses the FP64 tensor cores). The
next steps up the ladder are 8 x 8 outputs per thread on a 128 x 128 tile (half the shared loads
per FMA, making it FMA bound), warp tiling and double-buffered loads; tensor cores are out of
reach of Numba's CUDA Python. Small products (a 100 x 784 batch times 784 x 10) run a handful of
blocks and are bound by the launch itself (tens of microseconds from Python). The first launch
for each combination of array layouts (C, F, any) and dtype compiles the kernel (under a second).

The kernels are compiled from one body (``tiled_matmul_kernel``) for 2-D and for batched 3-D
arrays: CUDA device functions cannot be compiled to PTX without a GPU present (the PTX test
runs without one), so the shared body is a kernel factory whose ``batched`` flag Numba resolves
at compile time.
"""
from numba import cuda

# The entry points the backend calls; the same names and arguments as kernels/cpu/matmul.py.
__all__ = ["matmul", "batched_matmul"]  # noqa: RUF022 (the CPU order: the parity test compares lists)

# Outputs per thread along each side (a 4 x 4 register tile).
THREAD_TILE = 4
# Threads per block along each side (16 x 16 = 256 threads).
THREADS_PER_SIDE = 16
BLOCK_THREADS = THREADS_PER_SIDE * THREADS_PER_SIDE
# Outputs per block along each side (a 64 x 64 tile of out).
BLOCK_TILE = THREADS_PER_SIDE * THREAD_TILE
# Steps of the shared dimension k per shared-memory stage.
DEPTH_TILE = 16
# Shared rows one element longer than a tile: the transposing stores of a k-contiguous operand
# (threads one step apart, 64 elements apart unpadded: all one bank) then land in different banks.
PADDED_BLOCK_TILE = BLOCK_TILE + 1
# Elements of each operand's slice that each thread copies per stage (64 * 16 / 256 = 4).
LOADS_PER_THREAD = DEPTH_TILE * BLOCK_TILE // BLOCK_THREADS
# The CUDA limit on gridDim.y and gridDim.z (column tiles, batch).
GRID_LIMIT = 65535


def tiled_matmul_kernel(batched):
    """The tiled kernel, for (M, K) @ (K, N) matrices, or for batches of them when ``batched``.

    ``batched`` is a constant of the closure, so Numba compiles only the branch it selects (the
    two branches give the matrices different types).
    """

    @cuda.jit
    def kernel(a, b, out):
        """``out[row, column] = sum_k a[row, k] * b[k, column]`` for one 64 x 64 tile of out."""
        if batched:
            batch = cuda.blockIdx.z
            a = a[batch]
            b = b[batch]
            out = out[batch]
        rows, depth = a.shape
        columns = b.shape[1]
        # a_tile[step, row] = a[first_row + row, depth_start + step] and
        # b_tile[step, column] = b[depth_start + step, first_column + column], zeros past the edges.
        a_tile = cuda.shared.array((DEPTH_TILE, PADDED_BLOCK_TILE), a.dtype)
        b_tile = cuda.shared.array((DEPTH_TILE, PADDED_BLOCK_TILE), b.dtype)
        # Fixed-size local arrays indexed by unrolled loops: the compiler keeps them in registers.
        sums = cuda.local.array((THREAD_TILE, THREAD_TILE), out.dtype)
        a_values = cuda.local.array(THREAD_TILE, a.dtype)
        b_values = cuda.local.array(THREAD_TILE, b.dtype)

        thread_row = cuda.threadIdx.y
        thread_column = cuda.threadIdx.x
        thread = thread_row * THREADS_PER_SIDE + thread_column
        first_row = cuda.blockIdx.x * BLOCK_TILE
        first_column = cuda.blockIdx.y * BLOCK_TILE
        # Read each operand along its contiguous axis: neighbouring threads, neighbouring addresses.
        a_rows_contiguous = a.strides[1] <= a.strides[0]
        b_rows_contiguous = b.strides[1] <= b.strides[0]

        for i in range(THREAD_TILE):
            for j in range(THREAD_TILE):
                sums[i, j] = 0

        for depth_start in range(0, depth, DEPTH_TILE):
            # Load: the block copies a 64 x 16 slice of a and a 16 x 64 slice of b.
            for load in range(LOADS_PER_THREAD):
                element = thread + load * BLOCK_THREADS
                if a_rows_contiguous:
                    step = element % DEPTH_TILE
                    row = element // DEPTH_TILE
                else:
                    step = element // BLOCK_TILE
                    row = element % BLOCK_TILE
                if first_row + row < rows and depth_start + step < depth:
                    a_tile[step, row] = a[first_row + row, depth_start + step]
                else:
                    a_tile[step, row] = 0
                if b_rows_contiguous:
                    step = element // BLOCK_TILE
                    column = element % BLOCK_TILE
                else:
                    step = element % DEPTH_TILE
                    column = element // DEPTH_TILE
                if depth_start + step < depth and first_column + column < columns:
                    b_tile[step, column] = b[depth_start + step, first_column + column]
                else:
                    b_tile[step, column] = 0
            # Sync: every slice element is in shared memory before anyone reads it.
            cuda.syncthreads()
            # Accumulate: one rank-1 update of the 4 x 4 register tile per step.
            for step in range(DEPTH_TILE):
                for i in range(THREAD_TILE):
                    a_values[i] = a_tile[step, thread_row + i * THREADS_PER_SIDE]
                for j in range(THREAD_TILE):
                    b_values[j] = b_tile[step, thread_column + j * THREADS_PER_SIDE]
                for i in range(THREAD_TILE):
                    for j in range(THREAD_TILE):
                        sums[i, j] += a_values[i] * b_values[j]
            # Sync: everyone is done with the slices before the next stage overwrites them.
            cuda.syncthreads()

        # Store: the in-bounds part of the register tile (K == 0 stores zeros).
        for i in range(THREAD_TILE):
            row = first_row + thread_row + i * THREADS_PER_SIDE
            for j in range(THREAD_TILE):
                column = first_column + thread_column + j * THREADS_PER_SIDE
                if row < rows and column < columns:
                    out[row, column] = sums[i, j]

    return kernel


matmul_kernel = tiled_matmul_kernel(batched=False)
batched_matmul_kernel = tiled_matmul_kernel(batched=True)

# Argument types the PTX test compiles each kernel for (any layout: "A" arrays).
PTX_SIGNATURES = {
    "matmul_kernel": ["void(float32[:, :], float32[:, :], float32[:, :])",
                      "void(float64[:, :], float64[:, :], float64[:, :])"],
    "batched_matmul_kernel": ["void(float32[:, :, :], float32[:, :, :], float32[:, :, :])",
                              "void(float64[:, :, :], float64[:, :, :], float64[:, :, :])"],
}


def tiles(length):
    """Blocks of ``BLOCK_TILE`` that cover ``length``."""
    return (length + BLOCK_TILE - 1) // BLOCK_TILE


def check_shapes(name, a, b, out):
    """Raise before launching when the shapes disagree: a kernel reads out of bounds silently."""
    # Plain tuples: the simulator's shapes refuse negative indices, like shapes inside kernels.
    a_shape, b_shape, out_shape = tuple(a.shape), tuple(b.shape), tuple(out.shape)
    batch = a_shape[:-2]
    expected = batch + (a_shape[-2], b_shape[-1])
    if a_shape[-1] != b_shape[-2] or b_shape[:-2] != batch or out_shape != expected:
        raise ValueError(f"{name}: a {a_shape} @ b {b_shape} does not fit out {out_shape}")
    if len({a.dtype, b.dtype, out.dtype}) != 1:
        raise ValueError(f"{name}: a, b and out must share one dtype, got "
                         f"{a.dtype}, {b.dtype}, {out.dtype}")
    if tiles(out_shape[-1]) > GRID_LIMIT:
        raise ValueError(f"{name}: {out_shape[-1]} columns exceed the grid's "
                         f"{GRID_LIMIT} column tiles of {BLOCK_TILE}")


def matmul(a, b, out):
    """``out = a @ b`` for device arrays a (M, K), b (K, N), out (M, N) of any strides, one dtype.

    K == 0 writes zeros. One block per 64 x 64 tile of out (module docstring).
    """
    check_shapes("matmul", a, b, out)
    rows, columns = out.shape
    if rows == 0 or columns == 0:
        return  # nothing to write, and CUDA rejects an empty grid
    grid = (tiles(rows), tiles(columns))
    matmul_kernel[grid, (THREADS_PER_SIDE, THREADS_PER_SIDE)](a, b, out)


def batched_matmul(a, b, out):
    """``out[i] = a[i] @ b[i]`` for device arrays a (B, M, K), b (B, K, N), out (B, M, N).

    Any strides, including a batch stride of 0 for a broadcast a or b (``cuda.to_device`` of a
    ``np.broadcast_to`` array keeps it); out's elements must not overlap. One launch for the
    whole batch (grid z), at most 65535 matrices.
    """
    check_shapes("batched_matmul", a, b, out)
    batches, rows, columns = out.shape
    if batches > GRID_LIMIT:
        raise ValueError(f"batched_matmul: {batches} matrices exceed the grid's {GRID_LIMIT}")
    if batches == 0 or rows == 0 or columns == 0:
        return
    grid = (tiles(rows), tiles(columns), batches)
    batched_matmul_kernel[grid, (THREADS_PER_SIDE, THREADS_PER_SIDE)](a, b, out)
