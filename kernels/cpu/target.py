"""The vector ISA Numba compiles the CPU kernels for: its vector width and register count.

The register tiles (matmul's, the convolutions') are sized from these two numbers, so that the
accumulators and operands of a micro-kernel fit the register file without spills: a 64-byte
vector on AVX-512 (32 zmm registers), 32 bytes on AVX2 (16 ymm), 16 bytes on SSE-only x86-64
(16 xmm) and on aarch64 NEON (32 registers).

The target is the one Numba compiles for: the host, or ``NUMBA_CPU_NAME`` and
``NUMBA_CPU_FEATURES`` when set (``../shared/cpu/as-avx2`` sets both). Rather than reading
feature flags (a CPU name alone implies its features, and LLVM may prefer narrower vectors than
the widest it has), a one-line LLVM function adding two 64-byte vectors is compiled for that
target and the widest register its assembly names is the vector width: what the kernels will
get, by construction. Numba keys its cache on the same CPU name and features, so kernels cached
for one target are never loaded for another, and the constants they were compiled with always
match.
"""
import platform

from llvmlite import binding
from numba.core import codegen, config

# 64 bytes of {element}s added to themselves: the widest register in its assembly is the widest
# vector LLVM uses for that element type on the target.
_PROBE = """
define void @probe({pointer} %vectors) {{
  %value = load <16 x {element}>, {pointer} %vectors
  %sum = {add} <16 x {element}> %value, %value
  store <16 x {element}> %sum, {pointer} %vectors
  ret void
}}
"""


def cpu_name():
    """The CPU LLVM compiles for: ``NUMBA_CPU_NAME`` or the host's."""
    return config.CPU_NAME or binding.get_host_cpu_name()


def cpu_features():
    """The LLVM feature string Numba compiles with (``NUMBA_CPU_FEATURES`` or the host's)."""
    if config.CPU_FEATURES is not None:
        return config.CPU_FEATURES
    return codegen.get_host_cpu_features()


def _widest_register(assembly):
    """Bytes of the widest vector register the assembly names (x86 names; others count as 16)."""
    if "zmm" in assembly:
        return 64
    if "ymm" in assembly:
        return 32
    return 16


def _probe_vector_bytes(element="float", add="fadd"):
    binding.initialize_native_target()
    binding.initialize_native_asmprinter()
    pointer = "ptr" if binding.llvm_version_info >= (17,) else f"<16 x {element}>*"
    module = binding.parse_assembly(_PROBE.format(pointer=pointer, element=element, add=add))
    target = binding.Target.from_triple(binding.get_process_triple())
    machine = target.create_target_machine(cpu=cpu_name(), features=cpu_features(), opt=2)
    return _widest_register(machine.emit_assembly(module))


def _is_x86():
    return platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


VECTOR_BYTES = _probe_vector_bytes()
# x86-64 has 16 vector registers, 32 with AVX-512 (EVEX encodes xmm16-31 too); aarch64 has 32.
REGISTER_COUNT = (32 if VECTOR_BYTES == 64 or "+avx512f" in cpu_features().split(",") else 16) \
    if _is_x86() else 32

if _is_x86():
    # AVX has 32-byte float vectors but 16-byte integer ones; AVX2 widened the integers. Asked of
    # LLVM, not read from the feature string: with NUMBA_CPU_FEATURES="" the CPU name implies them.
    ISA = {64: "AVX-512", 32: "AVX2" if _probe_vector_bytes("i32", "add") == 32 else "AVX"}.get(
        VECTOR_BYTES, "SSE")
else:
    ISA = "NEON" if platform.machine().lower() in ("aarch64", "arm64") else platform.machine()


def describe():
    """One line: the CPU Numba compiles for, its vector ISA and the register file the tiles fit."""
    return (f"Numba target {cpu_name()} ({ISA}: {VECTOR_BYTES}-byte vectors, "
            f"{REGISTER_COUNT} registers)")
