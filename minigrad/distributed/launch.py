"""Was this process started by an MPI launcher, and mpi4py's MPI module when it was.

``init()`` asks MPI for the rank and world size only when a launcher (mpiexec, mpirun, srun)
started the process: a plain ``python train.py`` is one process of one, imports no MPI and needs
none installed, so the same script runs unchanged both ways. Importing mpi4py's MPI module starts
MPI itself, which is why nothing here imports it before it is needed.
"""
import importlib
import importlib.util
import os

# Each launcher announces itself to its processes through the environment: MPICH's Hydra (and
# Intel MPI, MVAPICH) set PMI_RANK / PMI_SIZE, Slurm's srun sets PMI_FD (PMI-2) or PMIX_RANK
# (PMIx, as does Open MPI 5's prterun), Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE.
LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def launched_by_mpi(environment=None):
    """True when an MPI launcher started this process (one of LAUNCHER_VARIABLES is set)."""
    environment = os.environ if environment is None else environment
    return any(name in environment for name in LAUNCHER_VARIABLES)


def mpi_module():
    """mpi4py's MPI module (importing it initialises MPI), or an ImportError that says how to get it."""
    try:
        return importlib.import_module("mpi4py.MPI")
    except ImportError as error:
        raise ImportError(
            "minigrad.distributed.init: this process was started by an MPI launcher (mpiexec), but "
            f"mpi4py cannot be imported ({error}); install it with: pip install -e \".[distributed]\" "
            "(mpi4py and the mpich wheel), or `pip install mpi4py` against your system's MPI"
        ) from error


def mpi_installed():
    """True if mpi4py can be found, without importing it (and so without starting MPI)."""
    try:
        return importlib.util.find_spec("mpi4py") is not None
    except (ImportError, ValueError):  # sys.modules["mpi4py"] = None makes find_spec raise ValueError
        return False
