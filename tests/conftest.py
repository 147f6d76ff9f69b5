"""Fixtures shared by the tests of explain() and mg.viz: a fixed small graph, numbered from 0."""
import itertools

import pytest

import minigrad as mg
from minigrad import autograd


@pytest.fixture
def fresh_sequence_numbers(monkeypatch):
    """Sequence numbers come from one global counter; start it at 0 so expected texts are fixed."""
    monkeypatch.setattr(autograd, "_sequence_numbers", itertools.count())


@pytest.fixture
def small_graph(fresh_sequence_numbers):
    """(x, w, b, relu(x @ w + b).sum()) with x = [[1, -1]]: x @ w + b = [2.5, -1.5], one unit passes."""
    x = mg.tensor([[1.0, -1.0]], dtype=mg.float64)
    w = mg.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([0.5, -0.5], dtype=mg.float64, requires_grad=True)
    return x, w, b, (x @ w + b).relu().sum()
