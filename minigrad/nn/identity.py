"""Identity: a placeholder layer that returns its input (to switch a layer off without rewiring a model)."""
from .module import Module


class Identity(Module):
    """forward(x) = x. Takes and ignores any constructor arguments, as torch.nn.Identity. Like minigrad's
    other layers it refuses a non-Tensor input (torch's passes anything through)."""

    tensor_input = True

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
