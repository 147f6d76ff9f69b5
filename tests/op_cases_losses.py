"""Roll-call cases for the loss ops added with issue 16 (minigrad/ops/loss.py), loaded by tests/test_every_op_checks.py."""
import numpy as np
from op_case_tools import leaf

import minigrad as mg
import minigrad.nn.functional as F


def binary_cross_entropy(x):
    probabilities = x.sigmoid()  # into (0, 1), away from the clamps
    targets = mg.tensor([1.0, 0.0, 0.25], dtype=mg.float64)
    return F.binary_cross_entropy(probabilities, targets, weight=mg.tensor(np.array([1.0, 2.0, 0.5])))


CASES = {
    "Huber": lambda: (lambda x: F.huber_loss(x, mg.zeros(5, dtype=mg.float64), delta=0.9, reduction="none"), (leaf(5),)),
    "BinaryCrossEntropy": lambda: (binary_cross_entropy, (leaf(3),)),
}
