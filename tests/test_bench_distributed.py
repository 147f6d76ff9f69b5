"""python -m minigrad.bench distributed runs both sides and prints every figure (never asserted on)."""
import re
import subprocess
import sys

from mpi_launch import needs_mpi


@needs_mpi
def test_the_distributed_benchmark_prints_throughput_and_the_communication_model():
    completed = subprocess.run([sys.executable, "-m", "minigrad.bench", "distributed", "--repeats", "1", "--steps", "2"],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout
    assert output.startswith("CPU: ")
    assert re.search(r"1 process x 2 threads, batch 100: +[\d.]+ ms/step", output)
    assert re.search(r"2 ranks x 1 thread, batch 50 each, DDP: +[\d.]+ ms/step .*\(2 buckets, 13\.1 MB\)", output)
    assert re.search(r"throughput 2 ranks / 1 process: [\d.]+x", output)
    assert len(re.findall(r"^ +[\d.]+ MB +[\d.]+ ms$", output, re.MULTILINE)) == 4
    assert re.search(r"^model: allreduce\(bytes\) ~ \d+ us \+ bytes / [\d.]+ GB/s", output, re.MULTILINE)
