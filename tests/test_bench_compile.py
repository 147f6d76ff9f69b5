"""The compile recorder and ``python -m minigrad.bench compile`` (its figures are printed, never asserted on)."""
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numba
import pytest
from numba.core import dispatcher, types

from minigrad.bench.compile import (
    CompileRecord,
    format_compiles,
    kernel_table,
    record_compiles,
    run_child,
    short_signature,
)


def test_records_each_new_specialisation_once():
    @numba.njit
    def add_one(x):
        return x + 1

    with record_compiles() as records:
        add_one(1.0)
        add_one(2.0)  # the same argument types: compiled already, nothing to record
        add_one(3)    # new argument types: a second compile
    assert [(record.name.rpartition(".")[2], record.signature, record.from_cache, record.depth)
            for record in records] == [("add_one", "(float64)", False, 0), ("add_one", "(int64)", False, 0)]
    assert all(record.seconds > 0 and record.exclusive_seconds == record.seconds for record in records)


def test_nested_compiles_are_marked_and_counted_once():
    @numba.njit
    def square(x):
        return x * x

    @numba.njit
    def sum_of_squares(x, y):
        return square(x) + square(y)

    with record_compiles() as records:
        sum_of_squares(2.0, 3.0)
    outer, inner = records  # in the order they started; square is compiled once though called twice
    assert outer.function.endswith("sum_of_squares") and outer.depth == 0 and outer.nested == 1
    assert inner.function.endswith("square") and inner.depth == 1 and inner.nested == 0
    assert outer.exclusive_seconds == pytest.approx(outer.seconds - inner.seconds)
    assert sum(record.exclusive_seconds for record in records) == pytest.approx(outer.seconds)


def test_numba_is_left_as_it_was_after_the_block():
    original = dispatcher.Dispatcher.compile
    with pytest.raises(ZeroDivisionError), record_compiles():
        raise ZeroDivisionError
    assert dispatcher.Dispatcher.compile is original
    with record_compiles() as records:
        pass

    @numba.njit
    def negate(x):
        return -x

    negate(1.0)
    assert records == []


def test_a_cache_load_is_told_from_a_compile(tmp_path):
    # cache=True needs a function in a file, and "empty cache" a cache directory of its own: a child process.
    (tmp_path / "cached_kernel.py").write_text(textwrap.dedent("""
        import numba

        @numba.njit(cache=True)
        def triple(x):
            return 3 * x
    """))
    (tmp_path / "record.py").write_text(textwrap.dedent("""
        import dataclasses, json
        from minigrad.bench.compile import record_compiles
        import cached_kernel

        with record_compiles() as records:
            cached_kernel.triple(2.0)
        print(json.dumps([dataclasses.asdict(record) for record in records]))
    """))
    environment = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))

    def recorded():
        completed = subprocess.run([sys.executable, "record.py"], cwd=tmp_path, env=environment,
                                   capture_output=True, text=True, timeout=300, check=False)
        assert completed.returncode == 0, completed.stderr
        [record] = json.loads(completed.stdout)
        return record["module"], record["function"], record["signature"], record["from_cache"]

    assert recorded() == ("cached_kernel", "triple", "(float64)", False)
    assert any((tmp_path / "cache").rglob("*.nbi"))  # the recorder let Numba write its cache
    assert recorded() == ("cached_kernel", "triple", "(float64)", True)


def test_short_signature_names_arrays_by_dtype_dimensions_and_layout():
    argument_types = [types.float32[:, ::1], types.float32[::1, :], types.int64, types.int64, types.literal(0),
                      types.Array(types.float64, 3, "A", readonly=True)]
    assert short_signature(argument_types) == "(float32[2d], float32[2d,F], int64 x2, 0, float64[3d,A,readonly])"


RECORDS = [
    CompileRecord("pkg.kernels", "outer", "(float32[2d])", 2.0, 1.5, False, 0, 1),
    CompileRecord("pkg.kernels", "helper", "(int64)", 0.5, 0.5, False, 1, 0),
    CompileRecord("pkg.other", "fast", "(int64)", 0.25, 0.25, True, 0, 0),
]


def test_format_compiles_lists_what_python_called_and_counts_nested_time_once():
    lines = format_compiles(RECORDS).splitlines()
    rows = lines[2:-1]
    assert "kernels.outer(float32[2d])" in rows[0] and "compiled" in rows[0]
    assert "other.fast(int64)" in rows[1] and "cache load" in rows[1]
    assert len(rows) == 2  # the helper is inside outer's 2 seconds
    assert lines[-1].split()[0] == "2.250" and "1 of them cache loads" in lines[-1]


def test_format_compiles_nested_shows_every_compile_with_its_exclusive_time():
    lines = format_compiles(RECORDS, nested=True).splitlines()
    rows = lines[2:-1]
    assert [row.split()[0] for row in rows] == ["1.500", "0.500", "0.250"]
    assert rows[1].endswith("  kernels.helper(int64)")  # indented under outer
    assert lines[-1].split()[0] == "2.250"


def child_result(*compiles):
    return {"compiles": [{"module": "pkg.kernels", "function": function, "signature": "(int64)",
                          "seconds": seconds, "exclusive_seconds": seconds, "from_cache": False, "depth": 0,
                          "nested": nested}
                         for function, seconds, nested in compiles]}


def test_kernel_table_sorts_by_compile_time_and_takes_medians():
    cold = [child_result(("fast", 1.0, 0), ("slow", 3.0, 2))]
    warm = [child_result(("slow", 0.1, 0), ("fast", 0.2, 0)), child_result(("slow", 0.3, 0), ("fast", 0.4, 0)),
            child_result(("slow", 0.2, 0), ("fast", 0.3, 0))]
    _, slow, fast, total = kernel_table(cold, warm)
    assert slow.split() == ["3.000s", "0.200s", "2", "kernels.slow(int64)"]
    assert fast.split() == ["1.000s", "0.300s", "0", "kernels.fast(int64)"]
    assert total.split()[:3] == ["4.000s", "0.500s", "2"]


def test_child_process_compiles_with_an_empty_cache_and_loads_with_a_warm_one(tmp_path):
    cache = str(tmp_path / "cache")
    cold, warm = run_child("minigrad", "relu", cache), run_child("minigrad", "relu", cache)
    names = {"elementwise.relu_forward", "elementwise.relu_backward"}
    assert {CompileRecord(**record).name for record in cold["compiles"]} == names
    assert not any(record["from_cache"] for record in cold["compiles"])
    assert {CompileRecord(**record).name for record in warm["compiles"]} == names
    assert all(record["from_cache"] for record in warm["compiles"])
    assert cold["total"] == pytest.approx(cold["import"] + cold["build"] + cold["first_step"])


def test_subcommand_prints_the_kernel_and_end_to_end_tables(tmp_path):
    users_cache, temporary = tmp_path / "users-cache", tmp_path / "tmp"
    temporary.mkdir()
    environment = dict(os.environ, NUMBA_CACHE_DIR=str(users_cache), TMPDIR=str(temporary))
    completed = subprocess.run([sys.executable, "-m", "minigrad.bench", "compile", "--workload", "relu", "--runs", "1"],
                               env=environment, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout
    [forward_row] = [line for line in output.splitlines() if "relu_forward" in line]
    assert forward_row.split()[0].endswith("s") and forward_row.split()[1].endswith("s")  # both figures, no "-"
    for label in ("minigrad, empty cache", "minigrad, warm cache"):
        assert label in output
    assert ("pytorch " in output) == (importlib.util.find_spec("torch") is not None)
    # The user's own cache gets no file. (Its directory may appear: bench/__main__.py imports every
    # subcommand for its help line, and Numba makes a cache directory when a cache=True kernel is defined.)
    assert not [path for path in users_cache.rglob("*") if path.is_file()]
    assert not list(temporary.glob("minigrad-compile-bench-*"))  # the benchmark's caches are removed
