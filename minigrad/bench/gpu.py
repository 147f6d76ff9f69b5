"""The GPU suite: matmul, conv, CNN step and Adam on CUDA, timed with CUDA events, against PyTorch CUDA.

``python -m minigrad.bench --device cuda`` (or ``gpu``) runs the four parts; ``PART --device cuda``
(PART one of matmul, conv, cnn, adam) or ``gpu PART...`` runs those named. Every measurement
starts with a first call, timed on its own (it compiles minigrad's kernels; PyTorch's sets up
cuBLAS and cuDNN), then warm-up calls, then interleaved rounds of back-to-back calls between
two CUDA events; the median round is printed per call. The data is on the GPU before timing
starts, in float32. PyTorch CUDA, when present, is measured in the same run with TF32 off
(strict FP32, as minigrad computes) unless --tf32. Under Numba's CUDA simulator
(NUMBA_ENABLE_CUDASIM=1) events record no time, so the wall clock stands in: the figures then
measure the simulator, not a GPU, which is all --quick (tiny sizes) is for.
"""
import argparse
import dataclasses
import math
import statistics
import sys
import time

import numpy as np

from minigrad.bench import adam, cnn, conv, matmul

PARTS = ("matmul", "conv", "cnn", "adam")


@dataclasses.dataclass(frozen=True)
class Sizes:
    squares: tuple  # n of the n x n x n matrix products
    batch: int  # the CNN's batch, also the rows of its linear-layer product
    image: int  # the images' side
    channels: tuple  # the two convs' output channels
    hidden: int  # the first linear layer's outputs
    warmup: int  # calls after the first one, before timing
    repeats: int  # timed rounds; the median is printed
    round_ms: float  # each round calls a function this long (0: once)


FULL = Sizes(squares=(4096,), batch=100, image=28, channels=(32, 64), hidden=1024, warmup=3, repeats=7,
             round_ms=100.0)
# Small enough for Numba's CUDA simulator, which runs every GPU thread as a Python thread: the
# weight gradient of a conv alone runs (weights x min(256, batch x pixels)) threads.
QUICK = Sizes(squares=(64,), batch=2, image=4, channels=(1, 2), hidden=8, warmup=0, repeats=1, round_ms=0.0)


def flat_features(sizes):
    """The CNN's flattened features: the second conv's channels over a quarter-side image."""
    return sizes.channels[1] * (sizes.image // 4) ** 2


def cnn_parameter_shapes(sizes):
    """The shapes of the CNN's weights and biases (at FULL sizes, adam.SHAPES: 3,274,634 values)."""
    first, second = sizes.channels
    return [(first, 1, 5, 5), (first,), (second, first, 5, 5), (second,),
            (sizes.hidden, flat_features(sizes)), (sizes.hidden,), (10, sizes.hidden), (10,)]


# --- clocks and timing ----------------------------------------------------------------------------

class Clock:
    """Times the GPU work of a library: CUDA events on the stream it queues its kernels on.

    ``new_event`` None (the simulator, whose events record no time) falls back to the wall clock.
    """

    def __init__(self, new_event, elapsed_ms, synchronize):
        self.new_event, self.elapsed_ms, self.synchronize = new_event, elapsed_ms, synchronize

    def milliseconds(self, function, calls):
        """Milliseconds per call of ``calls`` back-to-back calls, from the first launch to the last kernel's end."""
        self.synchronize()
        if self.new_event is None:
            start = time.perf_counter()
            for _ in range(calls):
                function()
            self.synchronize()
            return (time.perf_counter() - start) * 1e3 / calls
        start, end = self.new_event(), self.new_event()
        start.record()
        for _ in range(calls):
            function()
        end.record()
        end.synchronize()
        return self.elapsed_ms(start, end) / calls


def minigrad_clock(simulated):
    from numba import cuda

    # minigrad queues its kernels on Numba's default stream, which events record on by default.
    if simulated:
        return Clock(None, None, cuda.synchronize)
    return Clock(cuda.event, cuda.event_elapsed_time, cuda.synchronize)


def torch_clock(torch):
    return Clock(lambda: torch.cuda.Event(enable_timing=True), lambda start, end: start.elapsed_time(end),
                 torch.cuda.synchronize)


def measure(contenders, sizes):
    """{key: (first-call seconds, median milliseconds per call)} of ``contenders`` {key: (function, clock)}."""
    first, calls = {}, {}
    for key, (function, clock) in contenders.items():
        clock.synchronize()
        start = time.perf_counter()
        function()
        clock.synchronize()
        first[key] = time.perf_counter() - start
        for _ in range(sizes.warmup):
            function()
        if sizes.round_ms > 0:
            once = max(clock.milliseconds(function, 1), 1e-3)
            calls[key] = max(1, min(1000, round(sizes.round_ms / once)))
        else:
            calls[key] = 1
    samples = {key: [] for key in contenders}
    for _ in range(sizes.repeats):  # interleaved, so a slow patch of the machine hits every contender
        for key, (function, clock) in contenders.items():
            samples[key].append(clock.milliseconds(function, calls[key]))
    return {key: (first[key], statistics.median(samples[key])) for key in contenders}


def ratio(ours, theirs):
    return f"{ours / theirs:.2f}" if theirs > 0 else "n/a"


# --- the parts ------------------------------------------------------------------------------------

def matmul_part(libraries, sizes):
    flat = flat_features(sizes)
    shapes = [(f"{n} square", n, n, n) for n in sizes.squares]
    shapes.append((f"{sizes.batch}x{flat} @ {flat}x{sizes.hidden} (CNN)", sizes.batch, flat, sizes.hidden))
    print("\n== matmul: a @ b of float32 tensors on the GPU (output allocated per call, as in a model) ==")
    header = f"{'shape':<28}{'first call s':>13}{'minigrad ms':>13}{'TFLOP/s':>9}"
    if "pytorch" in libraries:
        header += f"{'pytorch ms':>12}{'TFLOP/s':>9}{'ratio':>7}"
    print(header)
    for label, rows, depth, columns in shapes:
        a_host, b_host, _ = matmul.make_operands(rows, depth, columns, "C", "C", np.float32,
                                                 np.random.default_rng(0))
        contenders = {}
        for name, (library, clock) in libraries.items():
            a, b = library.tensor(a_host, device="cuda"), library.tensor(b_host, device="cuda")
            contenders[name] = ((lambda a=a, b=b: a @ b), clock)
        results = measure(contenders, sizes)
        checked = min(rows, 64)  # minigrad's first rows against NumPy's in float64
        product = contenders["minigrad"][0]().cpu().numpy()[:checked]
        matmul.check_result(label, a_host[:checked], b_host, product, np.float32)
        flops = 2.0 * rows * depth * columns
        first, milliseconds = results["minigrad"]
        line = f"{label:<28}{first:>13.3f}{milliseconds:>13.3f}{flops / milliseconds / 1e9:>9.3g}"
        if "pytorch" in results:
            reference = results["pytorch"][1]
            line += f"{reference:>12.3f}{flops / reference / 1e9:>9.3g}{ratio(milliseconds, reference):>7}"
        print(line, flush=True)


def conv_part(libraries, sizes):
    print(f"\n== conv: the reference CNN's conv and pool layers, batch {sizes.batch} of {sizes.image}x{sizes.image} "
          "images, float32, milliseconds per call ==")
    header = f"{'layer':<24}{'first calls s':>14}{'minigrad fwd':>14}{'fwd+bwd':>10}"
    if "pytorch" in libraries:
        header += f"{'pytorch fwd':>13}{'fwd+bwd':>10}{'ratio fwd':>11}{'fwd+bwd':>9}"
    print(header)
    for label, shape, operation, weight_shape, input_needs_grad in conv.reference_layers(sizes.batch, sizes.channels, sizes.image):
        x_array = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        contenders, setup = {}, {}
        for name, (library, clock) in libraries.items():
            start = time.perf_counter()  # building the layer runs its first forward
            forward, both = conv.layer_functions(library, x_array, operation, weight_shape, input_needs_grad,
                                                 np.random.default_rng(1), device="cuda")
            clock.synchronize()
            setup[name] = time.perf_counter() - start
            contenders[(name, "fwd")], contenders[(name, "fwd+bwd")] = (forward, clock), (both, clock)
        results = measure(contenders, sizes)
        first = setup["minigrad"] + results[("minigrad", "fwd")][0] + results[("minigrad", "fwd+bwd")][0]
        line = f"{label:<24}{first:>14.3f}{results[('minigrad', 'fwd')][1]:>14.3f}"
        line += f"{results[('minigrad', 'fwd+bwd')][1]:>10.3f}"
        if "pytorch" in libraries:
            line += f"{results[('pytorch', 'fwd')][1]:>13.3f}{results[('pytorch', 'fwd+bwd')][1]:>10.3f}"
            for phase, width in (("fwd", 11), ("fwd+bwd", 9)):
                line += f"{ratio(results[('minigrad', phase)][1], results[('pytorch', phase)][1]):>{width}}"
        print(line, flush=True)


def cnn_part(libraries, sizes):
    generator = np.random.default_rng(0)
    images = generator.random((sizes.batch, 1, sizes.image, sizes.image), dtype=np.float32)
    labels = generator.integers(0, 10, sizes.batch).astype(np.int64)
    count = sum(math.prod(shape) for shape in cnn_parameter_shapes(sizes))
    print(f"\n== cnn: one training step of the reference CNN ({count:,} parameters), batch {sizes.batch} of "
          f"{sizes.image}x{sizes.image} images, float32: forward, cross_entropy, backward, Adam ==")
    contenders, losses = {}, {}
    for name, (library, clock) in libraries.items():
        library.manual_seed(0)
        model, optimizer = cnn.build(library, sizes.channels, sizes.hidden, device="cuda", image_size=sizes.image)
        step = cnn.tensor_step_function(library, model, optimizer)
        x, y = library.tensor(images, device="cuda"), library.tensor(labels, device="cuda")

        def step_keeping_loss(step=step, x=x, y=y, name=name):
            losses[name] = step(x, y)  # read once timing is over: .item() would wait for the GPU
        contenders[name] = (step_keeping_loss, clock)
    results = measure(contenders, sizes)
    for name, (first, milliseconds) in results.items():
        loss = float(losses[name].item())
        if not math.isfinite(loss):
            raise AssertionError(f"cnn: {name}'s loss is {loss}")
        print(f"  {name:<9} first call {first:8.3f} s   {milliseconds:9.3f} ms/step"
              f"  {sizes.batch / milliseconds * 1e3:10.1f} img/s   last loss {loss:.4f}")
    if "pytorch" in results:
        print(f"  ratio minigrad/pytorch time: {ratio(results['minigrad'][1], results['pytorch'][1])}")
    if "minigrad" in contenders:
        print_allocations(contenders["minigrad"][0])


def print_allocations(step, steps=3):
    """How many device allocations reach the driver in a few more steps (the cache should serve them all)."""
    from .. import cuda

    before = cuda.memory_stats()
    if not before:
        print("  minigrad memory: the caching allocator is not in use (the simulator, or another manager)")
        return
    for _ in range(steps):
        step()
    after = cuda.memory_stats()
    print(f"  minigrad memory over {steps} more steps: {after['device_allocations'] - before['device_allocations']}"
          f" driver allocations, {after['reuses'] - before['reuses']} blocks reused from the cache; "
          f"{after['bytes_in_use'] / 2**20:.1f} MiB in use, {after['bytes_cached'] / 2**20:.1f} MiB cached")


def adam_part(libraries, sizes):
    shapes = cnn_parameter_shapes(sizes)
    values, grads = adam.parameter_arrays(shapes=shapes)
    count = sum(math.prod(shape) for shape in shapes)
    print(f"\n== adam: one update of the CNN's {len(shapes)} parameters ({count:,} float32 values), "
          "microseconds per step ==")
    contenders = {"minigrad": (adam.minigrad_step("adam", values, grads, device="cuda"), libraries["minigrad"][1])}
    if "pytorch" in libraries:
        for implementation in ("fused", "foreach"):
            step = adam.torch_step("adam", values, grads, implementation, device="cuda")
            if step is not None:
                contenders[f"pytorch {implementation}"] = (step, libraries["pytorch"][1])
    results = measure(contenders, sizes)
    for name, (first, milliseconds) in results.items():
        print(f"  {name:<16} first call {first:8.3f} s   {milliseconds * 1e3:10.1f} us/step")
    for reference in ("pytorch fused", "pytorch foreach"):
        if reference in results:
            print(f"  ratio minigrad/{reference} time: {ratio(results['minigrad'][1], results[reference][1])}")


PART_FUNCTIONS = {"matmul": matmul_part, "conv": conv_part, "cnn": cnn_part, "adam": adam_part}


# --- setup ----------------------------------------------------------------------------------------

def require_gpu():
    """Stop with the backend's own words and exit status 1 when minigrad cannot use a GPU."""
    from minigrad import backend

    try:
        backend.check_device("cuda")
    except RuntimeError as error:
        print(f"python -m minigrad.bench --device cuda: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def device_name(simulated):
    if simulated:
        return "Numba's CUDA simulator (the CPU, no GPU): the figures measure the simulator, not a GPU"
    from numba import cuda

    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else name


def torch_cuda(simulated, allow_tf32):
    """The torch module when PyTorch can run on the GPU (with TF32 set as asked), else None; says which."""
    try:
        import torch
    except ImportError:
        print("PyTorch CUDA: not available (torch is not installed); minigrad's figures alone")
        return None
    if simulated or not torch.cuda.is_available():
        why = "left out under the simulator" if simulated else f"torch {torch.__version__} finds no GPU"
        print(f"PyTorch CUDA: not available ({why}); minigrad's figures alone")
        return None
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    torch.backends.cudnn.allow_tf32 = allow_tf32
    precision = ("TF32 allowed (tensor cores, 10-bit mantissas: faster than the FP32 minigrad computes)"
                 if allow_tf32 else "strict FP32 (torch.backends.cuda.matmul.allow_tf32 = False, "
                 "torch.backends.cudnn.allow_tf32 = False), as minigrad computes")
    print(f"PyTorch CUDA: torch {torch.__version__} on {torch.cuda.get_device_name()}, {precision}")
    return torch


def main(arguments=None):
    parser = argparse.ArgumentParser(prog="python -m minigrad.bench --device cuda",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help=f"parts to run, of {', '.join(PARTS)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (64^3 matmul; the CNN at batch 2 on 4x4 images, convs 1 and 2 wide, "
                        "hidden 8; one timed round): a smoke test, for the simulator")
    parser.add_argument("--repeats", type=int, help="timed rounds; the median is printed (default 7, --quick 1)")
    parser.add_argument("--tf32", action="store_true", help="let PyTorch use TF32 tensor cores (default off)")
    arguments = parser.parse_args(arguments)
    unknown = [part for part in arguments.parts if part not in PARTS]
    if unknown:
        parser.error(f"unknown part {unknown[0]!r}: the GPU suite has {', '.join(PARTS)}")
    sizes = QUICK if arguments.quick else FULL
    if arguments.repeats is not None:
        sizes = dataclasses.replace(sizes, repeats=max(1, arguments.repeats))

    require_gpu()
    import minigrad
    from minigrad.cuda.runtime import simulated as running_simulated

    simulated = running_simulated()
    print(f"minigrad GPU suite on {device_name(simulated)}")
    clock = "wall clock (the simulator's events record no time)" if simulated else "CUDA events"
    print(f"timing: {clock}; first call on its own, then {sizes.warmup} warm-up calls, "
          f"median of {sizes.repeats} interleaved rounds{' (--quick sizes)' if arguments.quick else ''}; "
          "a kernel that an earlier part compiled is not compiled again")
    libraries = {"minigrad": (minigrad, minigrad_clock(simulated))}
    torch = torch_cuda(simulated, arguments.tf32)
    if torch is not None:
        torch.manual_seed(0)
        libraries["pytorch"] = (torch, torch_clock(torch))
    for part in arguments.parts or PARTS:
        PART_FUNCTIONS[part](libraries, sizes)
    if torch is not None:
        print("\nratio = minigrad time / PyTorch time (above 1: minigrad is slower)")


if __name__ == "__main__":
    main()
