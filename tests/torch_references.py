"""PyTorch as the reference, where one of its CPU kernels answers differently by ISA.

PyTorch 2.13's float32 GELU (erf form) gives NaN at +inf on AVX-512 hosts (its AVX2 kernel and
its float64 one give inf, the limit of x * Phi(x)); minigrad gives inf, so the reference takes
float64's answer at +inf and float32's everywhere else."""
import torch


def gelu(x, approximate="none"):
    """torch's gelu, with its float64 answer at +inf (see the module docstring)."""
    result = torch.nn.functional.gelu(x, approximate=approximate)
    if approximate != "none" or x.dtype != torch.float32:
        return result
    at_infinity = torch.nn.functional.gelu(x.double(), approximate=approximate).to(x.dtype)
    return torch.where(torch.isposinf(x), at_infinity, result)
