"""``python -m minigrad.bench SUBCOMMAND [OPTIONS]``: benchmarks that print ratios against references.

``--device cuda``, anywhere on the line, hands the rest to the GPU suite (gpu.py): alone it runs
the whole suite; with matmul, conv, cnn or adam, that part of it.

Every public sibling module of this package is a subcommand (``matmul.py`` is ``matmul``): its
docstring's first line is its help, and its ``main(arguments)`` parses the options that follow the
subcommand. Adding ``conv.py`` or ``compile.py`` is all it takes to add ``conv`` or ``compile``.
Every CPU report starts with the CPU, the vector ISA Numba compiles for and PyTorch's (``_machine.py``).
"""
import argparse
import importlib
import pkgutil
import sys

import minigrad.bench
from minigrad.bench._machine import describe


def subcommand_names():
    return sorted(info.name for info in pkgutil.iter_modules(minigrad.bench.__path__)
                  if not info.name.startswith("_"))


def summary(name):
    """First docstring line of a subcommand's module (importing it only for its docstring)."""
    module = importlib.import_module(f"minigrad.bench.{name}")
    return (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""


def split_device(argv):
    """(the value of ``--device``, "cpu" when absent; the other arguments)."""
    device, rest, index = "cpu", [], 0
    while index < len(argv):
        if argv[index] == "--device" and index + 1 < len(argv):
            device, index = argv[index + 1], index + 2
        elif argv[index].startswith("--device="):
            device, index = argv[index].partition("=")[2], index + 1
        else:
            rest.append(argv[index])
            index += 1
    return device, rest


def main(argv=None):
    device, argv = split_device(sys.argv[1:] if argv is None else list(argv))
    if device == "cpu" and argv and not {"-h", "--help"} & set(argv):
        # The first line of every CPU report: what the figures were measured on.
        print(describe(), flush=True)
    if device == "cuda":
        gpu = importlib.import_module("minigrad.bench.gpu")
        return gpu.main(argv[1:] if argv[:1] == ["gpu"] else argv)
    names = subcommand_names()
    listing = "\n".join(f"  {name:<10} {summary(name)}" for name in names)
    parser = argparse.ArgumentParser(
        prog="python -m minigrad.bench",
        description="minigrad benchmarks; each prints ratios against references timed in the same run.",
        epilog=f"subcommands:\n{listing}\n\n'python -m minigrad.bench SUBCOMMAND --help' for its options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cuda: the GPU suite (the gpu subcommand), or with matmul, conv, cnn or adam that part")
    parser.add_argument("subcommand", choices=names, metavar="SUBCOMMAND")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="options of the subcommand")
    arguments = parser.parse_args(argv if device == "cpu" else ["--device", device, *argv])
    importlib.import_module(f"minigrad.bench.{arguments.subcommand}").main(arguments.options)


if __name__ == "__main__":
    main()
