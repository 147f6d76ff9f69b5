"""The roll call's case for batch normalization (tests/test_every_op_checks.py loads it): training, so that the
batch statistics are part of every derivative (eval is checked in tests/test_batch_norm.py)."""
import minigrad.nn.functional as F
from op_case_tools import leaf


def batch_norm(x, weight, bias):
    return F.batch_norm(x, None, None, weight, bias, training=True)


CASES = {
    "BatchNorm": lambda: (batch_norm, (leaf(3, 2, 4), leaf(2, seed=1), leaf(2, seed=2))),
}
