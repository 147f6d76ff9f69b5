"""Timing shared by the benchmarks: interleaved rounds, medians, a settling pause before each batch.

Rounds interleave the contenders so machine noise hits all of them alike. BLAS and OpenMP worker
threads keep spinning for a while after a call and would steal the cores from whichever library
runs next, so each batch starts after a short settling pause.
"""
import statistics
import time

BATCH_SECONDS = 0.06
SETTLE_SECONDS = 0.15


def seconds_per_call(function, calls):
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def time_interleaved(functions, repeats, batch_seconds=BATCH_SECONDS):
    """Median seconds per call of each zero-argument function, over ``repeats`` interleaved rounds."""
    calls = {}
    for name, function in functions.items():
        function()  # warm-up: compilation, first touch of the buffers
        calls[name] = max(1, round(batch_seconds / seconds_per_call(function, 1)))
    samples = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            time.sleep(SETTLE_SECONDS)
            samples[name].append(seconds_per_call(function, calls[name]))
    return {name: statistics.median(times) for name, times in samples.items()}
