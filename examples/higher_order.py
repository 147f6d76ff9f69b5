"""Gradients of gradients, three ways, each checked against finite differences.

1. The curvature of the MNIST softmax-regression loss: Hessian-vector products (the gradient
   recorded with create_graph=True, then differentiated along v) and the Hessian's largest
   eigenvalue by power iteration, without ever forming the 7850 x 7850 Hessian.
2. Newton's method on Rosenbrock's function: the 2 x 2 Hessian from mg.func.hessian, and the
   few steps Newton needs where gradient descent needs thousands.
3. A gradient penalty trained through: a small classifier whose loss adds the squared norm of its
   input gradient (double backpropagation, the penalty of WGAN-GP), so each training step
   differentiates a gradient.

MNIST is read from --data-dir, $MINIGRAD_DATA or ~/.cache/minigrad/mnist (downloaded on first use).
"""
import argparse

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F

RUN_TIME = ("Runs in about 2 s on a 2-core AVX2 machine (AMD Zen 3) once its kernels are compiled "
            "(the first run on a machine compiles them first).")


def relative_error(computed, reference):
    return float(np.abs(computed - reference).max() / max(np.abs(reference).max(), 1e-30))


def softmax_regression_curvature(images, labels, iterations):
    """Hessian-vector products of the softmax-regression loss, and its top eigenvalue."""
    weight = mg.zeros(784, 10, dtype=mg.float64, requires_grad=True)
    inputs, targets = mg.tensor(images, dtype=mg.float64), mg.tensor(labels)

    def loss_of(w):
        return F.cross_entropy(inputs @ w, targets)

    def hessian_times(vector):
        (gradient,) = mg.autograd.grad(loss_of(weight), weight, create_graph=True)
        (product,) = mg.autograd.grad(gradient, weight, grad_outputs=vector)
        return product.data

    def gradient_at(w):
        w = mg.tensor(w, dtype=mg.float64, requires_grad=True)
        (gradient,) = mg.autograd.grad(loss_of(w), w)
        return gradient.data

    # Check one product against central differences of the gradient: (g(w + e v) - g(w - e v)) / 2e.
    vector = np.random.default_rng(0).standard_normal((784, 10))
    epsilon = 1e-4
    finite = (gradient_at(weight.data + epsilon * vector) - gradient_at(weight.data - epsilon * vector)) / (2 * epsilon)
    error = relative_error(hessian_times(mg.tensor(vector)), finite)
    print(f"  Hessian-vector product vs central differences: relative error {error:.1e}")

    # Power iteration: v <- H v / |H v| converges to the eigenvector of the largest eigenvalue.
    for _ in range(iterations):
        product = hessian_times(mg.tensor(vector))
        eigenvalue = float((vector * product).sum() / (vector * vector).sum())  # Rayleigh quotient
        vector = product / np.linalg.norm(product)
    # The same Rayleigh quotient with the product taken by central differences instead.
    finite = (gradient_at(weight.data + epsilon * vector) - gradient_at(weight.data - epsilon * vector)) / (2 * epsilon)
    finite_eigenvalue = float((vector * finite).sum())
    eigenvalue_error = abs(eigenvalue - finite_eigenvalue) / abs(finite_eigenvalue)
    print(f"  largest Hessian eigenvalue after {iterations} power iterations: {eigenvalue:.5f} "
          f"(by central differences along its eigenvector: {finite_eigenvalue:.5f}, relative error {eigenvalue_error:.1e})")
    return max(error, eigenvalue_error)


def rosenbrock(point):
    x, y = point[0], point[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def newton_on_rosenbrock(steps):
    """Newton's method x <- x - H^-1 g, with H from mg.func.hessian; minimum at (1, 1)."""
    point = mg.tensor([-1.2, 1.0], dtype=mg.float64)
    epsilon = 1e-5
    hessian = mg.func.hessian(rosenbrock)(point).data
    finite = np.stack([(mg.func.grad(rosenbrock)(point + epsilon * unit).data
                        - mg.func.grad(rosenbrock)(point - epsilon * unit).data) / (2 * epsilon)
                       for unit in (mg.tensor([1.0, 0.0], dtype=mg.float64), mg.tensor([0.0, 1.0], dtype=mg.float64))])
    error = relative_error(hessian, finite)
    print(f"  Hessian at (-1.2, 1) vs central differences: relative error {error:.1e}")
    for step in range(1, steps + 1):
        gradient = mg.func.grad(rosenbrock)(point).data
        hessian = mg.func.hessian(rosenbrock)(point).data
        point = mg.tensor(point.data - np.linalg.solve(hessian, gradient), dtype=mg.float64)
        print(f"  step {step}: x = ({point.data[0]: .6f}, {point.data[1]: .6f}), f = {rosenbrock(point).item():.3e}")
    return error


def gradient_penalty_training(steps, penalty_weight):
    """Train a 2-16-1 tanh classifier with loss + penalty_weight * mean |d loss / d input|^2."""
    generator = np.random.default_rng(1)
    points = generator.standard_normal((256, 2))
    labels = (points[:, 0] * points[:, 1] > 0).astype(np.float64)  # the XOR of the signs
    inputs, targets = mg.tensor(points, dtype=mg.float64), mg.tensor(labels, dtype=mg.float64)
    # Float64 parameters, so that central differences can check the penalty's gradient.
    parameters = [mg.tensor(generator.standard_normal(shape) * scale, dtype=mg.float64, requires_grad=True)
                  for shape, scale in (((2, 16), 1.0), ((16,), 0.0), ((16, 1), 0.25), ((1,), 0.0))]
    optimizer = mg.optim.Adam(parameters, lr=0.03)

    def model(x):
        first_weight, first_bias, second_weight, second_bias = parameters
        return ((x @ first_weight + first_bias).tanh() @ second_weight + second_bias).reshape(-1)

    def total_loss():
        watched = inputs.detach().requires_grad_(True)
        loss = F.binary_cross_entropy_with_logits(model(watched), targets)
        (input_gradient,) = mg.autograd.grad(loss, watched, create_graph=True)
        # per point: |d (its own loss) / d (its input)|^2; the mean loss divides each by len(points)
        return loss, (input_gradient * input_gradient).sum(axis=1).mean() * len(points) ** 2

    # Check d(penalty)/d(one weight) against central differences: the penalty's gradient runs
    # through the recorded input gradient, second derivatives of the network included.
    weight = parameters[0]
    _, penalty = total_loss()
    (analytic,) = mg.autograd.grad(penalty, weight)
    epsilon = 1e-6
    original = weight.data[0, 0]
    weight.data[0, 0] = original + epsilon
    plus = total_loss()[1].item()
    weight.data[0, 0] = original - epsilon
    minus = total_loss()[1].item()
    weight.data[0, 0] = original
    error = abs(analytic.data[0, 0] - (plus - minus) / (2 * epsilon)) / max(abs(analytic.data[0, 0]), 1e-30)
    print(f"  d penalty / d weight[0, 0] vs central differences: relative error {error:.1e}")

    for step in range(1, steps + 1):
        loss, penalty = total_loss()
        objective = loss + penalty_weight * penalty
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
        if step % max(steps // 4, 1) == 0:
            print(f"  step {step}: loss {loss.item():.4f}, penalty {penalty.item():.4f}")
    with mg.no_grad():
        accuracy = float(((model(inputs).data > 0) == (labels > 0.5)).mean())
    print(f"  training accuracy {accuracy:.1%}")
    return error


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=RUN_TIME)
    parser.add_argument("--images", type=int, default=1000, help="MNIST training images in the loss (default 1000)")
    parser.add_argument("--power-iterations", type=int, default=20, help="power iterations (default 20)")
    parser.add_argument("--newton-steps", type=int, default=6, help="Newton steps (default 6)")
    parser.add_argument("--penalty-steps", type=int, default=200, help="training steps with the penalty (default 200)")
    parser.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random directions (default 0)")
    args = parser.parse_args()
    mg.manual_seed(args.seed)
    try:
        images, labels = mg.data.load_mnist("train", root=args.data_dir)
    except FileNotFoundError as error:
        raise SystemExit(f"higher_order.py: {error}") from None

    print("1. Curvature of the MNIST softmax-regression loss (at W = 0)")
    errors = [softmax_regression_curvature(images[:args.images].reshape(-1, 784), labels[:args.images],
                                           args.power_iterations)]
    print("2. Newton's method on Rosenbrock's function")
    errors.append(newton_on_rosenbrock(args.newton_steps))
    print("3. A gradient penalty, trained through")
    errors.append(gradient_penalty_training(args.penalty_steps, penalty_weight=1e-4))
    print(f"final max_relative_error={max(errors):.2e}")


if __name__ == "__main__":
    main()
