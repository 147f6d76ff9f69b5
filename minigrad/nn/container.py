"""Sequential: modules applied one after another, each output the next one's input."""
from .module import Module


class Sequential(Module):
    """Sequential(m0, m1, ...): forward(x) = ...m1(m0(x)). Children are named "0", "1", ... as in PyTorch,
    so state_dict keys read "0.weight", "3.bias"."""

    def __init__(self, *modules):
        super().__init__()
        for module in modules:
            self.append(module)

    @property
    def tensor_input(self):
        """Whatever its first module takes: refuse a non-Tensor at the Sequential if that module would."""
        first = next(iter(self._modules.values()), None)
        return first is not None and first.tensor_input

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        try:
            return modules[index]
        except (IndexError, TypeError):
            raise IndexError(f"Sequential: index {index!r} is out of range for {len(modules)} modules") from None
