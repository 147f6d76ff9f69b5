"""Roll-call cases for the embedding ops (minigrad/ops/embedding.py), loaded by tests/test_every_op_checks.py."""
import numpy as np
from op_case_tools import first_derivative, leaf

import minigrad as mg
import minigrad.nn.functional as F

INDICES = np.array([[1, 4, 1], [0, 2, 1]])  # a repeated row (1), an unused one (3)


def lookup(weight):
    return F.embedding(mg.tensor(INDICES), weight)


CASES = {
    "Embedding": lambda: (lookup, (leaf(5, 3),)),
    # The weight's gradient as a function of what multiplies the lookup: the scatter (here with padding
    # and frequency scaling), whose gradient is the gather again. (A function of the weight itself would
    # differentiate the padded lookup, whose gradient leaves out the padding row on purpose.)
    "EmbeddingBackward": lambda: (first_derivative(
        lambda w, x: F.embedding(mg.tensor(INDICES), w, padding_idx=2, scale_grad_by_freq=True) * x, 0),
        (leaf(5, 3), leaf(2, 3, 3, seed=1))),
}
