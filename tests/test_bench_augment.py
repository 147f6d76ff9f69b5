"""bench augment runs and prints its figures (what it measures is never asserted here)."""
import re

from test_bench import bench


def test_augment_prints_the_time_per_batch_and_its_fraction_of_a_training_step():
    output = bench("augment", "--repeats", "1")
    assert re.search(r"^  training step: +[\d.]+ ms$", output, re.MULTILINE), output
    fractions = re.findall(r"^  (RandomCrop|RandomAffine).*: [\d.]+ ms per batch, [\d.]+% of the step$", output,
                           re.MULTILINE)
    assert len(fractions) == 3, output
