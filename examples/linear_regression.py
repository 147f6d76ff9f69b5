"""Fit y = 2x with a weight and a bias through GradientTape, with SGD or Adam (the TensorFlow recipe).

x = [1, 2, 3], y = [2, 4, 6], W and b drawn from a normal distribution, mean squared error. Every
step records the forward pass on a GradientTape, asks it for dloss/dW and dloss/db, and hands the
pairs to the optimizer's apply_gradients, as tf.keras optimizers take them. W and b are printed
every 10 steps.
"""
import argparse

import minigrad as mg


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd", help="default sgd")
    parser.add_argument("--steps", type=int, default=100, help="optimisation steps (default 100)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the initial W and b (default 0)")
    args = parser.parse_args()

    mg.manual_seed(args.seed)
    x = mg.tensor([1.0, 2.0, 3.0])
    y = mg.tensor([2.0, 4.0, 6.0])
    weight = mg.randn(1, requires_grad=True)
    bias = mg.randn(1, requires_grad=True)
    optimizer_class = mg.optim.SGD if args.optimizer == "sgd" else mg.optim.Adam
    optimizer = optimizer_class([weight, bias], lr=args.lr)

    for step in range(1, args.steps + 1):
        with mg.GradientTape() as tape:
            prediction = x * weight + bias
            loss = ((prediction - y) ** 2).mean()
        gradients = tape.gradient(loss, [weight, bias])
        optimizer.apply_gradients(zip(gradients, [weight, bias]))
        if step % 10 == 0 or step == args.steps:
            print(f"step {step:4d}  loss {loss.item():.6f}  W {weight.item():.4f}  b {bias.item():.4f}")
    print(f"final loss={loss.item():.6f}")


if __name__ == "__main__":
    main()
