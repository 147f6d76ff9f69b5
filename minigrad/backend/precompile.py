"""Compile the CPU kernels a function reaches before it runs, on every core at once.

Numba compiles a kernel when it is first called with new argument types, one kernel after another
on one core: the first run on a machine waited 26 s (2-core Zen 3) to 35 s (Zen 4, AVX-512) for
the reference CNN's kernels. Which kernels a training step reaches is known only by running it,
and running it would change the model, so ``precompile(step)`` works on forked copies of the
process:

1. Record. A copy runs ``step()`` once with every parallel kernel replaced by a recorder, which
   notes the kernel and its argument types (all Numba specialises on) and returns without
   computing; serial kernels (small helpers whose answer the Python code may read) run for real
   there. Each kernel goes down a pipe as soon as it is noted. The copy's arrays hold garbage,
   and the copy is thrown away: this process is untouched.
2. Compile. A second copy reads the pipe and compiles from the first kernel on, while the first is
   still recording; once done recording, the first (and ``processes - 2`` more copies of it)
   compile too, each process taking the next kernel from a shared counter. Numba writes each to
   its on-disk cache (``cache=True``).
3. Run. When ``step()`` then runs here for real, every kernel loads from the cache in a few
   hundredths of a second.

This process compiles nothing itself, on purpose: a kernel runs differently compiled than loaded
from the cache. Numba links a parallel loop's body into its kernel and optimizes the whole again
before writing it to the cache, and under fastmath's reassociation the second optimization can
round differently (Adam's update did, in the last bits). Loaded from the cache, the first run on a
machine computes exactly as every later run.

A kernel already in the cache loads instead of compiling (a warm run pays about half a second).
Where fork is missing (Windows), on one core, or when recording fails, nothing more happens and
the kernels compile at their first call as before. CPU kernels only: the caller leaves out a CUDA
step and an MPI-launched process, which must not be forked.
"""
import importlib
import os
import pickle
import signal
import struct
import sys
import time
import warnings

from .threads import usable_cores

# How long this process waits for the recording copy's next kernel before giving up on it.
RECORD_TIMEOUT_SECONDS = 120.0
_LENGTH = struct.Struct("<I")  # each recorded kernel goes through the pipe as length + pickle


class PrecompileResult:
    """What ``precompile`` did: kernels recorded, how many were compiled (not loaded from the
    cache), on how many processes, and the wall time."""

    def __init__(self, kernels=0, compiled=0, processes=1, seconds=0.0):
        self.kernels = kernels
        self.compiled = compiled
        self.processes = processes
        self.seconds = seconds

    def __repr__(self):
        return (f"PrecompileResult(kernels={self.kernels}, compiled={self.compiled}, "
                f"processes={self.processes}, seconds={self.seconds:.2f})")


def precompile(step, processes=None, file=None):
    """Compile (or load from Numba's cache) every CPU kernel one call of ``step()`` reaches, on
    ``processes`` cores at once (by default all this process may run on), without running
    ``step`` here. When something compiles it says so on ``file`` (stdout by default) at the
    start, and how long it took at the end; nothing when every kernel was in the cache."""
    import multiprocessing

    if not callable(step):
        raise TypeError(f"precompile: step must be a function to call with no arguments, got {type(step).__name__}")
    if processes is not None and (isinstance(processes, bool) or not isinstance(processes, int) or processes < 1):
        raise ValueError(f"precompile: processes must be a positive int or None, got {processes!r}")
    file = sys.stdout if file is None else file
    processes = usable_cores() if processes is None else processes
    if not hasattr(os, "fork") or processes < 2:
        return PrecompileResult()
    start = time.perf_counter()
    context = multiprocessing.get_context("fork")
    counters = _Counters(*(context.Value("i", 0) for _ in range(4)))
    reader, writer = os.pipe()
    recorder = _fork()
    if recorder == 0:  # the first copy: record, then compile; leave without the parent's exit handlers
        try:
            os.close(reader)
            _silence_output()
            plan = _record(step, writer)
            _compile_as_helpers(plan, processes - 1, counters)
        finally:
            os._exit(0)
    os.close(writer)
    streamer = _fork()
    if streamer == 0:  # the second copy: compile the kernels as the first sends them
        try:
            _silence_output()
            plan = _PlanStream(reader, recorder)
            _compile_share(plan.item, counters)
            counters.recorded.value = plan.count
        finally:
            os._exit(0)
    os.close(reader)
    children = {recorder, streamer}
    try:
        _wait_for(children, counters, file, processes)
    except BaseException:  # Ctrl-C (or worse) here: the copies' compiling is no longer wanted either
        for child in children:
            _kill(child)
        raise
    finally:
        for child in children:  # those not waited for yet
            _reap(child)
    seconds = time.perf_counter() - start
    compiled = counters.compiled.value
    if compiled:
        _say(f"compiled in {seconds:.1f} s", file)
    kernels = counters.recorded.value
    return PrecompileResult(kernels, compiled, min(processes, max(kernels, 1)), seconds)


class _Counters:
    """Shared between the copies: the next kernel to take, how many were recorded, how many real
    compiles started (the first one makes this process say why the wait) and ended."""

    def __init__(self, next_item, recorded, started, compiled):
        self.next_item, self.recorded, self.started, self.compiled = next_item, recorded, started, compiled


def _wait_for(children, counters, file, processes):
    """Wait for the copies (each leaves the set ``children`` as it ends; the first waits for its own
    helpers); say what is happening as soon as one of them starts a real compile."""
    announced = False
    while children:
        for child in list(children):
            if os.waitpid(child, os.WNOHANG)[0]:
                children.discard(child)
        if not announced and counters.started.value:
            announced = True
            _say(f"compiling minigrad's kernels for this machine on first use, in up to {processes} processes "
                 "(once: Numba caches them for later runs) ...", file)
        time.sleep(0.02)


# --- 1. record (in the copy) ----------------------------------------------------------------------

def _record(step, writer):
    """Run ``step()`` with the parallel kernels recorded instead of run; send each new
    (module, qualified name, argument types) through ``writer``, the first at once, the rest when
    the step is done, dearest first; return them in that order."""
    from numba.core import dispatcher as numba_dispatcher
    from numba.core import sigutils
    from numba.core.registry import CPUDispatcher

    plan, seen = [], set()
    # Numba's own call (compile if new, then run), still used for the serial kernels.
    run_for_real = super(numba_dispatcher.Dispatcher, CPUDispatcher).__call__
    compile_for_real = CPUDispatcher.compile

    def note(dispatcher, argument_types):
        key = (dispatcher.py_func.__module__, dispatcher.py_func.__qualname__, tuple(argument_types))
        if key not in seen:
            seen.add(key)
            plan.append((key, _weight(dispatcher)))
            if len(plan) == 1:  # the first goes at once: the second copy starts on it while this one records
                send(key)

    def recording_call(dispatcher, *arguments, **keywords):
        if not _is_parallel(dispatcher):
            return run_for_real(dispatcher, *arguments, **keywords)
        if not keywords:
            note(dispatcher, [dispatcher.typeof_pyval(argument) for argument in arguments])
        return None

    def recording_compile(dispatcher, signature):  # an explicit compile (matmul's any_layout)
        if not _is_parallel(dispatcher):
            return compile_for_real(dispatcher, signature)
        argument_types, _ = sigutils.normalize_signature(signature)
        note(dispatcher, argument_types)
        return _do_nothing

    def send(key):
        message = pickle.dumps(key)
        os.write(writer, _LENGTH.pack(len(message)) + message)

    CPUDispatcher.__call__, CPUDispatcher.compile = recording_call, recording_compile
    try:
        step()
    except Exception:  # noqa: BLE001 (garbage in the arrays can upset the Python around the kernels:
        pass          # what was recorded until then is still worth compiling ahead)
    finally:
        del CPUDispatcher.__call__  # Numba's call again (the C type's), for the compiling to come
        CPUDispatcher.compile = compile_for_real
    # The rest dearest first, so that no process is left compiling a big one alone at the end.
    ordered = plan[:1] + sorted(plan[1:], key=lambda kernel: -kernel[1])
    for key, _ in ordered[1:]:
        send(key)
    os.close(writer)
    return [key for key, _ in ordered]


def _weight(dispatcher):
    """How many Numba functions compile with ``dispatcher``'s (it and the helpers it calls, found
    through the global names their code uses): a rough measure of its compile time."""
    from numba.core.dispatcher import Dispatcher

    found, waiting = set(), [dispatcher]
    while waiting:
        function = waiting.pop()
        if id(function) in found:
            continue
        found.add(id(function))
        namespace = function.py_func.__globals__
        waiting.extend(namespace[name] for name in function.py_func.__code__.co_names
                       if isinstance(namespace.get(name), Dispatcher))
    return len(found)


def _do_nothing(*arguments, **keywords):
    return None


def _is_parallel(dispatcher):
    return bool(dispatcher.targetoptions.get("parallel"))


class _PlanStream:
    """The kernels as the recording copy sends them (read by the second copy); ``item(i)`` waits
    for the i-th, or None when the recording copy ended (or went silent for RECORD_TIMEOUT_SECONDS,
    and was stopped) with fewer."""

    def __init__(self, reader, recorder):
        self.reader, self.recorder = reader, recorder
        self.items, self.buffer, self.ended = [], b"", False

    @property
    def count(self):
        return len(self.items)

    def item(self, index):
        while index >= len(self.items) and not self.ended:
            self._receive()
        return self.items[index] if index < len(self.items) else None

    def _receive(self):
        import select

        ready, _, _ = select.select([self.reader], [], [], RECORD_TIMEOUT_SECONDS)
        chunk = os.read(self.reader, 1 << 16) if ready else b""
        if not ready:
            os.kill(self.recorder, signal.SIGKILL)  # a step that hangs without a kernel: stop waiting for it
        if not chunk:
            self.ended = True
            return
        self.buffer += chunk
        while len(self.buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self.buffer)
            if len(self.buffer) < _LENGTH.size + length:
                break
            self.items.append(pickle.loads(self.buffer[_LENGTH.size:_LENGTH.size + length]))
            self.buffer = self.buffer[_LENGTH.size + length:]


# --- 2. compile (in the copies) ------------------------------------------------------------------

def _compile_as_helpers(plan, helpers, counters):
    """In the recording copy: it and ``helpers - 1`` copies of it compile from the shared counter
    (no more copies than kernels left for them: the second copy takes at least the first)."""
    def item(index):
        return plan[index] if index < len(plan) else None

    children = []
    for _ in range(min(helpers, len(plan) - 1) - 1):
        child = _fork()
        if child == 0:
            try:
                _compile_share(item, counters)
            finally:
                os._exit(0)
        children.append(child)
    try:
        _compile_share(item, counters)
    finally:
        for child in children:
            _reap(child)


def _compile_share(item, counters):
    """Take kernels from the shared counter until none is left; compile each (or load it from the
    cache). ``item(index)`` gives the index-th kernel or None past the end."""
    from numba.core import event

    class Counter(event.Listener):
        depth = 0

        def on_start(self, compile_event):  # Numba's event: a real compile, never a cache load
            self.depth += 1
            if self.depth == 1:
                with counters.started.get_lock():
                    counters.started.value += 1

        def on_end(self, compile_event):
            self.depth -= 1
            if self.depth == 0:
                with counters.compiled.get_lock():
                    counters.compiled.value += 1

    with event.install_listener("numba:compile", Counter()):
        while True:
            with counters.next_item.get_lock():
                index = counters.next_item.value
                counters.next_item.value += 1
            kernel = item(index)
            if kernel is None:
                return
            try:
                _dispatcher(kernel).compile(kernel[2])
            except Exception:  # noqa: BLE001 (the call in step() will compile it, and say what is wrong)
                pass


def _dispatcher(kernel):
    module_name, qualified_name, _ = kernel
    found = importlib.import_module(module_name)
    for part in qualified_name.split("."):
        found = getattr(found, part)
    return found


# --- processes --------------------------------------------------------------------------------------

def _fork():
    sys.stdout.flush()
    sys.stderr.flush()
    with warnings.catch_warnings():
        # Python 3.12 warns about forking a process with threads (Numba's pool, tqdm's monitor): the
        # copies only record and compile, and never touch what those threads hold.
        warnings.simplefilter("ignore", DeprecationWarning)
        return os.fork()


def _silence_output():
    """The copies print nothing: not the step's own prints, not Numba's warnings twice."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _kill(child):
    try:
        os.kill(child, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap(child):
    try:
        os.waitpid(child, 0)
    except ChildProcessError:
        pass


def _say(message, file):
    from ..progress import _say as say

    say(message, file)
