"""Fit y = 2x with a weight and a bias, GradientTape style, with hand-written gradient descent.

The TensorFlow tutorial recipe: x = [1, 2, 3], y = [2, 4, 6], W and b drawn from a normal
distribution, mean squared error, plain gradient descent. Every step records the forward pass on a
GradientTape, asks it for dloss/dW and dloss/db, and updates W and b in place under no_grad.
"""
import argparse

import minigrad as mg


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="gradient-descent steps (default 100)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the initial W and b (default 0)")
    args = parser.parse_args()

    mg.manual_seed(args.seed)
    x = mg.tensor([1.0, 2.0, 3.0])
    y = mg.tensor([2.0, 4.0, 6.0])
    weight = mg.randn(1, requires_grad=True)
    bias = mg.randn(1, requires_grad=True)

    for step in range(1, args.steps + 1):
        with mg.GradientTape() as tape:
            prediction = x * weight + bias
            loss = ((prediction - y) ** 2).mean()
        grad_weight, grad_bias = tape.gradient(loss, [weight, bias])
        with mg.no_grad():
            weight -= args.lr * grad_weight
            bias -= args.lr * grad_bias
        if step % 10 == 0 or step == args.steps:
            print(f"step {step:4d}  loss {loss.item():.6f}  W {weight.item():.4f}  b {bias.item():.4f}")
    print(f"final loss={loss.item():.6f}")


if __name__ == "__main__":
    main()
