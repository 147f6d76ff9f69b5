"""The libraries a layer benchmark times side by side: minigrad, and PyTorch when it is installed, held
to as many threads as Numba runs (so a ratio compares kernels, not core counts)."""
import importlib


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
