"""A guided tour of the machinery: one training step of a tiny model, watched from inside.

    python examples/inside_autodiff.py                 # prints the tour
    python examples/inside_autodiff.py --draw graph.png  # also renders the graph (needs Graphviz)

It shows, in order: the tape that forward records (mg.autograd.explain), the gradients backward
sends through it, the same step on a GradientTape (print(tape)), the graph as Graphviz DOT text
(mg.viz), anomaly mode catching a NaN in forward and an infinity in backward (mg.detect_anomaly),
and which Numba kernels the first step compiled and how long each took.
"""
import argparse
import textwrap

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.bench.compile import format_compiles, record_compiles

RUN_TIME = ("Runs in about 1 s on a 2-core AVX2 machine (AMD Zen 3) once its kernels are compiled "
            "(the first run on a machine compiles them first).")


def section(number, title, explanation):
    print(f"\n{'=' * 100}\n{number}. {title}\n")
    print(textwrap.fill(textwrap.dedent(explanation).strip(), width=100))
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUN_TIME)
    parser.add_argument("--draw", metavar="PATH", help="render the graph to PATH (.png, .svg, .pdf) with Graphviz")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    mg.manual_seed(args.seed)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    optimizer = mg.optim.Adam(model.parameters(), lr=0.1)
    x = mg.randn(5, 4)
    y = mg.tensor([0, 1, 1, 0, 1])

    section(1, "Forward records a tape", """
        Each op whose inputs need gradients becomes a node on the tape, numbered in the order it ran
        (its sequence number). "inputs" says where each input came from: #N is the output of node N,
        a name is a parameter (model= names each by its path in the model: "0.weight" is the weight
        of model[0]), "const" is data that needs no gradient. "saved for backward" is what
        the node keeps so that backward can run: here Linear keeps its input and its weight, ReLU its
        input, and the fused loss the gradient it already computed.""")
    with record_compiles() as compiles:  # for section 6: what this first step makes Numba compile
        loss = F.cross_entropy(model(x), y)
        print(mg.autograd.explain(loss, model=model))

        section(2, "Backward walks the tape from the last node to the first", """
            backward() starts from d loss / d loss = 1 and runs the nodes in decreasing sequence
            order. Each node gets the gradient of the loss with respect to its output ("gradient
            in") and sends one gradient to each input that needs it ("gradients out"; shape and
            norm |g|). What reaches a parameter is accumulated into its .grad. The saved buffers are
            freed as each node finishes, unless you pass retain_graph=True.""")
        loss.backward()
        print(mg.autograd.explain(loss, model=model))
        weight = model[0].weight
        print(f"\n0.weight.grad: shape {weight.grad.shape}, |g|={np.linalg.norm(weight.grad.numpy()):.4g} "
              "(the same gradient as in node 0's last column)")
        optimizer.step()

    section(3, "The same step on a GradientTape (TensorFlow's way)", """
        Ops run inside `with mg.GradientTape() as tape:` are recorded on the tape as well;
        tape.gradient(loss, sources) returns the gradients instead of writing .grad. print(tape)
        shows its nodes the same way.""")
    parameters = list(model.parameters())
    with mg.GradientTape() as tape:
        loss = F.cross_entropy(model(x), y)
    gradients = tape.gradient(loss, parameters)
    print(tape)
    print(f"\ngradients returned: {[tuple(gradient.shape) for gradient in gradients]}; "
          f"0.weight.grad untouched since step 1: {weight.grad is not None}")

    section(4, "The graph as a picture", """
        mg.viz.to_dot gives Graphviz DOT text of the same graph (no Graphviz needed to produce it):
        paste it into any Graphviz viewer, or let mg.viz.draw render it with the `dot` program. Blue
        ellipses are the parameters (named by model=), the dashed one the input data, boxes the ops;
        each edge carries the gradient backward sent along it. The subgraph cluster_key at the end draws
        the key to these shapes beside the graph.""")
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    print(mg.viz.to_dot(loss, model=model))
    if args.draw:
        try:
            print(f"drawn: {mg.viz.draw(loss, args.draw, model=model)}")
        except RuntimeError as error:
            print(error)

    section(5, "Anomaly mode: the first NaN or infinity, and where it was made", """
        Inside `with mg.detect_anomaly():` every op checks its output and every node of backward
        checks the gradients it sends on. The error names the op, its sequence number, its inputs
        and the line of your code that created it. First a NaN in forward: log of a negative number.
        Then an infinity in backward: sqrt is finite at 0, its derivative 1 / (2 sqrt(x)) is not.""")
    with mg.detect_anomaly(), np.errstate(invalid="ignore", divide="ignore"):
        try:
            (-model(x)).log().sum()  # some outputs are positive, so their negatives are not
        except mg.AnomalyError as error:
            print(error, end="\n\n")
        try:
            distances = (model(x) * 0).sum(axis=1).sqrt()  # sqrt(0) = 0: forward is fine
            distances.sum().backward()
        except mg.AnomalyError as error:
            print(error)

    section(6, "What the first step compiled", """
        The heavy ops run as Numba kernels, compiled to machine code the first time each is called
        with new argument types, then kept in Numba's on-disk cache (a later run only loads them).
        These are the compiles and cache loads that section 1 and 2's step set off.
        `python -m minigrad.bench compile` measures them for the reference CNN, cold and warm.""")
    print(format_compiles(compiles) if compiles else "nothing: every kernel this step needs was already loaded")

    print(f"\nfinal loss={float(F.cross_entropy(model(x), y).item()):.4f}")


if __name__ == "__main__":
    main()
