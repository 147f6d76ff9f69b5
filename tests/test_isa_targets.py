"""Every CPU kernel compiled for the vector ISAs this machine is not, and checked against NumPy.

The rest of the suite compiles the kernels for the host. Their register tiles are sized per target
(``kernels/cpu/target.py``: 64-byte vectors and 32 registers on AVX-512, 32 and 16 on AVX2, 16
and 16 on SSE-only x86-64), so each ISA is a different program. Here a subprocess runs a subset of
the kernel tests that reaches every kernel once (each matmul path, every convolution path in both
dtypes, the depthwise kernels, pooling, softmax cross-entropy, the optimizer updates, ReLU, dropout,
image augmentation) with Numba compiling for another target:

- ``generic``: x86-64 without AVX (16-byte SSE vectors), the path aarch64's NEON vectors also take;
- ``haswell``: AVX2 with FMA, on a host that has AVX-512 (on an AVX2 host the suite itself is it).

Each subprocess gets its own empty Numba cache, so nothing compiled for one target is loaded for
another. An AVX-512 target cannot run on a machine without AVX-512: there its register-tiled
kernels (matmul, convolutions) are compiled for ``skylake-avx512`` without running, and an AVX-512
host tests them natively.
"""
import os
import subprocess
import sys
import tempfile

import pytest
from llvmlite import binding

from minigrad.kernels.cpu import target

# One node per kernel path: layouts of the blocked matmul with ragged row and column strips
# (100 x 33), the narrow paths (7 columns), each convolution path (direct: geometry 2, and 14 with
# ragged channel groups; the strided wide-grid loops: 3; the gathered strips and the weight
# gradient's gathered tile: 15 and 21; the row tile where the target has one), in both dtypes.
SUBSET = [
    "tests/test_kernels_matmul.py::test_vector_intrinsics",
    "tests/test_kernels_matmul.py::test_vector_intrinsics_check_bounds_in_twins",
    *(f"tests/test_kernels_matmul.py::test_matmul_layouts[{shape}-{layout}-{dtype}]"
      for shape in ("100-65-33", "17-33-7") for layout in ("C-C", "C-transposed", "transposed-F")
      for dtype in ("float32", "float64")),
    *(f"tests/test_kernels_conv2d.py::test_conv2d_kernels_match_reference[geometry{number}-{dtype}]"
      for number in (2, 3, 14, 15, 21) for dtype in ("float32", "float64")),
    *(f"tests/test_kernels_conv2d.py::test_row_tiles_match_reference[{dtype}-geometry0]"
      for dtype in ("float32", "float64")),
    # The input gradient by stride phases (1 x 1 at stride 2) and by one sub-pixel correlation (3 x 3),
    # and interleave_phases' shuffles and stores past a row (rows of 14, 66 and 65 columns, step 3).
    *(f"tests/test_kernels_conv2d.py::test_conv2d_kernels_match_reference[geometry{number}-{dtype}]"
      for number in (24, 26) for dtype in ("float32", "float64")),
    *(f"tests/test_conv_phases.py::test_interleave_phases_matches_numpy[False-{dtype}-shape{number}]"
      for number in (0, 4, 5, 6) for dtype in ("float32", "float64")),
    # The depthwise kernels: each path at strides 1 and 2 against PyTorch (the plane copies, both
    # column phases of a row by two shuffles, the forward's rows in groups, the four-tap weight
    # gradient), the exact loops against NumPy, and the bounds-checked twins.
    *(f"tests/test_conv_groups.py::test_values_and_every_gradient_match_torch[{case}-{dtype}]"
      for case in ("depthwise 3x3 same", "depthwise stride 2") for dtype in ("float32", "float64")),
    "tests/test_conv_groups.py::test_non_finite_weights_and_planes_take_the_exact_loops",
    *(f"tests/test_conv_groups.py::test_the_bounds_checked_twins_agree[{multiplier}-{stride}-5]"
      for multiplier, stride in ((1, 1), (1, 2), (2, 2))),
    # Winograd's row transforms (kernel widths 5 and 6, a ragged column strip) and their
    # hand-written transforms against the matrices.
    *(f"tests/test_winograd.py::test_{kernel}_matches_direct_sums[{dtype}-geometry{number}]"
      for kernel in ("correlate", "weight_gradient") for number in (1, 5)
      for dtype in ("float32", "float64")),
    *(f"tests/test_winograd.py::test_{transform}[float32-5]"
      for transform in ("untransform_is_the_output_matrix",
                        "transform_gradient_is_the_transposed_output_matrix")),
    "tests/test_kernels_pool.py::test_max_pool_matches_reference",
    "tests/test_kernels_pool.py::test_avg_pool_matches_reference",
    # The 2x2 pool by vectors: rows inside one vector, ending just past one and two, and the
    # backward's test for indices outside their blocks.
    *(f"tests/test_kernels_pool.py::test_two_by_two_by_vectors[3-{width}-{dtype}]"
      for width in (7, 17, 33) for dtype in ("float32", "float64")),
    "tests/test_kernels_pool.py::test_backward_of_overlapping_windows_that_halve_the_plane[14-float32]",
    "tests/test_kernels_softmax_xent.py::test_matches_numpy_reference",
    "tests/test_kernels_optim.py::test_sgd_update_matches_numpy",
    "tests/test_kernels_optim.py::test_adam_update_matches_numpy",
    *(f"tests/test_kernels_optim.py::test_adaptive_updates_match_numpy[{name}0-10007-float32]"
      for name in ("adadelta_update", "nadam_update", "radam_update", "adamax_update")),
    "tests/test_kernels_elementwise.py::test_relu_kernels_match_numpy",
    "tests/test_dropout_kernel.py::test_the_kernel_matches_the_numpy_hash",
    "tests/test_kernels_augment.py::test_each_kernel_once",
]

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def host_has(feature):
    return f"+{feature}" in binding.get_host_cpu_features().flatten().split(",")


def run_subset(cpu_name, cpu_features=""):
    """The subset in a subprocess compiling for ``cpu_name`` (its own features when "")."""
    environment = dict(os.environ, NUMBA_CPU_NAME=cpu_name, NUMBA_CPU_FEATURES=cpu_features)
    with tempfile.TemporaryDirectory() as cache:
        environment["NUMBA_CACHE_DIR"] = cache
        probe = subprocess.run(
            [sys.executable, "-c", "from minigrad.kernels.cpu import target; print(target.describe())"],
            env=environment, capture_output=True, text=True, timeout=120, cwd=REPOSITORY, check=False)
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:randomly",
             *SUBSET],
            env=environment, capture_output=True, text=True, timeout=900, cwd=REPOSITORY, check=False)
    return probe.stdout.strip(), completed


def test_generic_x86_64_target_compiles_every_kernel_correctly():
    if not target.cpu_name() or binding.get_process_triple().split("-")[0] not in ("x86_64", "amd64"):
        pytest.skip("the generic target here is x86-64's")
    described, completed = run_subset("generic")
    assert "SSE: 16-byte vectors, 16 registers" in described, described
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-3000:]
    assert " passed" in completed.stdout


def test_avx2_target_compiles_every_kernel_correctly():
    if target.VECTOR_BYTES != 64:
        pytest.skip("the host is not AVX-512: the rest of the suite runs its own ISA "
                    f"({target.describe()})")
    if not host_has("avx2"):
        pytest.skip("this host cannot run AVX2 code")
    described, completed = run_subset("haswell")
    assert "AVX2: 32-byte vectors, 16 registers" in described, described
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-3000:]
    assert " passed" in completed.stdout


# Compiles (never runs) the register-tiled kernels of the matmul and the convolutions, as the
# reference CNN's layers call them (float32), for a target this host may not be able
# to execute: each kernel is replaced by a function that compiles it for its arguments' types.
COMPILE_ONLY = """
import numba, numpy as np
from minigrad.kernels.cpu import conv2d, conv_direct, im2col, matmul, target, winograd, winograd_weights
compiled = []
def compile_only(module, name):
    dispatcher = getattr(module, name)
    def compile_for(*arguments):
        dispatcher.compile(tuple(numba.typeof(argument) for argument in arguments))
        compiled.append(name)
    setattr(module, name, compile_for)
real_any_layout = matmul.any_layout
def compile_any_layout(kernel, dtype):  # the blocked and narrow paths: one compile per dtype
    real_any_layout(kernel, dtype)
    compiled.append(kernel.py_func.__name__)
    return lambda *arguments: None
matmul.any_layout = compile_any_layout
for module, names in [(matmul, ["transposed_narrow_matmul"]),
                      (im2col, ["gather_correlate", "gather_correlate_gradients"]),
                      (conv_direct, ["direct_correlate", "direct_weight_gradient"]),
                      (conv2d, ["correlate_planes"]), (winograd, ["winograd_correlate"]),
                      (winograd_weights, ["winograd_weight_gradient"])]:
    for name in names:
        compile_only(module, name)
for dtype in (np.float32,):  # float64 compiles the same tiles at half the lanes
    a = np.ones((100, 65), dtype)
    for b in (np.ones((65, 40), dtype), np.ones((65, 7), dtype)):
        matmul.matmul(a, b, np.empty((100, b.shape[1]), dtype))
    matmul.matmul(a.T.copy().T, np.ones((65, 7), dtype), np.empty((100, 7), dtype))
    for channels, rows, size in ((1, 32, 28), (32, 64, 14)):
        x = np.ones((2, channels, size, size), dtype)
        weight = np.ones((rows, channels, 5, 5), dtype)
        out = np.empty((2, rows, size, size), dtype)
        conv2d.conv2d_forward(x, weight, np.zeros(rows, dtype), 1, 1, 2, 2, 1, 1, out)
        conv2d.conv2d_backward_weight(x, out, 1, 1, 2, 2, 1, 1, np.empty_like(weight))
    # Winograd's kernels, which AVX-512 does not choose (unmeasured there) but must compile.
    x, weight = np.ones((2, 32, 14, 14), dtype), np.ones((64, 32, 5, 5), dtype)
    out = np.empty((2, 64, 14, 14), dtype)
    winograd.correlate(x, weight, np.zeros(64, dtype), 2, 2, 1, out)
    winograd_weights.weight_gradient(x, out, 2, 2, 1, 5, 5)
print(target.describe(), sorted(set(compiled)))
"""


def test_avx512_target_compiles_the_register_tiles():
    if target.VECTOR_BYTES == 64:
        pytest.skip("the host is AVX-512: the rest of the suite runs its kernels")
    environment = dict(os.environ, NUMBA_CPU_NAME="skylake-avx512", NUMBA_CPU_FEATURES="")
    with tempfile.TemporaryDirectory() as cache:
        environment["NUMBA_CACHE_DIR"] = cache
        completed = subprocess.run([sys.executable, "-c", COMPILE_ONLY], env=environment,
                                   capture_output=True, text=True, timeout=900, cwd=REPOSITORY,
                                   check=False)
    assert completed.returncode == 0, completed.stderr[-6000:]
    assert "AVX-512: 64-byte vectors, 32 registers" in completed.stdout
    for name in ("blocked_matmul", "narrow_matmul", "transposed_narrow_matmul", "gather_correlate",
                 "gather_correlate_gradients", "direct_correlate", "direct_weight_gradient",
                 "winograd_correlate", "winograd_weight_gradient"):
        assert name in completed.stdout
