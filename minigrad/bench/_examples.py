"""An example script loaded as a module with a chosen ``--library``, so that a benchmark runs the very
code of examples/from_pytorch.py or examples/mnist_resnet.py on minigrad and on PyTorch."""
import importlib.util
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(script, library, command):
    """examples/``script`` as ``--library library`` makes it (its imports pick the library)."""
    path = EXAMPLES / script
    if not path.is_file():
        raise SystemExit(f"bench {command}: needs the repository's {path} (run from a source checkout)")
    specification = importlib.util.spec_from_file_location(f"{path.stem}_{library}", path)
    module = importlib.util.module_from_spec(specification)
    saved_argv = sys.argv
    sys.argv = [str(path), "--library", library]
    try:
        specification.loader.exec_module(module)
    finally:
        sys.argv = saved_argv
    return module
