"""Roll-call cases (tests/test_every_op_checks.py) for the activations: the one Activation op (here as
Mish, whose double backward runs Activation again for its softplus, and GELU's erf form), and GELU's
derivative op, reached through a first derivative. Values away from the kinks."""
import minigrad.nn.functional as F
from op_case_tools import first_derivative, leaf

CASES = {
    "Activation": lambda: (lambda x: F.mish(x) + F.gelu(x), (leaf(3, 5),)),
    "GeluDerivative": lambda: (first_derivative(lambda x: F.gelu(x), 0), (leaf(2, 7, seed=1),)),
}
