"""mg.distributed: the single-process path (no mpiexec, no MPI needed) in this process, and the
collectives and the fault handling on two ranks under ``mpiexec -n 2`` (tests/mpi_launch.py)."""
import datetime
import os
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import minigrad as mg
import minigrad.distributed as dist
from minigrad.distributed import collectives, launch, world
from mpi_launch import ROOT, needs_mpi, run_ranks

LAUNCHER_VARIABLES = launch.LAUNCHER_VARIABLES


@pytest.fixture
def single_process(monkeypatch):
    """A fresh single-process group: no launcher variables, init() before, destroy after."""
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(world.TIMEOUT_VARIABLE, raising=False)
    dist.destroy_process_group()
    dist.init()
    yield
    dist.destroy_process_group()


# --- single process ---------------------------------------------------------------------------------

def test_before_init_the_public_names_refuse_as_torch_does(monkeypatch):
    dist.destroy_process_group()
    for function in (dist.get_rank, dist.get_world_size, dist.rank, dist.world_size, dist.barrier):
        with pytest.raises(ValueError, match="has not been initialized"):
            function()
    with pytest.raises(ValueError, match="all_reduce: Default process group has not been initialized"):
        dist.all_reduce(mg.ones(2))
    assert not dist.is_initialized() and dist.is_available()
    assert (world.rank(), world.world_size(), world.communicator()) == (0, 1, None)  # the internal API answers


def test_single_process_is_rank_0_of_1_and_every_collective_the_identity(single_process):
    assert (dist.get_rank(), dist.get_world_size(), dist.rank(), dist.world_size()) == (0, 1, 0, 1)
    assert dist.is_initialized() and dist.get_backend() == "mpi" and world.communicator() is None
    dist.init()  # idempotent
    for op in dist.ReduceOp:
        bitwise = op in (dist.ReduceOp.BAND, dist.ReduceOp.BOR, dist.ReduceOp.BXOR)
        tensor = mg.tensor([3, -1, 4]) if bitwise else mg.tensor([3.0, -1.0, 4.5])
        before = tensor.numpy().copy()
        assert dist.all_reduce(tensor, op=op) is None
        np.testing.assert_array_equal(tensor.numpy(), before)
    tensor = mg.tensor([[1.0, 2.0]], dtype=mg.float64)
    assert dist.broadcast(tensor, src=0) is None
    np.testing.assert_array_equal(tensor.numpy(), [[1.0, 2.0]])
    gathered = [mg.zeros(1, 2, dtype=mg.float64)]
    dist.all_gather(gathered, tensor)
    np.testing.assert_array_equal(gathered[0].numpy(), [[1.0, 2.0]])
    tensor[0, 0] = 5.0
    assert gathered[0].numpy()[0, 0] == 1.0  # a copy, not the tensor itself
    objects = [None]
    state = {"weights": [1, 2]}
    dist.all_gather_object(objects, state)
    assert objects == [state] and objects[0] is not state
    listed = [1, "two"]
    dist.broadcast_object_list(listed, src=0)
    assert listed == [1, "two"]
    work = dist.all_reduce(tensor, async_op=True)
    assert isinstance(work, dist.Work) and work.is_completed() and work.wait() is True
    assert dist.barrier() is None and dist.barrier(async_op=True).wait()


def test_start_all_reduce_single_process_leaves_the_array_and_completes(single_process):
    array = np.arange(5.0)
    work = collectives.start_all_reduce(array, "avg")
    assert work.is_completed() and work.wait()
    np.testing.assert_array_equal(array, np.arange(5.0))


def test_bad_arguments_are_refused_at_the_call_naming_the_function(single_process):
    with pytest.raises(ValueError, match="all_reduce: the tensor of shape \\(3, 2\\) is not contiguous"):
        dist.all_reduce(mg.zeros(2, 3).T)
    with pytest.raises(TypeError, match="broadcast: expected a minigrad Tensor, got ndarray"):
        dist.broadcast(np.zeros(3))
    with pytest.raises(TypeError, match="all_reduce: op must be a ReduceOp"):
        dist.all_reduce(mg.zeros(3), op="sum")
    with pytest.raises(TypeError, match="all_reduce: AVG needs a floating-point tensor"):
        dist.all_reduce(mg.tensor([1, 2], dtype=mg.int64), op=dist.ReduceOp.AVG)
    with pytest.raises(ValueError, match="broadcast: src=1 is not a rank of this job"):
        dist.broadcast(mg.zeros(3), src=1)
    with pytest.raises(ValueError, match="all_gather: tensor_list must be a list of 1 tensors"):
        dist.all_gather([mg.zeros(3), mg.zeros(3)], mg.zeros(3))
    with pytest.raises(ValueError, match="all_gather: tensor_list\\[0\\] is \\(2,\\)"):
        dist.all_gather([mg.zeros(2)], mg.zeros(3))
    with pytest.raises(ValueError, match="all_reduce: group="):
        dist.all_reduce(mg.zeros(3), group="workers")
    with pytest.raises(ValueError, match="all_gather_object: object_list must be a list of 1 entries"):
        dist.all_gather_object([], 1)
    with pytest.raises(ValueError, match="unknown reduction 'mean'"):
        collectives.start_all_reduce(np.zeros(2), "mean")


def test_init_process_group_takes_torchs_arguments_and_refuses_other_backends(monkeypatch):
    for name in LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    dist.destroy_process_group()
    with pytest.raises(ValueError, match="backend='nccl' is not available; minigrad.distributed runs on MPI only"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="init_method and store are not used"):
        dist.init_process_group("mpi", init_method="tcp://10.0.0.1:23456")
    with pytest.raises(TypeError, match="timeout must be a datetime.timedelta"):
        dist.init_process_group("mpi", timeout="soon")
    with pytest.raises(ValueError, match="init_process_group: rank=3, but the launcher made this process rank 0"):
        dist.init_process_group("mpi", rank=3)
    dist.destroy_process_group()
    dist.init_process_group(backend="mpi", timeout=datetime.timedelta(minutes=2), world_size=1, rank=0)
    assert world.timeout() == 120.0 and dist.get_world_size() == 1
    dist.destroy_process_group()
    monkeypatch.setenv(world.TIMEOUT_VARIABLE, "7.5")
    dist.init()
    assert world.timeout() == 7.5
    dist.destroy_process_group()
    monkeypatch.setenv(world.TIMEOUT_VARIABLE, "never")
    with pytest.raises(ValueError, match="MINIGRAD_DISTRIBUTED_TIMEOUT='never' is not a number"):
        dist.init()
    assert not dist.is_initialized()


def test_launched_by_mpiexec_without_mpi4py_says_how_to_install_it(monkeypatch):
    dist.destroy_process_group()
    monkeypatch.setenv("PMI_RANK", "0")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now raises ImportError
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", None)
    with pytest.raises(ImportError, match=re.escape('pip install -e ".[distributed]"')):
        dist.init()
    assert not dist.is_initialized()


def test_import_minigrad_imports_no_mpi_and_the_single_process_path_needs_none():
    script = textwrap.dedent("""
        import sys
        import minigrad as mg
        assert "mpi4py" not in sys.modules, "import minigrad imported mpi4py"
        sys.modules["mpi4py"] = None  # as if it were not installed
        mg.distributed.init()
        tensor = mg.tensor([1.0, 2.0])
        mg.distributed.all_reduce(tensor, op=mg.distributed.ReduceOp.AVG)
        mg.distributed.broadcast(tensor, src=0)
        objects = [None]
        mg.distributed.all_gather_object(objects, "state")
        mg.distributed.barrier()
        assert tensor.tolist() == [1.0, 2.0] and objects == ["state"]
        assert not mg.distributed.is_mpi_available()
        print("ok", mg.distributed.get_rank(), mg.distributed.get_world_size())
    """)
    environment = {name: value for name, value in os.environ.items() if name not in LAUNCHER_VARIABLES}
    result = subprocess.run([sys.executable, "-c", script], env=environment, cwd=str(ROOT), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ok", "0", "1"]


def test_launcher_detection():
    assert not launch.launched_by_mpi({"HOME": "/root"})
    for name in ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_FD"):
        assert launch.launched_by_mpi({name: "0"})


# --- two ranks ------------------------------------------------------------------------------------

@needs_mpi
def test_every_collective_on_two_ranks_cpu_and_staged_cuda():
    result = run_ranks(str(ROOT / "tests" / "distributed_collectives.py"), ranks=2, timeout=120,
                       env={"NUMBA_ENABLE_CUDASIM": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    checks = ["all_reduce", "broadcast", "all_gather", "async_op"]
    names = [f"{check} {device}" for device in ("cpu", "cuda") for check in checks]
    for name in names + ["start_all_reduce", "objects", "destroy and init again"]:
        for rank in (0, 1):
            assert f"check {name} rank {rank}" in result.stdout, (name, rank, result.stdout)


RAISES = """
import time
import minigrad as mg
mg.distributed.init()
tensor = mg.ones(3)
mg.distributed.all_reduce(tensor)
if mg.distributed.rank() == 1:
    raise RuntimeError("rank 1 fails on purpose")
mg.distributed.all_reduce(tensor)  # rank 0 would wait here for ever
time.sleep(60)
"""

KILLED = """
import os, signal, time
import minigrad as mg
mg.distributed.init()
mg.distributed.barrier()
if mg.distributed.rank() == 1:
    os.kill(os.getpid(), signal.SIGKILL)
mg.distributed.all_reduce(mg.ones(3))
time.sleep(60)
"""

NEVER_JOINS = """
import time
import minigrad as mg
mg.distributed.init()
mg.distributed.barrier()
if mg.distributed.rank() == 0:
    mg.distributed.all_reduce(mg.ones(3))
time.sleep(60)
"""


def run_failing(script):
    start = time.perf_counter()
    result = run_ranks(script, ranks=2, timeout=40, env={world.TIMEOUT_VARIABLE: "5"})
    return result, time.perf_counter() - start


@needs_mpi
def test_a_rank_that_raises_ends_the_job_non_zero_with_the_rank_named():
    result, seconds = run_failing(RAISES)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "minigrad.distributed: rank 1 of 2 failed:" in result.stderr, result.stderr
    assert "RuntimeError: rank 1 fails on purpose" in result.stderr
    assert seconds < 5, f"the job took {seconds:.1f} s to end: it waited for the timeout, not the abort"


@needs_mpi
def test_a_rank_killed_outright_ends_the_job_non_zero():
    result, seconds = run_failing(KILLED)
    assert result.returncode != 0, result.stdout + result.stderr
    assert seconds < 5, f"the job took {seconds:.1f} s to end"


@needs_mpi
def test_a_collective_one_rank_never_joins_times_out_and_aborts():
    result, seconds = run_failing(NEVER_JOINS)
    assert result.returncode != 0, result.stdout + result.stderr
    assert re.search(r"rank 0 of 2: all_reduce timed out after 5 s", result.stderr), result.stderr
    assert 5 <= seconds < 30


@needs_mpi
def test_ranks_on_one_machine_share_its_cores_unless_told_otherwise():
    # Rank 0 prints for both: two ranks' own prints can interleave within one line of mpiexec's output.
    script = ("import minigrad.distributed as dist\nfrom minigrad import backend\n"
              "dist.init()\ncounts = [None, None]\ndist.all_gather_object(counts, backend.thread_count())\n"
              "if dist.get_rank() == 0:\n    print('threads', *counts, flush=True)\n")
    shared = run_ranks(script, ranks=2, timeout=60, env={"NUMBA_NUM_THREADS": None})
    assert shared.returncode == 0, shared.stderr
    expected = max(1, os.cpu_count() // 2)  # not a thread per core in each of the two ranks
    assert re.findall(r"^threads (\d+) (\d+)$", shared.stdout, re.MULTILINE) == [(str(expected), str(expected))]
    chosen = run_ranks(script, ranks=2, timeout=60, env={"NUMBA_NUM_THREADS": "1"})
    assert re.findall(r"^threads (\d+) (\d+)$", chosen.stdout, re.MULTILINE) == [("1", "1")]
