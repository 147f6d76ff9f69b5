"""PyTorch's answers at the edges on the GPU: the cases of tests/edge_cases.py on device "cuda"."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, where the shared cases live
from edge_cases import CASES  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_on_the_gpu(case):
    case("cuda")
