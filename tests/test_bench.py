"""The benchmark commands run and print their figures (what they measure is never asserted here)."""
import os
import re
import subprocess
import sys


def bench(*arguments):
    completed = subprocess.run(
        [sys.executable, "-m", "minigrad.bench", *arguments], capture_output=True, text=True, timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_help_lists_every_subcommand():
    output = bench("--help")
    for name in ("matmul", "step", "startup", "conv", "compile", "anomaly"):
        assert name in output


def test_step_prints_minigrad_time_per_step():
    assert "us/step" in bench("step", "--repeats", "1")


def test_a_report_starts_with_the_cpu_and_the_isa_numba_compiles_for():
    first_line = bench("step", "--repeats", "1").splitlines()[0]
    assert first_line.startswith("CPU: ") and "Numba target" in first_line
    assert re.search(r"\((AVX-512|AVX2|AVX|SSE|NEON|\w+): \d+-byte vectors, \d+ registers\)", first_line)


def test_startup_prints_import_and_first_step_times():
    output = bench("startup", "--runs", "1")
    assert "minigrad" in output and "first step" in output


def test_cnn_step_prints_milliseconds_per_step():
    assert "ms/step" in bench("cnn", "--repeats", "1")


def test_port_times_the_from_pytorch_example_on_both_libraries():
    output = bench("port", "--repeats", "1", "--batch-size", "8")
    assert re.search(r"minigrad +[\d.]+ ms/step", output)
    assert "minigrad / PyTorch time" in output or "PyTorch is not installed" in output


def test_resnet_times_the_resnet_example_on_both_libraries():
    output = bench("resnet", "--repeats", "1", "--batch-size", "4", "--width", "4", "--parts")
    for part in ("training step", "forward \\(train mode\\)", "forward \\(eval mode\\)"):
        assert re.search(rf"^  {part} +minigrad +[\d.]+ ms", output, re.MULTILINE), output
    assert "minigrad / PyTorch time" in output or "PyTorch is not installed" in output


def test_higher_order_prints_gradient_hvp_and_jvp_times():
    output = bench("higher_order", "--quick", "--repeats", "1")
    for benchmark in ("gradient", "hvp", "jvp"):
        assert re.search(rf"^  {benchmark} +minigrad +[\d.]+", output, re.MULTILINE), output


def test_help_lists_the_training_benchmarks():
    output = bench("--help")
    for name in ("adam", "cnn"):
        assert name in output


def test_anomaly_prints_the_off_mode_test_and_each_workload_off_and_on():
    output = bench("anomaly", "--repeats", "1", "--skip-cnn")
    assert "the off-mode test" in output and "on/off" in output
    assert "51 small ops + backward" in output and "softmax-regression step" in output


def test_help_offers_the_gpu_suite():
    assert "--device" in bench("--help")
    assert "--quick" in bench("gpu", "--help")


def test_device_cuda_without_a_gpu_says_so_and_exits_nonzero():
    # No simulator, and no GPU visible even on a machine that has one.
    environment = {name: value for name, value in os.environ.items() if name != "NUMBA_ENABLE_CUDASIM"}
    environment["CUDA_VISIBLE_DEVICES"] = ""
    for arguments in (["--device", "cuda"], ["matmul", "--device", "cuda", "--quick"]):
        completed = subprocess.run([sys.executable, "-m", "minigrad.bench", *arguments], capture_output=True,
                                   text=True, timeout=120, env=environment, check=False)
        assert completed.returncode != 0
        assert "no GPU was found" in completed.stderr and "Traceback" not in completed.stderr
        assert completed.stdout == ""


def test_host_counts_the_launches_and_times_a_gpu_step_without_a_gpu():
    output = bench("host", "--quick", "--steps", "2", "--repeats", "1")
    launches = re.search(r"kernel launches per step: (\d+) \((\d+) array arguments, (\d+) scalar arguments\)", output)
    assert launches and int(launches.group(1)) > 0 and int(launches.group(2)) >= int(launches.group(1))
    assert re.search(r"device allocations per step: \d+; Numba arrays made from CudaArrays for kernels: \d+", output)
    assert re.search(r"minigrad host time per step: [\d.]+ ms \(median of 1 rounds of 2 steps", output)
    assert re.search(r"Numba's device array, made over a fake allocation: [\d.]+ us each", output)


def test_winograd_times_both_kernels_per_pass_and_names_the_rules_pick():
    output = bench("winograd", "2,16,16,8,5", "--repeats", "1")
    for phase in ("forward", "input grad", "weight grad"):
        assert re.search(rf"^2,16,16,8,5 +{phase} +[\d.]+ +[\d.]+ +[\d.]+  (winograd|gathered) +"
                         r"(winograd|gathered|direct|planes)$", output, re.MULTILINE), output
