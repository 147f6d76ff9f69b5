"""Cold start: a fresh process imports minigrad and runs its first forward and backward.

Each measurement is a new Python process (so nothing is warm but the disk caches). Numba's kernel
cache (``cache=True``) is warmed by one untimed run first; the figure is what a user waits for on
every later start. PyTorch's import and first step are measured the same way when it is installed.
"""
import argparse
import json
import statistics
import subprocess
import sys

MINIGRAD_PROGRAM = """
import time
start = time.perf_counter()
import minigrad as mg
import minigrad.nn.functional as F
imported = time.perf_counter()
x = mg.rand(100, 784)
labels = mg.tensor(list(range(10)) * 10)
weight = mg.zeros(784, 10, requires_grad=True)
bias = mg.zeros(10, requires_grad=True)
F.cross_entropy(x @ weight + bias, labels).backward()
done = time.perf_counter()
print({"import": imported - start, "first_step": done - imported, "total": done - start})
"""

# The same program runs unchanged on PyTorch: the names used are the same.
TORCH_PROGRAM = MINIGRAD_PROGRAM.replace("import minigrad as mg", "import torch as mg").replace(
    "import minigrad.nn.functional as F", "import torch.nn.functional as F"
)


def measure(program, runs):
    results = []
    for _ in range(runs):
        completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
        results.append(json.loads(completed.stdout.strip().replace("'", '"')))
    return {key: statistics.median(result[key] for result in results) for key in results[0]}


def torch_available():
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench startup", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure; the median is printed")
    args = parser.parse_args(arguments)

    measure(MINIGRAD_PROGRAM, 1)  # fill Numba's on-disk cache
    figures = {"minigrad": measure(MINIGRAD_PROGRAM, args.runs)}
    if torch_available():
        measure(TORCH_PROGRAM, 1)
        figures["pytorch"] = measure(TORCH_PROGRAM, args.runs)
    print(f"new process: import, then first forward+backward of softmax regression (warm kernel cache), "
          f"median of {args.runs} processes")
    print(f"  {'':<9} {'import':>8} {'first step':>11} {'total':>8}")
    for name, figure in figures.items():
        print(f"  {name:<9} {figure['import']:7.3f}s {figure['first_step']:10.3f}s {figure['total']:7.3f}s")
    if "pytorch" in figures:
        print(f"  ratio minigrad/pytorch total: {figures['minigrad']['total'] / figures['pytorch']['total']:.2f}")


if __name__ == "__main__":
    main()
