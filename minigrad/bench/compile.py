"""Numba compile cost: each kernel's compile and cache-load time, and the cold start end to end against PyTorch.

Per kernel: how long Numba took to compile it in a process with an empty kernel cache, and how
long a later process took to load it from the filled cache (``cache=True``). End to end: a new
process imports minigrad, builds the reference CNN and runs its first training step, once with an
empty cache and with a warm one, then the same with ``mg.precompile`` first (the kernels compiled
on every core at once, as examples/mnist_cnn.py does), next to PyTorch doing the same when it is
installed.

Every minigrad process gets a fresh temporary NUMBA_CACHE_DIR, so "empty" is truly empty and the
user's own cache is never touched. The recording itself is reusable in any process:

    from minigrad.bench.compile import record_compiles, format_compiles

    with record_compiles() as records:
        loss.backward()
    print(format_compiles(records))
"""
import argparse
import contextlib
import dataclasses
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from minigrad.bench.cnn import BATCH, build, step_function
from minigrad.backend.threads import usable_cores
from minigrad.bench.startup import torch_available

# --- recording compiles inside one process ----------------------------------------------------------


@dataclasses.dataclass
class CompileRecord:
    """One specialisation (function + argument types) that Numba compiled or loaded from its disk cache."""

    module: str               # "minigrad.kernels.cpu.matmul"
    function: str             # "matmul" (the qualified name, so helpers defined inside others are told apart)
    signature: str            # argument types, shortened: "(float32[2d], float32[2d,F], float32[2d])"
    seconds: float            # wall time of the compile or the load, nested compiles included
    exclusive_seconds: float  # seconds minus those of the compiles nested in it: these add up without double counting
    from_cache: bool          # loaded from the on-disk cache (cache=True) instead of compiled
    depth: int                # 0: called from Python; 1: compiled while a depth-0 function was compiling; ...
    nested: int               # compiles that happened inside this one (its helpers, Numba's library functions)

    @property
    def name(self):
        """Module's last part and function: "matmul.matmul"."""
        return f"{self.module.rpartition('.')[2]}.{self.function}"


@dataclasses.dataclass
class _CompileUnderWay:
    """Bookkeeping of one compile in progress, while its record is not finished."""

    dispatcher: object
    record: CompileRecord
    compiled: bool = False        # set when Numba announces a real compile (not a cache load)
    nested_seconds: float = 0.0   # seconds of the compiles directly inside this one


@contextlib.contextmanager
def record_compiles():
    """Record every Numba CPU compile and cache load that happens inside the ``with`` block.

    Yields a list that fills with CompileRecords in the order the compiles started: a function comes
    before the helpers compiled inside it (``depth`` one more). Only specialisations new to the
    process appear; calls that reuse one compiled earlier cost nothing and are not recorded.

        with record_compiles() as records:
            loss = model(images).sum()   # the kernels compile (or load) on their first call
            loss.backward()
        print(format_compiles(records))  # or: for record in records: record.name, record.seconds, ...

    The first compile or load in a process also pays Numba's one-time setup (its typing and
    lowering registries, a few tenths of a second), so the first kernel looks dearer than it is.

    Why it wraps ``Dispatcher.compile`` instead of only listening to Numba's events: Numba 0.68
    broadcasts the "numba:compile" event only on a cache miss, around the compiler itself. A load
    from the disk cache returns before the event, and writing the cache after a compile happens
    after it. Timing the whole ``compile`` call covers both (cache lookup, compile or load, cache
    write); the event is still listened to, to tell a real compile from a cache load.
    Not thread-safe: compile from one thread while recording.
    """
    # Imported here, not at the top: ``python -m minigrad.bench --help`` imports this module for its
    # docstring and should not pay for importing Numba.
    from numba.core import dispatcher, event, sigutils

    records = []
    under_way = []  # the compiles in progress, innermost last
    original_compile = dispatcher.Dispatcher.compile

    def recording_compile(self, signature):
        argument_types, _ = sigutils.normalize_signature(signature)
        if tuple(argument_types) in self.overloads:
            return original_compile(self, signature)  # compiled earlier in this process: nothing happens
        record = CompileRecord(
            module=self.py_func.__module__, function=self.py_func.__qualname__,
            signature=short_signature(argument_types), seconds=0.0, exclusive_seconds=0.0,
            from_cache=False, depth=len(under_way), nested=0,
        )
        for outer in under_way:
            outer.record.nested += 1
        records.append(record)
        compile_under_way = _CompileUnderWay(self, record)
        under_way.append(compile_under_way)
        start = time.perf_counter()
        try:
            entry_point = original_compile(self, signature)
        finally:
            record.seconds = time.perf_counter() - start
            record.exclusive_seconds = record.seconds - compile_under_way.nested_seconds
            under_way.pop()
            if under_way:
                under_way[-1].nested_seconds += record.seconds
        # It succeeded; without a "numba:compile" event it came from the disk cache.
        record.from_cache = not compile_under_way.compiled
        return entry_point

    class CompileListener(event.Listener):
        def on_start(self, compile_event):
            # The event fires inside Dispatcher.compile, so the innermost compile under way is its own.
            if under_way and under_way[-1].dispatcher is compile_event.data["dispatcher"]:
                under_way[-1].compiled = True

        def on_end(self, compile_event):
            pass

    dispatcher.Dispatcher.compile = recording_compile
    try:
        with event.install_listener("numba:compile", CompileListener()):
            yield records
    finally:
        dispatcher.Dispatcher.compile = original_compile


def short_type_name(numba_type):
    """Arrays as ``float32[2d]`` (C order unless ``F`` or ``A`` is marked), literals as their value."""
    from numba.core import types

    if isinstance(numba_type, types.Array):
        layout = "" if numba_type.layout == "C" else f",{numba_type.layout}"
        readonly = "" if numba_type.mutable else ",readonly"
        return f"{numba_type.dtype}[{numba_type.ndim}d{layout}{readonly}]"
    if isinstance(numba_type, types.Literal):
        return repr(numba_type.literal_value)
    return str(numba_type)


def short_signature(argument_types):
    """``(float32[4d], int64 x6, float32[2d])``: neighbours of the same type are counted, not repeated."""
    parts = []
    for name, same in itertools.groupby(short_type_name(numba_type) for numba_type in argument_types):
        count = len(list(same))
        parts.append(name if count == 1 else f"{name} x{count}")
    return "(" + ", ".join(parts) + ")"


def format_compiles(records, nested=False):
    """The records as a table of text lines.

    By default one row per function called from Python (depth 0), slowest first, its seconds
    including everything compiled inside it. With ``nested=True`` every compile, in the order they
    started, indented by depth, each with its exclusive seconds. Either way the total counts every
    compile once.
    """
    if nested:
        title = "exclusive seconds of every compile, nested ones indented under the function that needed them"
        rows = [(record.exclusive_seconds, record, "  " * record.depth) for record in records]
    else:
        title = "seconds of each function called from Python, its nested compiles included"
        top_level = sorted((record for record in records if record.depth == 0), key=lambda record: -record.seconds)
        rows = [(record.seconds, record, "") for record in top_level]
    lines = [title, f"  {'seconds':>8}  {'how':<10} {'nested':>6}  function(argument types)"]
    for seconds, record, indent in rows:
        how = "cache load" if record.from_cache else "compiled"
        lines.append(f"  {seconds:8.3f}  {how:<10} {record.nested:6d}  {indent}{record.name}{record.signature}")
    total = sum(record.exclusive_seconds for record in records)
    loads = sum(record.from_cache for record in records)
    lines.append(f"  {total:8.3f}  total: {len(records)} compiles, {loads} of them cache loads")
    return "\n".join(lines)


# --- the workloads a child process runs -------------------------------------------------------------


def cnn_workload(library):
    """The reference CNN with Adam (bench/cnn.py) and a batch of random MNIST-shaped data: its first step."""
    library.manual_seed(0)
    step = step_function(library, *build(library))
    generator = np.random.default_rng(0)
    images = generator.random((BATCH, 1, 28, 28), dtype=np.float32)
    labels = generator.integers(0, 10, BATCH).astype(np.int64)
    return lambda: step(images, labels)


def relu_workload(library):
    """One ReLU forward and backward on a 512x512 tensor: two small kernels, seconds instead of a minute.

    Large enough for minigrad's parallel kernels: below 2**16 elements its backend uses NumPy instead.
    """
    library.manual_seed(0)
    x = library.rand(512, 512, requires_grad=True)
    gradient = library.ones(512, 512)  # not .sum().backward(): its broadcast gradient would take the NumPy path
    return lambda: x.relu().backward(gradient)


WORKLOADS = {
    "cnn": (cnn_workload, f"the reference CNN's first training step (batch {BATCH}, Adam)"),
    "relu": (relu_workload, "one ReLU forward and backward on a 512x512 tensor"),
}

PHASES = ("import", "build", "precompile", "first_step", "total")

# What a child process runs. Only the library's import is timed from the very start of the process;
# minigrad loads Numba at its first kernel, here it is imported up front (and counted in "import") so
# that the recorder can be installed before anything compiles. The measuring code is imported after
# the import is timed, and its own import is left out of every phase.
CHILD_PROGRAM = """
import time
start = time.perf_counter()
import {library}
{import_numba}
imported = time.perf_counter()
from minigrad.bench.compile import first_step_in_this_process
first_step_in_this_process({library}, {workload!r}, imported - start, precompile={precompile!r})
"""


def first_step_in_this_process(library, workload, import_seconds, precompile=False):
    """Child side: build the workload, (with ``precompile``, compile its kernels ahead on every
    core: mg.precompile), run its first step; print phase seconds and compiles as JSON.

    stdout carries this JSON line and nothing else (Numba's warnings go to stderr).
    """
    recording = record_compiles() if library.__name__ == "minigrad" else contextlib.nullcontext([])
    with recording as records:
        started = time.perf_counter()
        first_step = WORKLOADS[workload][0](library)
        built = time.perf_counter()
        if precompile:
            library.precompile(first_step, file=sys.stderr)
        precompiled = time.perf_counter()
        first_step()
        done = time.perf_counter()
    print(json.dumps({
        "import": import_seconds, "build": built - started, "precompile": precompiled - built,
        "first_step": done - precompiled, "total": import_seconds + done - started,
        "compiles": [dataclasses.asdict(record) for record in records if record.depth == 0],
    }))


def run_child(library, workload, cache_directory=None, precompile=False):
    """A new process of the same interpreter runs the workload's first step; returns its JSON result."""
    environment = dict(os.environ)
    if cache_directory is not None:
        environment["NUMBA_CACHE_DIR"] = cache_directory
    import_numba = "import numba" if library == "minigrad" else ""
    program = CHILD_PROGRAM.format(library=library, import_numba=import_numba, workload=workload,
                                   precompile=precompile)
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=environment,
                               check=False)  # not check=True: the child's stderr goes into the error below
    if completed.returncode != 0:
        raise RuntimeError(f"the {library} child process failed:\n{completed.stderr}")
    return json.loads(completed.stdout)


# --- the figures across processes -------------------------------------------------------------------


def median_phases(results):
    return {phase: statistics.median(result[phase] for result in results) for phase in PHASES}


def kernel_key(record):
    """(name, signature) of a record as a child process sent it: the same kernel in every process."""
    return CompileRecord(**record).name, record["signature"]


def seconds_per_kernel(result):
    """{(name, signature): seconds} of one process; a kernel seen twice (two dispatchers) is summed."""
    seconds = {}
    for record in result["compiles"]:
        seconds[kernel_key(record)] = seconds.get(kernel_key(record), 0.0) + record["seconds"]
    return seconds


def median_seconds_per_kernel(results):
    per_process = [seconds_per_kernel(result) for result in results]
    keys = set().union(*per_process)
    return {key: statistics.median(seconds.get(key, 0.0) for seconds in per_process) for key in keys}


def kernel_table(cold_results, warm_results):
    """Lines: each kernel called from Python with its empty-cache compile and warm-cache load, slowest first."""
    cold = median_seconds_per_kernel(cold_results)
    warm = median_seconds_per_kernel(warm_results)
    nested = {}
    for record in cold_results[0]["compiles"]:
        nested[kernel_key(record)] = nested.get(kernel_key(record), 0) + record["nested"]
    lines = [f"  {'empty cache':>11}  {'warm cache':>11}  {'nested':>6}  kernel(argument types)"]
    for key in sorted(cold.keys() | warm.keys(), key=lambda key: (-cold.get(key, 0.0), -warm.get(key, 0.0))):
        cold_text = f"{cold[key]:10.3f}s" if key in cold else f"{'-':>11}"
        warm_text = f"{warm[key]:10.3f}s" if key in warm else f"{'-':>11}"
        lines.append(f"  {cold_text}  {warm_text}  {nested.get(key, 0):6d}  {key[0]}{key[1]}")
    lines.append(f"  {sum(cold.values()):10.3f}s  {sum(warm.values()):10.3f}s  {sum(nested.values()):6d}  "
                 f"total (kernels: {len(cold.keys() | warm.keys())})")
    return lines


def phase_line(label, phases):
    return f"  {label:<22} " + " ".join(f"{phases[phase]:9.3f}s" for phase in PHASES)


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench compile", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3,
                        help="warm-cache processes, and PyTorch processes; the median is printed (default 3)")
    parser.add_argument("--cold-runs", type=int, default=1,
                        help="empty-cache processes, each with a fresh cache (default 1: about a minute each for the CNN)")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="cnn",
                        help="cnn (default): the reference CNN's first training step; "
                             "relu: one ReLU forward and backward, a quick check that compiles two small kernels")
    arguments = parser.parse_args(arguments)
    if arguments.runs < 1 or arguments.cold_runs < 1:
        parser.error("--runs and --cold-runs need at least one process each")
    description = WORKLOADS[arguments.workload][1]
    print(f"Numba compile cost of {description}.\nEvery figure comes from a new process; "
          "minigrad's processes get a fresh temporary NUMBA_CACHE_DIR (yours is not touched).", flush=True)

    cache_root = tempfile.mkdtemp(prefix="minigrad-compile-bench-")
    try:
        cold_results = []
        for run in range(arguments.cold_runs):
            cache_directory = os.path.join(cache_root, f"cache{run}")  # empty: Numba creates it
            cold_results.append(run_child("minigrad", arguments.workload, cache_directory))
        # The last cold process filled its cache: the warm ones load from it.
        warm_results = [run_child("minigrad", arguments.workload, cache_directory) for _ in range(arguments.runs)]
        # The same with mg.precompile before the first step (what examples/mnist_cnn.py does).
        precompiled_cold = []
        for run in range(arguments.cold_runs):
            cache_directory = os.path.join(cache_root, f"precompiled{run}")
            precompiled_cold.append(run_child("minigrad", arguments.workload, cache_directory, precompile=True))
        precompiled_warm = [run_child("minigrad", arguments.workload, cache_directory, precompile=True)
                            for _ in range(arguments.runs)]
    finally:
        shutil.rmtree(cache_root, ignore_errors=True)
    torch_results = None
    if torch_available():
        run_child("torch", arguments.workload)  # untimed: bring torch's files into the disk cache
        torch_results = [run_child("torch", arguments.workload) for _ in range(arguments.runs)]

    print()
    print(f"per kernel called from Python: compile with an empty cache (median of {arguments.cold_runs}), "
          f"load from the warm cache (median of {arguments.runs})")
    print("  a compile includes its nested ones (helpers, Numba's library functions: column 'nested'), each\n"
          "  counted once in the total; the first load in a process also pays Numba's one-time setup")
    print("\n".join(kernel_table(cold_results, warm_results)))

    cold, warm = median_phases(cold_results), median_phases(warm_results)
    print()
    print(f"end to end: a new process imports, builds the model, runs its first step; total = their sum; "
          f"median of {arguments.cold_runs} (empty cache) or {arguments.runs} processes")
    print("  minigrad's import includes Numba's (which it would otherwise import at its first kernel)")
    print(f"  {'':<22} " + " ".join(f"{phase.replace('_', ' '):>10}" for phase in PHASES))
    print(phase_line("minigrad, empty cache", cold))
    print(phase_line("minigrad, warm cache", warm))
    precompiled_cold, precompiled_warm = median_phases(precompiled_cold), median_phases(precompiled_warm)
    print(f"  with mg.precompile before the first step (up to {usable_cores()} processes, as examples/mnist_cnn.py):")
    print(phase_line("  empty cache", precompiled_cold))
    print(phase_line("  warm cache", precompiled_warm))
    if torch_results is None:
        print("  (pytorch is not installed: left out)")
        return
    torch = median_phases(torch_results)
    print(phase_line("pytorch", torch))
    print(f"  ratio minigrad/pytorch total: warm cache {warm['total'] / torch['total']:.2f}, "
          f"empty cache {cold['total'] / torch['total']:.2f} (below 1 is faster)")


if __name__ == "__main__":
    main()
