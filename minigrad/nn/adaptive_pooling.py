"""AdaptiveAvgPool2d and AdaptiveMaxPool2d: adaptive pooling as layers (output size given)."""
from . import functional
from .module import Module


class AdaptiveAvgPool2d(Module):
    """Mean over each of output_size's bins (an int, or a pair whose None entries keep the input's
    size); AdaptiveAvgPool2d((1, 1)) is global average pooling."""

    tensor_input = True

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size  # as given, as PyTorch stores (and prints) it

    def forward(self, x):
        return functional.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Maximum over each of output_size's bins; with return_indices, also the flat in-plane index of each."""

    tensor_input = True

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, x):
        return functional.adaptive_max_pool2d(x, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"
