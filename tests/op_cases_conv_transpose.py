"""The roll call's case for the transposed convolution (tests/test_every_op_checks.py loads it)."""
import minigrad.nn.functional as F
from op_case_tools import leaf


def conv_transpose(x, w, b):
    return F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)


CASES = {
    "ConvTranspose2d": lambda: (conv_transpose, (leaf(1, 4, 2, 3), leaf(4, 1, 3, 2, seed=1), leaf(2, seed=2))),
}
