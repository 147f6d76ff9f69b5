"""Roll-call cases (tests/test_every_op_checks.py) for layer and group normalization: odd sizes,
two trailing axes for LayerNorm, groups of several channels with spatial positions for GroupNorm."""
import minigrad.nn.functional as F
from op_case_tools import leaf

CASES = {
    "LayerNorm": lambda: (lambda x, w, b: F.layer_norm(x, (3, 5), w, b), (leaf(2, 3, 5), leaf(3, 5), leaf(3, 5))),
    "GroupNorm": lambda: (lambda x, w, b: F.group_norm(x, 2, w, b), (leaf(2, 4, 3), leaf(4), leaf(4))),
}
