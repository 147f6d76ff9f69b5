"""Higher-order autodiff through the reference CNN, minigrad against PyTorch CPU in the same run.

At batch 100, with respect to all 3.27M parameters, the model in eval mode (no dropout), median
milliseconds over interleaved rounds:
  - a Hessian-vector product of the loss: the gradient recorded (create_graph=True), then
    differentiated along v (torch.autograd.grad twice, the same in minigrad);
  - a Jacobian-vector product of the loss by forward-mode AD (torch.func.jvp over
    torch.func.functional_call; mg.func.jvp over mg.func.functional_call);
  - the plain gradient, for scale.
"""
import argparse
import importlib

import numpy as np

from minigrad.bench._timing import time_interleaved
from minigrad.bench.cnn import BATCH, available_libraries, build


def contenders(library, images, labels, quick=False):
    """{benchmark: zero-argument function} for one library (minigrad or torch); ``quick``: a narrow CNN."""
    library.manual_seed(0)
    model, _ = build(library, channels=(4, 8), hidden=32) if quick else build(library)
    model.eval()
    names = [name for name, _ in model.named_parameters()]
    parameters = [parameter for _, parameter in model.named_parameters()]
    generator = np.random.default_rng(1)
    directions = [library.from_numpy(generator.standard_normal(tuple(p.shape)).astype(np.float32)) for p in parameters]
    images, labels = library.from_numpy(images), library.from_numpy(labels)
    cross_entropy = library.nn.functional.cross_entropy
    grad = library.autograd.grad
    functional_call = library.func.functional_call

    def loss_of(*tensors):
        return cross_entropy(functional_call(model, dict(zip(names, tensors)), (images,)), labels)

    def gradient():
        return grad(cross_entropy(model(images), labels), parameters)

    def hessian_vector_product():
        first = grad(cross_entropy(model(images), labels), parameters, create_graph=True)
        return grad(first, parameters, grad_outputs=directions)

    def jacobian_vector_product():
        with library.no_grad():
            return library.func.jvp(loss_of, tuple(p.detach() for p in parameters), tuple(directions))

    return {"gradient": gradient, "hvp": hessian_vector_product, "jvp": jacobian_vector_product}


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench higher_order", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="a narrow CNN (4 and 8 channels, 32 hidden): a smoke test")
    args = parser.parse_args(arguments)
    generator = np.random.default_rng(0)
    images = generator.random((BATCH, 1, 28, 28), dtype=np.float32)
    labels = generator.integers(0, 10, BATCH).astype(np.int64)
    libraries = available_libraries()
    if "torch" in libraries:
        importlib.import_module("torch.func")
    runs = {name: contenders(library, images, labels, args.quick) for name, library in libraries.items()}
    print(f"{'narrow (--quick)' if args.quick else 'reference'} CNN, batch {BATCH}, float32, eval mode, all parameters; median of {args.repeats} "
          "interleaved rounds (ms)")
    for benchmark in ("gradient", "hvp", "jvp"):
        functions = {name: run[benchmark] for name, run in runs.items()}
        seconds = time_interleaved(functions, args.repeats, batch_seconds=0.3)
        line = "  ".join(f"{name} {value * 1e3:8.1f}" for name, value in seconds.items())
        ratio = (f"  ratio minigrad/pytorch time {seconds['minigrad'] / seconds['torch']:.2f}"
                 if "torch" in seconds else "")
        print(f"  {benchmark:<9} {line}{ratio}", flush=True)


if __name__ == "__main__":
    main()
