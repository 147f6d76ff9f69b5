"""python -m minigrad.bench convtranspose runs and prints both decoder layers (its figures are never asserted)."""
import subprocess
import sys


def test_convtranspose_prints_both_layers_against_torch():
    completed = subprocess.run([sys.executable, "-m", "minigrad.bench", "convtranspose", "--repeats", "1"],
                               capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr
    for text in ("deconv1 32->16 7->14", "deconv2 16->1 14->28", "milliseconds per call"):
        assert text in completed.stdout
