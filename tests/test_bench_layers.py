"""The layer benchmarks run and print a row per layer with both libraries' figures (never asserted)."""
import re
import subprocess
import sys

import pytest

ROWS = {
    "depthwise": ["32ch 28x28 stride 1", "32ch 28x28 stride 2", "64ch 14x14 stride 1", "16ch 28x28 multiplier 2"],
    "layernorm": ["LayerNorm (100, 1024)", "GroupNorm (100, 32, 28, 28) G=8"],
    "batchnorm": ["(100, 32, 28, 28)   train fwd+bwd", "(100, 64, 14, 14)   eval fwd"],
    "activation": ["GELU tanh", "Mish", "Softplus"],
}


@pytest.mark.parametrize("command", sorted(ROWS))
def test_layer_benchmark_prints_every_row(command):
    completed = subprocess.run([sys.executable, "-m", "minigrad.bench", command, "--repeats", "1"],
                               capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr
    for row in ROWS[command]:
        assert re.search(rf"^{re.escape(row)} +[\d.]+", completed.stdout, re.MULTILINE), (row, completed.stdout)
