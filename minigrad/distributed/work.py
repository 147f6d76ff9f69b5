"""Work: a collective in flight, and the bounded wait that every collective ends with.

MPI's own wait blocks forever when another rank never joins. Here a wait polls the request
(``Test()``, which also drives MPI's progress) and gives up after the timeout with a message naming
the collective and the rank, then aborts the job (faults.py). Polling does not slow a healthy
collective: MPI moves a large message in pieces, each one only when a rank calls into MPI, so
the wait spins on ``Test()`` as MPI_Wait itself would, for the first ``SPIN_SECONDS`` (a 26 MB
allreduce of two ranks takes 7 ms here). Past that, a rank is waiting for a straggler (one writing
a checkpoint, evaluating), and the wait sleeps between polls, the pause doubling from
``FIRST_PAUSE`` to ``LONGEST_PAUSE``: a few thousand polls a second instead of a busy core, short
enough that the pieces still move quickly once the straggler arrives.

Measured on two ranks of this 2-core machine (best of 5; this polled wait against mpi4py's
Iallreduce + Wait, and its blocking Allreduce): 4 KB 18 / 13 / 14 us, 400 KB 185 / 168 / 166 us,
4 MB 1.53 / 1.57 / 1.49 ms, 26 MB 6.3 / 6.3 / 6.0 ms; rank 0 waiting for a rank 200 ms late
with 26 MB: 211 ms (blocking: 207 ms).
"""
import time

from . import faults, launch, world

SPIN_SECONDS = 0.1
FIRST_PAUSE = 10e-6
LONGEST_PAUSE = 200e-6


class Work:
    """A started collective, as torch.distributed's Work: ``wait()`` and ``is_completed()``.

    ``requests`` are the MPI requests to complete; ``finish`` (optional) runs once after they have:
    it copies a staged result back to the GPU, divides an average, fills a tensor list.
    """

    def __init__(self, name, requests=(), finish=None):
        self.name = name
        self._requests = list(requests)
        self._finish = finish
        self._completed = False
        if self._requests:
            _in_flight.append(self)
        else:
            self._complete()

    def is_completed(self):
        """True once the collective has finished on this rank (and its result is in place)."""
        if not self._completed and _all_done(self._requests):
            self._complete()
        return self._completed

    def wait(self, timeout=None):
        """Block until the collective has finished; abort the job if that takes longer than the
        timeout (init's, or ``timeout`` here: a datetime.timedelta or seconds). Returns True, as torch's."""
        if not self._completed:
            seconds = world.timeout() if timeout is None else world.timeout_seconds(timeout, f"{self.name} wait")
            wait_for(self._requests, self.name, seconds)
            self._complete()
        return True

    def is_success(self):
        return self._completed

    def then(self, function):
        """Run ``function`` after the collective finishes (now, if it has): tensors.py fills results."""
        if self._completed:
            function()
            return self
        earlier = self._finish

        def both():
            if earlier is not None:
                earlier()
            function()

        self._finish = both
        return self

    def _complete(self):
        self._completed = True
        if self in _in_flight:
            _in_flight.remove(self)
        finish, self._finish = self._finish, None
        if finish is not None:
            finish()


_in_flight = []  # Works started and not complete yet, oldest first


def progress():
    """Let MPI move the data of the collectives in flight; cheap (about a microsecond), call it often.

    MPICH advances a non-blocking collective only while this process is inside an MPI call: a 26 MB
    allreduce started before 50 ms of computation had still done nothing when the computation
    ended (its wait then took 11 ms, the whole transfer), and done everything if ``progress()`` ran
    now and then during it (the wait then took 0 ms). DistributedDataParallel calls it between
    gradients. (MPIR_CVAR_ASYNC_PROGRESS=1 does the same from a thread of MPICH's, at the cost of a
    core busy polling.)
    """
    for work in list(_in_flight):
        if not work.is_completed():
            return  # testing one request drives MPI's whole progress engine


def _all_done(requests):
    return launch.mpi_module().Request.Testall(requests) if requests else True


def wait_for(requests, name, seconds):
    """Poll ``requests`` until all are complete; after ``seconds``, report and abort the job."""
    if not requests:
        return
    test = requests[0].Test if len(requests) == 1 else (lambda: _all_done(requests))
    if test():
        return
    start = time.perf_counter()
    deadline, spin_until = start + seconds, start + SPIN_SECONDS
    pause = FIRST_PAUSE
    while not test():
        now = time.perf_counter()
        if now < spin_until:
            continue
        if now > deadline:
            faults.abort(
                world.communicator(),
                f"minigrad.distributed: rank {world.rank()} of {world.world_size()}: {name} timed out after "
                f"{seconds:g} s waiting for the other ranks (one failed, hangs, or did not call {name}); "
                f"aborting the job (set the limit with init(timeout=...) or {world.TIMEOUT_VARIABLE})",
            )
        time.sleep(pause)
        pause = min(2 * pause, LONGEST_PAUSE)
