"""CUDA twins of the CPU kernels: the same file and function names and arguments, in numba.cuda.

Each module's ``__all__`` names the entry points the backend calls, as in ``kernels/cpu/``; an
entry point takes device arrays, picks a grid and launches the ``@cuda.jit`` kernels of its
module. The kernels are declared without signatures, so nothing compiles until a first launch
(importing a module needs no GPU), and each module's ``PTX_SIGNATURES`` lists the argument
types every kernel is compiled for by the PTX test (``numba.cuda.compile_ptx``, sm_90 and sm_75).

Verified without a GPU: tests/cuda/ runs every entry point under Numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, in its own process: tests/test_cuda_kernels.py starts it) against
the CPU kernel of the same name.
"""
