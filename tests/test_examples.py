"""The example scripts run as a user runs them and end with their `final ...=` line."""
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, *arguments):
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *arguments], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_linear_regression_fits_y_equals_2x():
    output = run_example("linear_regression.py", "--steps", "2000", "--lr", "0.05")
    weight, bias = map(float, re.findall(r"W (\S+)\s+b (\S+)", output)[-1])
    assert abs(weight - 2) < 1e-3 and abs(bias) < 1e-3
    assert float(re.search(r"^final loss=(\S+)$", output, re.MULTILINE).group(1)) < 1e-6


def test_linear_regression_default_recipe_prints_every_ten_steps():
    output = run_example("linear_regression.py")
    assert len(re.findall(r"^step ", output, re.MULTILINE)) == 10
    losses = [float(value) for value in re.findall(r"loss (\S+)", output)]
    assert losses[-1] < losses[0]


def test_help():
    assert "--lr" in run_example("linear_regression.py", "--help")
