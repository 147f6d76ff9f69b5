"""Roll-call cases (tests/test_every_op_checks.py) for the adaptive pooling ops: output sizes that do
not divide the input, so bins overlap."""
import minigrad.nn.functional as F
from op_case_tools import first_derivative, leaf

CASES = {
    "AdaptiveAvgPool2d": lambda: (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (leaf(1, 2, 5, 4),)),
    "AdaptiveAvgPool2dBackward": lambda: (first_derivative(lambda x: F.adaptive_avg_pool2d(x, (3, 2)) ** 2, 0),
                                          (leaf(1, 1, 5, 4),)),
    "AdaptiveMaxPool2d": lambda: (lambda x: F.adaptive_max_pool2d(x, (2, 3)), (leaf(1, 2, 5, 4),)),
}
