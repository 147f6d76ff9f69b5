"""The activations: functions of each element (or of a row, for softmax)."""
from .arguments import check_tensors


def relu(x):
    check_tensors("relu", ("input", x))
    return x.relu()


def sigmoid(x):
    check_tensors("sigmoid", ("input", x))
    return x.sigmoid()


def tanh(x):
    check_tensors("tanh", ("input", x))
    return x.tanh()


def softmax(x, dim=-1):
    check_tensors("softmax", ("input", x))
    return x.softmax(dim)


def log_softmax(x, dim=-1):
    check_tensors("log_softmax", ("input", x))
    return x.log_softmax(dim)
