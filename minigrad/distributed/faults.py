"""A failed rank ends the whole job, so the others never hang waiting for it.

MPI leaves a job running when one process raises: the others block in their next collective
forever. Two guards here turn that into a prompt, named failure:

- an uncaught exception on any rank prints ``minigrad.distributed: rank R of N failed:`` and its
  traceback, then calls MPI_Abort, which makes the launcher kill every process and exit non-zero;
- a collective that waits longer than the timeout (a rank died, hangs, or skipped the call) prints
  which collective timed out on which rank, then aborts the same way.

A rank killed outright (SIGKILL, out of memory) needs neither: MPICH's launcher sees the process
end without MPI_Finalize and kills the rest of the job itself.
"""
import sys
import traceback

_previous_hook = None


def install_excepthook(communicator, rank, world_size):
    """Abort the job on an uncaught exception, after the previous hook printed the traceback."""
    global _previous_hook
    if _previous_hook is not None:
        return
    previous = _previous_hook = sys.excepthook

    def abort_on_exception(kind, value, trace):
        try:
            sys.stderr.write(f"minigrad.distributed: rank {rank} of {world_size} failed:\n")
            sys.stderr.flush()
            previous(kind, value, trace)
        except Exception:  # the job must still end: fall back to the plain traceback
            traceback.print_exception(kind, value, trace)
        finally:
            _flush()
            communicator.Abort(1)

    sys.excepthook = abort_on_exception


def remove_excepthook():
    global _previous_hook
    if _previous_hook is not None:
        sys.excepthook, _previous_hook = _previous_hook, None


def abort(communicator, message):
    """Print ``message`` (with this rank) to stderr and end the whole job with exit status 1."""
    sys.stderr.write(message + "\n")
    _flush()
    communicator.Abort(1)
    raise SystemExit(1)  # not reached: MPI_Abort does not return


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
