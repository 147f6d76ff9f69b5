"""Roll-call cases (tests/test_every_op_checks.py) for the resampling ops: bilinear interpolation at a
non-integer scale (Resample2d with two taps per axis; its gradient is Resample2d on the transposed
maps), and constant padding that pads one side and crops the other."""
import minigrad.nn.functional as F
from op_case_tools import leaf

CASES = {
    "Resample2d": lambda: (lambda x: F.interpolate(x, scale_factor=(1.5, 0.7), mode="bilinear"), (leaf(1, 2, 3, 4),)),
    "ConstantPad": lambda: (lambda x: F.pad(x, (1, -1, 2, 0), value=3.0), (leaf(1, 2, 3, 4),)),
}
