"""mg.precompile: the kernels a step reaches, compiled on forked copies, this process untouched.

Each check runs in a new process with its own empty NUMBA_CACHE_DIR, so "compiled" means compiled
here and the user's cache is never touched. The step is a ReLU forward and backward on 512 x 512
(minigrad's two parallel ReLU kernels: about a second to compile).
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="precompile forks (no fork here: it does nothing)")

PROGRAM = textwrap.dedent("""
    import io, json, sys, time
    import numpy as np
    import minigrad as mg
    from minigrad.bench.compile import record_compiles

    mg.manual_seed(0)
    x = mg.rand(512, 512, requires_grad=True)
    gradient = mg.ones(512, 512)

    def step():
        print("the step's own print")
        x.relu().backward(gradient)
        {after_step}

    state_before = mg.get_rng_state()
    out = io.StringIO()
    started = time.perf_counter()
    result = mg.precompile(step, file=out, processes={processes})
    seconds = time.perf_counter() - started
    untouched = x.grad is None and np.array_equal(mg.get_rng_state(), state_before)
    with record_compiles() as records:
        x.relu().backward(gradient)
    print(json.dumps({{"kernels": result.kernels, "compiled": result.compiled, "processes": result.processes,
                      "notice": out.getvalue(), "untouched": bool(untouched), "seconds": seconds,
                      "compiled_after": [r.name for r in records if not r.from_cache and r.depth == 0]}}))
""")


def run(tmp_path, after_step="", processes=2, environment=None):
    program = PROGRAM.format(after_step=after_step, processes=processes)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), **(environment or {}))
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env,
                               timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 1, f"only the result line, the recording copy's prints go nowhere: {lines}"
    return json.loads(lines[0])


def test_the_kernels_compile_ahead_and_the_step_then_compiles_nothing(tmp_path):
    cold = run(tmp_path)
    assert cold["kernels"] == 2  # relu_forward, relu_backward
    assert cold["compiled"] == 2
    assert cold["processes"] == 2
    assert cold["untouched"], "the step ran only in the forked copy: no .grad, the random state as it was"
    assert cold["compiled_after"] == [], "every kernel the step reaches came from the cache or from this process"
    notice = cold["notice"].splitlines()
    assert notice[0] == ("compiling minigrad's kernels for this machine on first use, in up to 2 processes "
                         "(once: Numba caches them for later runs) ...")
    assert notice[-1].startswith("compiled in ")

    warm = run(tmp_path)  # the same cache, now filled
    assert warm["kernels"] == 2 and warm["compiled"] == 0
    assert warm["notice"] == "", "nothing to say when every kernel is in the cache"
    assert warm["compiled_after"] == []


def test_a_step_that_fails_halfway_gives_what_it_reached(tmp_path):
    # The recording copy's arrays are garbage; Python code reading them may fail. What was recorded
    # until then still compiles ahead, nothing is raised here, and the rest compiles at first call.
    result = run(tmp_path, after_step="raise ValueError('garbage')")
    assert result["kernels"] == 2 and result["compiled"] == 2
    assert result["untouched"]


def test_no_more_processes_than_kernels(tmp_path):
    result = run(tmp_path, processes=8)
    assert result["kernels"] == 2 and result["compiled"] == 2 and result["processes"] == 2
    assert result["compiled_after"] == []


def test_bad_arguments_are_refused_by_name():
    import minigrad as mg

    with pytest.raises(TypeError, match=r"precompile: step must be a function to call with no arguments, got int"):
        mg.precompile(42)
    for processes in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match=r"precompile: processes must be a positive int or None, got "):
            mg.precompile(lambda: None, processes=processes)


def test_one_process_does_nothing(tmp_path):
    result = run(tmp_path, processes=1)
    assert result["kernels"] == 0 and result["notice"] == ""
    assert sorted(result["compiled_after"]) == ["elementwise.relu_backward", "elementwise.relu_forward"]


def test_a_step_that_hangs_is_given_up(tmp_path):
    program = textwrap.dedent("""
        import time
        import minigrad as mg
        from minigrad.backend import precompile as module
        module.RECORD_TIMEOUT_SECONDS = 1.0
        started = time.perf_counter()
        result = mg.precompile(lambda: time.sleep(60))
        print(result.kernels, round(time.perf_counter() - started))
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env,
                               timeout=60, check=True)
    kernels, seconds = completed.stdout.split()
    assert kernels == "0" and int(seconds) < 10


def _processes_with(marker):
    """Live processes whose environment holds ``marker`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as environ:
                    if marker.encode() in environ.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the copies through /proc")
def test_ctrl_c_while_compiling_stops_the_copies_too(tmp_path):
    import signal
    import time

    program = textwrap.dedent("""
        import minigrad as mg
        from minigrad.bench.compile import cnn_workload
        step = cnn_workload(mg)
        print("ready", flush=True)
        mg.precompile(step)
    """)
    marker = f"MINIGRAD_PRECOMPILE_TEST={os.getpid()}"
    name, value = marker.split("=")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), **{name: value})
    process = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    assert process.stdout.readline() == "ready\n"
    time.sleep(2.0)  # compiling by now, in both copies (this process waits)
    assert len(_processes_with(marker)) == 3
    process.send_signal(signal.SIGINT)  # to this process only, as `kill -INT` would
    interrupted = time.monotonic()
    _, error = process.communicate(timeout=60)
    assert process.returncode != 0 and "KeyboardInterrupt" in error
    # Not after the copy has compiled the rest (about 15 s more): the copy is stopped, not waited for.
    assert time.monotonic() - interrupted < 8
    deadline = time.monotonic() + 5
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(marker) == [], "the copies went with it"


ADAM_PROGRAM = textwrap.dedent("""
    import hashlib, sys
    import numpy as np
    import minigrad as mg
    from minigrad.kernels.cpu import optim

    generator = np.random.default_rng(1)
    arrays = [generator.standard_normal(100_000).astype(np.float32) for _ in range(5)]
    arrays[3] = np.abs(arrays[3])  # the second moment

    def step():  # Adam's parallel update (above its serial size), as the optimizer calls it
        optim.adam_update(*arrays, 0.9, 0.999, 1e-8, 0.0, 1.0, 1e-2, 0.5, False, False)

    if sys.argv[1] == "precompile":
        mg.precompile(step)
    for _ in range(3):
        step()
    print(hashlib.sha1(b"".join(array.tobytes() for array in arrays)).hexdigest())
""")


def test_the_first_run_computes_as_every_later_one(tmp_path):
    # A kernel runs differently compiled in the process than loaded from Numba's cache (Numba
    # optimizes a parallel loop's body again when it links it into the kernel it caches, and under
    # fastmath's reassociation Adam's update then rounded differently in the last bits). precompile
    # leaves all compiling to its copies, so the first run loads from the cache like every later one.
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def updated_arrays(mode):
        return subprocess.run([sys.executable, "-c", ADAM_PROGRAM, mode], capture_output=True, text=True, env=env,
                              timeout=300, check=True).stdout.split()[-1]

    first_run = updated_arrays("precompile")  # empty cache: the copies compile, this process loads
    assert updated_arrays("later") == first_run
