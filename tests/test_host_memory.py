"""minigrad keeps freed host memory for the next step (minigrad/backend/host_memory.py): counted in
page faults, in fresh processes, against the same process with MINIGRAD_KEEP_FREED_MEMORY=0."""
import os
import subprocess
import sys

import pytest

from minigrad.backend import host_memory

pytestmark = pytest.mark.skipif(host_memory.glibc_mallopt() is None, reason="malloc is not glibc's here")

# A step's pattern: thirty arrays of 4 MB (each a little larger than the last), all freed, again and again.
STEPS = """
import resource, numpy as np, minigrad
def step():
    arrays = [np.ones(1_000_000 + 1000 * i, np.float32) for i in range(30)]
    del arrays
step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 5)
"""


def faults_per_step(**environment):
    settings = {name: value for name, value in os.environ.items() if name not in host_memory.USER_SETTINGS}
    settings.update(environment)
    result = subprocess.run([sys.executable, "-c", STEPS], env=settings, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_the_next_steps_arrays_reuse_the_pages_of_the_last():
    kept = faults_per_step()
    returned = faults_per_step(MINIGRAD_KEEP_FREED_MEMORY="0")
    # 120 MB of fresh pages is about 29,000 faults a step; kept, a step faults nothing new.
    assert returned > 10_000, returned
    assert kept < 1_000, kept


def test_a_users_own_malloc_settings_are_left_alone():
    code = "import minigrad.backend.host_memory as m; print(m.keep_freed_memory())"
    for environment in ({"MALLOC_TRIM_THRESHOLD_": "131072"}, {"MINIGRAD_KEEP_FREED_MEMORY": "0"}, {}):
        settings = {name: value for name, value in os.environ.items()
                    if name not in host_memory.USER_SETTINGS + ("MINIGRAD_KEEP_FREED_MEMORY",)}
        settings.update(environment)
        result = subprocess.run([sys.executable, "-c", code], env=settings, capture_output=True, text=True, timeout=60)
        assert result.stdout.strip() == ("True" if not environment else "False"), (environment, result.stderr)
