"""The losses of issue 16 and F.embedding against PyTorch in the differential fuzzer (loaded by
differential_ops.py): cross_entropy and nll_loss with class weights (and (N, C, d) inputs), cross_entropy
on probability targets, the regression losses with their thresholds, binary_cross_entropy, kl_div, and
the embedding lookup with padding and frequency scaling."""
import numpy as np
import torch
import torch.nn.functional as torch_functional
from differential_check import Operand, values
from differential_ops import case, draw_pointwise_loss, float_dtype
from hypothesis import strategies as st

from minigrad.nn import functional as F


def draw_weighted_classification(data, rng, special_rate):
    dtype = float_dtype(data)
    rows, classes = data.draw(st.integers(0, 4), label="rows"), data.draw(st.integers(1, 4), label="classes")
    extra = (data.draw(st.integers(1, 3), label="positions"),) if data.draw(st.booleans(), label="(N, C, d)") else ()
    targets = rng.integers(0, classes, (rows,) + extra)
    if data.draw(st.booleans(), label="some ignored"):
        targets = np.where(rng.random(targets.shape) < 0.4, -100, targets)
    weight = np.asarray(rng.random(classes) * 2 + 0.1, dtype=dtype)
    options = {"reduction": data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction")}
    logits = values(rng, (rows, classes) + extra, dtype, special_rate)
    return [Operand(logits), Operand(targets.astype(np.int64)), Operand(weight, grad=False)], options


case("F.cross_entropy (class weights, smoothing)",
     lambda x, t, w, **options: F.cross_entropy(x, t, w, label_smoothing=0.1, **options),
     lambda x, t, w, **options: torch_functional.cross_entropy(x, t, w, label_smoothing=0.1, **options),
     draw_weighted_classification, special_upstream=False)
case("F.nll_loss (class weights)", lambda x, t, w, **options: F.nll_loss(x, t, w, **options),
     lambda x, t, w, **options: torch_functional.nll_loss(x, t, w, **options), draw_weighted_classification,
     special_upstream=False)


def draw_probability_targets(data, rng, special_rate):
    dtype = float_dtype(data)
    shape = (data.draw(st.integers(1, 4), label="rows"), data.draw(st.integers(1, 4), label="classes"))
    probabilities = rng.random(shape) + 0.01
    probabilities = np.asarray(probabilities / probabilities.sum(axis=1, keepdims=True), dtype=dtype)
    options = {"reduction": data.draw(st.sampled_from(["mean", "sum", "none"]), label="reduction"),
               "label_smoothing": data.draw(st.sampled_from([0.0, 0.2]), label="label smoothing")}
    return [Operand(values(rng, shape, dtype, special_rate)), Operand(probabilities)], options


case("F.cross_entropy (probability targets)", F.cross_entropy, torch_functional.cross_entropy,
     draw_probability_targets, special_upstream=False)


def with_threshold(name, values_drawn):
    def draw(data, rng, special_rate):
        operands, options = draw_pointwise_loss(data, rng, special_rate)
        options[name] = data.draw(st.sampled_from(values_drawn), label=name)
        return operands, options
    return draw


case("F.l1_loss", F.l1_loss, torch_functional.l1_loss, draw_pointwise_loss, special_upstream=False)
case("F.smooth_l1_loss", F.smooth_l1_loss, torch_functional.smooth_l1_loss, with_threshold("beta", [0.0, 0.5, 1.0, 2.0]),
     special_upstream=False)
case("F.huber_loss", F.huber_loss, torch_functional.huber_loss, with_threshold("delta", [0.5, 1.0, 2.0]),
     special_upstream=False)


def draw_binary_probabilities(data, rng, special_rate):
    operands, options = draw_pointwise_loss(data, rng, 0.0)  # probabilities in [0, 1]: no special values
    shape, dtype = operands[0].value.shape, operands[0].value.dtype
    probabilities = rng.random(shape)
    probabilities[rng.random(shape) < 0.1] = 0.0  # the clamped logs
    operands = [Operand(np.asarray(probabilities, dtype=dtype)),
                Operand(np.asarray(rng.random(shape) < 0.5, dtype=dtype), grad=False)]
    if data.draw(st.booleans(), label="weight"):
        options["weight"] = np.asarray(rng.random(shape[-1:]) + 0.5, dtype=dtype)
    return operands, options


def with_weight_tensor(function, library):
    def call(x, target, **options):
        if "weight" in options:
            options["weight"] = library.tensor(options["weight"])
        return function(x, target, **options)
    return call


import minigrad as mg  # noqa: E402

case("F.binary_cross_entropy", with_weight_tensor(F.binary_cross_entropy, mg),
     with_weight_tensor(torch_functional.binary_cross_entropy, torch), draw_binary_probabilities,
     special_upstream=False)


def draw_kl_div(data, rng, special_rate):
    operands, options = draw_pointwise_loss(data, rng, special_rate)
    options["reduction"] = data.draw(st.sampled_from(["mean", "batchmean", "sum", "none"]), label="reduction")
    options["log_target"] = data.draw(st.booleans(), label="log_target")
    if not options["log_target"]:  # probabilities, some zero; their gradient is compared where t > 0 only
        target = rng.random(operands[1].value.shape)
        operands[1] = Operand(np.asarray(target, dtype=operands[1].value.dtype), grad=False)
    return operands, options


case("F.kl_div", F.kl_div, torch_functional.kl_div, draw_kl_div, special_upstream=False)


def draw_embedding(data, rng, special_rate):
    dtype = float_dtype(data)
    rows, width = data.draw(st.integers(1, 5), label="rows"), data.draw(st.integers(0, 4), label="width")
    index_shape = tuple(data.draw(st.lists(st.integers(0, 3), max_size=3), label="index shape"))
    indices = rng.integers(0, rows, index_shape).astype(np.int64)
    options = {"padding_idx": data.draw(st.one_of(st.none(), st.integers(-rows, rows - 1)), label="padding_idx"),
               "scale_grad_by_freq": data.draw(st.booleans(), label="scale_grad_by_freq")}
    return [Operand(indices), Operand(values(rng, (rows, width), dtype, special_rate))], options


case("F.embedding", F.embedding, torch_functional.embedding, draw_embedding)
