"""The losses of issue 16 on CUDA tensors against the CPU: class weights with label smoothing, weighted NLL,
probability targets, binary cross-entropy, kl_div, huber, smooth L1 and L1, values and the input's gradient.
They are NumPy's interface on CudaArrays (minigrad/cuda/numpy_api.py) around the fused softmax kernels."""
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F


def test_losses_on_cuda_tensors_match_the_cpu():
    rng = np.random.default_rng(0)
    x, probabilities = rng.standard_normal((4, 3)), rng.random((4, 3))
    targets, weight = np.array([0, 2, -100, 1]), np.array([0.5, 2.0, 1.0])
    results = {}
    for device in ("cpu", "cuda"):
        logits = mg.tensor(x, device=device, requires_grad=True)
        t, w, q = (mg.tensor(value, device=device) for value in (targets, weight, probabilities))
        losses = [
            F.cross_entropy(logits, t, w, label_smoothing=0.1),
            F.nll_loss(logits.log_softmax(1), t, w, reduction="sum"),
            F.cross_entropy(logits, q, w, label_smoothing=0.2),
            F.binary_cross_entropy(logits.sigmoid(), q, reduction="sum"),
            F.kl_div(logits.log_softmax(1), q, reduction="batchmean"),
            F.huber_loss(logits, q, delta=0.5),
            F.smooth_l1_loss(logits, q, beta=0.5),
            F.l1_loss(logits, q),
        ]
        total = losses[0]
        for loss in losses[1:]:
            total = total + loss
        total.backward()
        results[device] = ([loss.item() for loss in losses], logits.grad.cpu().numpy())
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-12)
    np.testing.assert_allclose(results["cuda"][1], results["cpu"][1], rtol=1e-12, atol=1e-14)
