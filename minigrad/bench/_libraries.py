"""The libraries a layer benchmark times side by side: minigrad, and PyTorch when it is installed, held
to as many threads as Numba runs (so a ratio compares kernels, not core counts)."""
import importlib

from minigrad.bench._timing import time_interleaved


def minigrad_and_torch():
    """{"minigrad": module, "torch": module}; without PyTorch, minigrad alone (and a line saying so)."""
    import numba

    libraries = {"minigrad": importlib.import_module("minigrad")}
    try:
        libraries["torch"] = importlib.import_module("torch")
        libraries["torch"].set_num_threads(numba.get_num_threads())
    except ImportError:
        print("(torch is not installed: minigrad alone)")
    return libraries


PHASES = ("fwd", "fwd+bwd")


def forward_backward_table(libraries, cases, make_functions, repeats, label_width, batch_seconds=0.3, digits=2):
    """Print a header, then one row per ``(label, case)``: each library's forward and forward+backward
    milliseconds (medians of interleaved rounds) and, with PyTorch, its time over minigrad's for each.

    ``make_functions(library, case)`` returns the (forward, forward_and_backward) zero-argument calls.
    """
    columns = "".join(f"{name + ' ' + phase:>18}" for phase in PHASES for name in libraries)
    ratios = f"{'speed fwd':>11}{'speed fwd+bwd':>15}" if "torch" in libraries else ""
    print(f"{'layer':<{label_width}}{columns}{ratios}")
    for label, case in cases:
        functions = {}
        for name, library in libraries.items():
            functions[(name, "fwd")], functions[(name, "fwd+bwd")] = make_functions(library, case)
        seconds = time_interleaved(functions, repeats, batch_seconds=batch_seconds)
        cells = "".join(f"{seconds[(name, phase)] * 1e3:>18.{digits}f}" for phase in PHASES for name in libraries)
        line = f"{label:<{label_width}}{cells}"
        if "torch" in libraries:
            for phase, width in zip(PHASES, (11, 15)):
                line += f"{seconds[('torch', phase)] / seconds[('minigrad', phase)]:>{width}.2f}x"
        print(line, flush=True)


def timed_calls(library, run, leaves, generator):
    """(forward, forward_and_backward) of ``run()`` on ``library``: the forward without a tape, and a
    forward then backward from a fixed random upstream gradient, clearing the leaves' .grad after."""
    upstream = library.tensor(generator.standard_normal(tuple(run().shape)).astype("float32"))

    def forward():
        with library.no_grad():
            run()

    def forward_and_backward():
        run().backward(upstream)
        for tensor in leaves:
            tensor.grad = None

    return forward, forward_and_backward
