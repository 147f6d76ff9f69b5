"""Tensors on the "cuda" device: every op's forward and gradients equal the CPU's, views and
transfers keep their values, devices do not mix, and models and optimizers move with their state.

Runs on a GPU or in Numba's CUDA simulator (tests/test_cuda_kernels.py starts it); each case
runs the same function on CPU tensors and on CUDA tensors and compares values and gradients.
"""

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.cuda import transfer
from minigrad.cuda.array import CudaArray

# the simulator warns of the dropout hash's intended uint64 wrap-around
pytestmark = [pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")]




def run_on(device, function, arrays, dtype):
    """function(*tensors) on ``device``, then backward of its sum; the output and the input gradients as host arrays."""
    tensors = [mg.tensor(array, dtype=dtype, device=device, requires_grad=True) for array in arrays]
    out = function(*tensors)
    (out * out).sum().backward()
    return out.cpu().data, [None if t.grad is None else t.grad.cpu().data for t in tensors]


def assert_same_on_both_devices(function, *shapes, dtype=mg.float64, positive=False, seed=0, tolerance=None):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape) for shape in shapes]
    if positive:
        arrays = [np.abs(array) + 0.5 for array in arrays]
    cpu_out, cpu_grads = run_on("cpu", function, arrays, dtype)
    cuda_out, cuda_grads = run_on("cuda", function, arrays, dtype)
    rtol = tolerance or (1e-12 if dtype == mg.float64 else 2e-5)
    np.testing.assert_allclose(cuda_out, cpu_out, rtol=rtol, atol=rtol)
    for cpu_grad, cuda_grad in zip(cpu_grads, cuda_grads):
        assert (cpu_grad is None) == (cuda_grad is None)
        if cpu_grad is not None:
            np.testing.assert_allclose(cuda_grad, cpu_grad, rtol=rtol, atol=rtol)


ELEMENTWISE = {
    "add broadcast": (lambda a, b: a + b, [(3, 4), (4,)]),
    "sub scalar": (lambda a: 2.5 - a, [(5,)]),
    "mul broadcast both": (lambda a, b: a * b, [(3, 1), (1, 4)]),
    "div": (lambda a, b: a / b, [(2, 3), (2, 3)]),
    "neg": (lambda a: -a, [(7,)]),
    "pow constant": (lambda a: a**3, [(6,)]),
    "exp": (lambda a: a.exp(), [(2, 5)]),
    "tanh": (lambda a: a.tanh(), [(9,)]),
    "sigmoid": (lambda a: a.sigmoid(), [(3, 3)]),
    "relu": (lambda a: a.relu(), [(4, 5)]),
    "abs": (lambda a: a.abs(), [(8,)]),
    "clamp": (lambda a: a.clamp(-0.5, 0.7), [(10,)]),
    "softmax": (lambda a: a.softmax(axis=1), [(3, 7)]),
    "log_softmax": (lambda a: a.log_softmax(axis=-1), [(4, 5)]),
    "sum axis": (lambda a: a.sum(axis=1), [(3, 4, 5)]),
    "sum all": (lambda a: a.sum(), [(3, 4)]),
    "mean keepdims": (lambda a: a.mean(axis=(0, 2), keepdims=True), [(2, 3, 4)]),
    "max axis": (lambda a: a.max(axis=0).values, [(5, 3)]),
    "min all": (lambda a: a.min(), [(4, 4)]),
    "reshape transpose": (lambda a: a.reshape(4, 6).T * 2, [(2, 3, 4)]),
    "permute": (lambda a: a.permute(2, 0, 1) + 1, [(2, 3, 4)]),
    "slice": (lambda a: a[1:, ::2] * 3, [(4, 6)]),
    "advanced index": (lambda a: a[[0, 2, 2], [1, 1, 3]], [(3, 4)]),
    "matmul": (lambda a, b: a @ b, [(5, 7), (7, 3)]),
    "batched matmul": (lambda a, b: a @ b, [(2, 5, 7), (7, 3)]),
    "matmul transposed": (lambda a, b: a @ b.T, [(5, 7), (3, 7)]),
    "remainder broadcast": (lambda a, b: a % b, [(3, 1), (2,)]),
    "fmod broadcast": (lambda a, b: a.fmod(b), [(2, 3), (3,)]),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_op_and_its_gradients_match_the_cpu(name):
    function, shapes = ELEMENTWISE[name]
    assert_same_on_both_devices(function, *shapes)


@pytest.mark.parametrize("name", ["log", "sqrt", "pow tensor"])
def test_ops_on_positive_inputs_match_the_cpu(name):
    function = {"log": lambda a: a.log(), "sqrt": lambda a: a.sqrt(), "pow tensor": lambda a, b: a**b}[name]
    shapes = [(3, 4), (3, 4)] if name == "pow tensor" else [(3, 4)]
    assert_same_on_both_devices(function, *shapes, positive=True)


def test_remainder_floor_divide_and_fmod_match_the_cpu_on_integers_and_signed_zeros():
    a, b = [5, -5, 5, -5, 0, -0.0, 7], [3, 3, -3, -3, -2, 2, -1]
    for dtype in (mg.int64, mg.float32):
        for function in (lambda x, y: x % y, lambda x, y: x // y, lambda x, y: x.fmod(y)):
            expected = function(mg.tensor(a, dtype=dtype), mg.tensor(b, dtype=dtype)).numpy()
            got = function(mg.tensor(a, dtype=dtype, device="cuda"), mg.tensor(b, dtype=dtype, device="cuda"))
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got.cpu().numpy(), expected)
            np.testing.assert_array_equal(np.signbit(got.cpu().numpy()), np.signbit(expected))
    x = mg.tensor([5, -5, 7], device="cuda")
    x %= 3
    x //= 2
    np.testing.assert_array_equal(x.cpu().numpy(), [1, 0, 0])
    with pytest.raises(ZeroDivisionError, match="remainder"):
        x % mg.tensor([1, 0, 1], device="cuda")


def test_layers_and_losses_match_the_cpu_in_float32():
    targets = np.array([1, 0, 3, 2, 3])

    def network(x, w, b):
        logits = F.linear(x, w, b)
        return F.cross_entropy(logits, mg.tensor(targets, device=x.device)) + F.nll_loss(
            logits.log_softmax(axis=1), mg.tensor(targets, device=x.device))

    assert_same_on_both_devices(network, (5, 6), (4, 6), (4,), dtype=mg.float32)


def test_convolution_and_pooling_match_the_cpu():
    def network(x, w, b):
        y = F.conv2d(x, w, b, padding=1).relu()
        return F.max_pool2d(y, 2) + F.avg_pool2d(y, 2)

    assert_same_on_both_devices(network, (2, 2, 6, 6), (3, 2, 3, 3), (3,), dtype=mg.float32)


def test_binary_cross_entropy_and_mse_match_the_cpu():
    targets = (np.arange(6) % 2).astype(np.float64)

    def losses(x):
        y = mg.tensor(targets, device=x.device, dtype=x.dtype)
        return F.binary_cross_entropy_with_logits(x, y) + F.mse_loss(x, y)

    assert_same_on_both_devices(losses, (6,))


def test_dropout_masks_are_the_same_on_both_devices():
    results = []
    for device in ("cpu", "cuda"):
        mg.manual_seed(7)
        x = mg.ones(4, 50, device=device, requires_grad=True)
        y = F.dropout(x, 0.3)
        y.sum().backward()
        results.append((y.cpu().data, x.grad.cpu().data))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert 0 < (results[0][0] == 0).mean() < 0.6


# --- arrays, views and transfers -----------------------------------------------------------------

def test_views_share_the_buffer_and_keep_values():
    host = np.arange(24.0).reshape(2, 3, 4)
    array = CudaArray.from_host(host)
    for view, expected in [(array.T, host.T), (array[1, :, ::3], host[1, :, ::3]), (array[..., None, 2], host[..., None, 2]),
                           (array.transpose(1, 0, 2).reshape(3, 8), host.transpose(1, 0, 2).reshape(3, 8)),
                           (array[:, 1:2].broadcast_to((4, 2, 1, 4)), np.broadcast_to(host[:, 1:2], (4, 2, 1, 4)))]:
        np.testing.assert_array_equal(view.get(), expected)
    assert array.T.buffer is array.buffer


def test_setitem_writes_through_views():
    host = np.zeros((3, 4))
    array = CudaArray.from_host(host)
    array[1] = 5.0
    array[:, 3] = CudaArray.from_host(np.array([1.0, 2.0, 3.0]))
    array[[0, 2], [0, 1]] = -1.0
    host[1] = 5.0
    host[:, 3] = [1, 2, 3]
    host[[0, 2], [0, 1]] = -1
    np.testing.assert_array_equal(array.get(), host)


def test_staged_uploads_keep_every_batch():
    """Two pinned buffers alternate; many uploads in a row must each arrive intact."""
    batches = [np.full((3, 5), value, dtype=np.float32) for value in range(6)]
    uploaded = [transfer.upload(batch) for batch in batches]
    for batch, device_array in zip(batches, uploaded):
        np.testing.assert_array_equal(device_array.get(), batch)


def test_to_is_differentiable_across_devices():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x.cuda() * 2).cpu()
    assert y.device == "cpu"
    y.sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])


def test_mixing_devices_names_both():
    a, b = mg.ones(3), mg.ones(3, device="cuda")
    with pytest.raises(RuntimeError, match="expected all tensors on one device, got cpu and cuda"):
        a + b
    with pytest.raises(RuntimeError, match="cuda and cpu"):
        b @ mg.ones(3, 2)


def test_host_access_is_explicit():
    x = mg.tensor([1.5, 2.5], device="cuda")
    with pytest.raises(TypeError, match=r"\.cpu\(\)"):
        x.numpy()
    assert x.sum().item() == 4.0
    assert x.tolist() == [1.5, 2.5]
    assert "device='cuda'" in repr(x)
    assert (x > 2).cpu().data.tolist() == [False, True]
    assert x.argmax().item() == 1


# --- modules, optimizers and a training run ------------------------------------------------------

def small_cnn():
    """The reference CNN's layers at reduced size (3x3 kernels, 4 and 8 channels, 16 hidden units) for
    8x8 images. The simulator runs each GPU thread as a Python thread, and the weight gradient's
    threads (weights x lanes of partial sums) dominate a step: 13 s with 3x3 kernels, 27 s with 5x5;
    a 28x28 step takes minutes."""
    return mg.nn.Sequential(
        mg.nn.Conv2d(1, 4, 3, padding="same"), mg.nn.ReLU(), mg.nn.MaxPool2d(2),
        mg.nn.Conv2d(4, 8, 3, padding="same"), mg.nn.ReLU(), mg.nn.MaxPool2d(2),
        mg.nn.Flatten(), mg.nn.Linear(8 * 2 * 2, 16), mg.nn.ReLU(), mg.nn.Dropout(0.5), mg.nn.Linear(16, 10),
    )


def train(device, steps, optimizer_class, **options):
    mg.manual_seed(0)
    model = small_cnn().to(device)
    optimizer = optimizer_class(model.parameters(), **options)
    rng = np.random.default_rng(1)
    losses = []
    for _ in range(steps):
        images = mg.tensor(rng.standard_normal((3, 1, 8, 8)).astype(np.float32)).to(device)
        labels = mg.tensor(rng.integers(0, 10, 3)).to(device)
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, model, optimizer


def test_a_small_training_run_gives_the_cpu_losses():
    """Two Adam steps with dropout: the second loss follows the first update, the parameters compared
    after it follow the second, with Adam's moments carried over (about 30 s in the simulator; SGD's
    kernel is tested on its own)."""
    cpu_losses, cpu_model, _ = train("cpu", 2, mg.optim.Adam, lr=1e-3)
    cuda_losses, cuda_model, cuda_optimizer = train("cuda", 2, mg.optim.Adam, lr=1e-3)
    np.testing.assert_allclose(cuda_losses, cpu_losses, rtol=1e-5)
    assert cpu_losses[0] != cpu_losses[-1]
    for (name, cpu_value), (_, cuda_value) in zip(cpu_model.state_dict().items(), cuda_model.state_dict().items()):
        assert type(cuda_value) is np.ndarray, name
        np.testing.assert_allclose(cuda_value, cpu_value, rtol=1e-4, atol=1e-6, err_msg=name)
    for entry in cuda_optimizer.state_dict()["state"].values():
        assert all(type(value) is np.ndarray for value in entry.values() if hasattr(value, "dtype"))
    for parameter in cuda_model.parameters():
        assert type(parameter.data) is CudaArray and type(parameter.grad.data) is CudaArray
        assert all(type(value) is CudaArray for value in cuda_optimizer.state[parameter].values()
                   if hasattr(value, "dtype"))


def test_state_dicts_load_onto_either_device():
    source = mg.nn.Linear(3, 2)
    state = source.state_dict()
    on_gpu = mg.nn.Linear(3, 2).to("cuda")
    on_gpu.load_state_dict(state)
    assert on_gpu.weight.device == "cuda" and type(on_gpu.weight.data) is CudaArray
    np.testing.assert_array_equal(on_gpu.weight.cpu().data, state["weight"])
    back = mg.nn.Linear(3, 2)
    back.load_state_dict(on_gpu.state_dict())
    np.testing.assert_array_equal(back.weight.data, state["weight"])
    moved = on_gpu.to("cpu")
    assert moved is on_gpu and on_gpu.weight.device == "cpu" and type(on_gpu.weight.data) is np.ndarray
    assert on_gpu.cuda() is on_gpu and type(on_gpu.weight.data) is CudaArray  # PyTorch's shorthands
    assert on_gpu.cpu() is on_gpu and type(on_gpu.weight.data) is np.ndarray


def test_an_optimizer_follows_its_model_to_the_gpu():
    model = mg.nn.Linear(3, 2)
    optimizer = mg.optim.Adam(model.parameters(), lr=0.1)
    x = mg.ones(4, 3)
    model(x).sum().backward()
    optimizer.step()
    model.to("cuda")
    optimizer.zero_grad()
    model(x.cuda()).sum().backward()
    optimizer.step()
    assert all(type(value) is CudaArray for value in optimizer.state[model.weight].values() if hasattr(value, "dtype"))


def test_mg_cuda_under_the_simulator():
    assert mg.cuda.is_available()
    x = mg.ones(3, device="cuda") * 2
    mg.cuda.synchronize()
    assert x.sum().item() == 6.0
    # the simulator allocates NumPy arrays, not through a memory manager: no cache to report
    assert mg.cuda.memory_stats() == {} and mg.cuda.memory_allocated() == 0 and mg.cuda.empty_cache() == 0


def test_the_mnist_example_trains_on_the_gpu_and_reads_its_figures_once_per_epoch(monkeypatch):
    """examples/mnist_cnn.py's loop on cuda keeps the loss and accuracy on the device each step."""
    import functools
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "mnist_cnn.py"
    spec = importlib.util.spec_from_file_location("mnist_cnn_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    events = []  # "step" after each optimizer step, "read" for each number read back from the GPU
    original_item = CudaArray.item
    monkeypatch.setattr(CudaArray, "item", lambda self: events.append("read") or original_item(self))
    mg.manual_seed(0)
    model = small_cnn().to("cuda")
    optimizer = mg.optim.Adam(model.parameters(), lr=1e-3)
    original_step = optimizer.step
    monkeypatch.setattr(optimizer, "step", lambda: original_step() or events.append("step"))
    generator = np.random.default_rng(0)
    images = generator.standard_normal((6, 1, 8, 8)).astype(np.float32)
    labels = generator.integers(0, 10, 6)
    loader = mg.data.DataLoader((images, labels), batch_size=3)
    history = {"train": {"step": [], "loss": [], "accuracy": []}}
    # Off a terminal the bar prints a plain line every 10% of the epoch, which reads the running
    # means (a wait for the GPU ten times an epoch); without those lines the steps read nothing.
    quiet_bar = functools.partial(mg.progress.ProgressBar, lines=False)
    monkeypatch.setattr(example.mg.progress, "ProgressBar", quiet_bar)
    step, summary = example.train_epoch(model, loader, optimizer, None, "epoch 1/1", history, 0, device="cuda")
    assert step == 2 and history["train"]["step"] == [1, 2]
    assert all(type(value) is float for value in history["train"]["loss"] + history["train"]["accuracy"])
    assert all(0.0 <= value <= 1.0 for value in history["train"]["accuracy"])
    assert np.isfinite(summary["loss"]) and 0.0 <= summary["accuracy"] <= 1.0
    # Nothing is read back while the steps are queued: the bar and the history read at the end.
    last_step = len(events) - 1 - events[::-1].index("step")
    assert events.count("step") == 2 and "read" not in events[:last_step]
    assert events.count("read") >= 4
