"""Run by tests/test_distributed.py under ``mpiexec -n 2`` with NUMBA_ENABLE_CUDASIM=1: every public
collective on two ranks, on CPU tensors and on (simulated) CUDA tensors through the pinned staging.
Each check prints ``check NAME`` from each rank once its assertions hold; any failure raises, and
the fault handler aborts the job with the rank named."""
import datetime
import sys
import time

import numpy as np

import minigrad as mg
import minigrad.distributed as dist
from minigrad.distributed import collectives, cuda_staging, world

dist.init(timeout=datetime.timedelta(seconds=60))
dist.init()  # idempotent
rank, size = dist.get_rank(), dist.get_world_size()
assert size == 2 and rank in (0, 1), (rank, size)
assert (dist.rank(), dist.world_size(), dist.is_initialized(), world.timeout()) == (rank, size, True, 60.0)
assert world.communicator() is not None and world.communicator().Get_size() == 2


def report(name):
    # One write per line (stdout may be unbuffered: print's newline would be a second write, and the
    # other rank's line could land between the two).
    sys.stdout.write(f"check {name} rank {rank}\n")
    sys.stdout.flush()


for device in ("cpu", "cuda"):
    for dtype in (mg.float32, mg.float64):
        mine = [1.5 + rank, -2.0 * rank, 3.0]
        expected = {"SUM": [4.0, -2.0, 6.0], "AVG": [2.0, -1.0, 3.0], "MAX": [2.5, 0.0, 3.0],
                    "MIN": [1.5, -2.0, 3.0], "PRODUCT": [3.75, -0.0, 9.0]}
        for name, values in expected.items():
            tensor = mg.tensor(mine, dtype=dtype, device=device)
            version = tensor._version
            assert dist.all_reduce(tensor, op=getattr(dist.ReduceOp, name)) is None
            assert tensor.dtype == dtype and tensor.device == device and tensor._version > version
            np.testing.assert_array_equal(tensor.cpu().numpy(), np.array(values, dtype=tensor.cpu().numpy().dtype), err_msg=name)
    report(f"all_reduce {device}")

    tensor = mg.full((2, 3), float(rank + 7), device=device)
    dist.broadcast(tensor, src=1)
    np.testing.assert_array_equal(tensor.cpu().numpy(), np.full((2, 3), 8.0, np.float32))
    report(f"broadcast {device}")

    gathered = [mg.zeros(2, 2, dtype=mg.float64, device=device) for _ in range(size)]
    assert dist.all_gather(gathered, mg.full((2, 2), 10.0 * rank + 1, dtype=mg.float64, device=device)) is None
    for index, tensor in enumerate(gathered):
        np.testing.assert_array_equal(tensor.cpu().numpy(), np.full((2, 2), 10.0 * index + 1))
    report(f"all_gather {device}")

    tensor = mg.full((4,), float(rank + 1), device=device)
    work = dist.all_reduce(tensor, op=dist.ReduceOp.SUM, async_op=True)
    assert isinstance(work, dist.Work)
    assert work.wait() is True and work.is_completed()
    np.testing.assert_array_equal(tensor.cpu().numpy(), np.full(4, 3.0, np.float32))
    report(f"async_op {device}")

# The internal entry DistributedDataParallel uses: raw arrays, in place, several in flight at once.
first, second = np.full(1000, rank + 1.0, np.float32), np.arange(6.0) * (rank + 1)
works = [collectives.start_all_reduce(first, "avg"), collectives.start_all_reduce(second)]
for work in works:
    work.wait()
np.testing.assert_array_equal(first, np.full(1000, 1.5, np.float32))
np.testing.assert_array_equal(second, np.arange(6.0) * 3)
view = mg.arange(8, dtype=mg.float32, device="cuda").data[2:6]  # a CudaArray at an offset in its buffer
collectives.start_all_reduce(view, "max").wait()
np.testing.assert_array_equal(view.get(), np.arange(2.0, 6.0))
large = np.full(1 << 20, rank + 1.0, np.float32)
work = collectives.start_all_reduce(large)
deadline = time.perf_counter() + 20
while not work._completed and time.perf_counter() < deadline:
    collectives.progress()  # alone (no wait, no is_completed) it must carry the allreduce through
assert work._completed, "collectives.progress() did not complete the allreduce in flight"
np.testing.assert_array_equal(large, np.full(1 << 20, 3.0, np.float32))
assert cuda_staging._free_buffers, "the CUDA collectives did not go through the pinned staging buffers"
report("start_all_reduce")

objects = [None, None]
dist.all_gather_object(objects, {"rank": rank, "state": np.arange(rank + 2)})
assert [entry["rank"] for entry in objects] == [0, 1]
np.testing.assert_array_equal(objects[1]["state"], np.arange(3))
broadcast_list = [f"from {rank}", rank * 100, None]
dist.broadcast_object_list(broadcast_list, src=1)
assert broadcast_list == ["from 1", 100, None], broadcast_list
report("objects")

dist.barrier()
assert dist.barrier(async_op=True).wait()
dist.destroy_process_group()
assert not dist.is_initialized() and world.communicator() is None
dist.init()  # a second init after destroy joins again
assert dist.get_world_size() == 2
report("destroy and init again")
