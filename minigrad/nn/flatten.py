"""Flatten: axes merged into one, as a module."""
from .module import Module


class Flatten(Module):
    """Merge axes start_dim..end_dim into one (by default everything but the batch axis)."""

    tensor_input = True

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
