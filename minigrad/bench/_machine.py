"""The first line of every benchmark report: the CPU, the vector ISA Numba compiles the kernels for,
and the one PyTorch's kernels run on. A speed figure without its CPU is not a figure, and on an
AVX-512 host ``../shared/cpu/as-avx2`` changes what both libraries use, not what lscpu shows."""
import os
import platform


def cpu_model():
    """The CPU's marketing name (``/proc/cpuinfo``'s model name where there is one)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("model name", "Model")):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def torch_capability():
    """PyTorch's CPU kernel ISA (``torch.backends.cpu.get_cpu_capability()``), or why none."""
    try:
        import torch
    except ImportError:
        return "PyTorch not installed"
    return f"PyTorch {torch.__version__} on {torch.backends.cpu.get_cpu_capability()}"


def describe():
    from minigrad.kernels.cpu import target
    return (f"CPU: {cpu_model()}, {os.cpu_count()} logical cores | {target.describe()} | "
            f"{torch_capability()}")
