"""README.md's Python snippets run as written, each on its own, so README cannot drift from the code.

Every ```python block is executed in order, each in a fresh Python process as a user would paste it
(so a block must bring its own imports and data), in a temporary working directory. Where a plain ``` block follows a Python block
directly, it is the output the block prints, and must be exactly that. A block that reads MNIST
runs only when MINIGRAD_DATA points at it (it would download otherwise).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_blocks():
    """(heading, Python source, expected output or None) for each ```python block of README."""
    text = README.read_text()
    fence = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
    blocks = list(fence.finditer(text))
    found = []
    for index, block in enumerate(blocks):
        if block.group(1) != "python":
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        output = None
        if following is not None and following.group(1) == "" and following.start() == block.end():
            output = following.group(2)
        heading = re.findall(r"^## (.+)$", text[:block.start()], re.MULTILINE)[-1]
        found.append((heading, block.group(2), output))
    return found


BLOCKS = readme_blocks()


def test_readme_has_its_snippets():
    assert len(BLOCKS) >= 4
    assert any(output is not None for _, _, output in BLOCKS)


@pytest.mark.parametrize("heading, source, output", BLOCKS,
                         ids=[f"{number}-{heading}" for number, (heading, _, _) in enumerate(BLOCKS)])
def test_readme_snippet_runs_as_written(heading, source, output, tmp_path):
    if "load_mnist" in source and not os.path.isdir(os.environ.get("MINIGRAD_DATA", "")):
        pytest.skip("set MINIGRAD_DATA to a directory with the MNIST IDX files")
    completed = subprocess.run([sys.executable, "-c", source], cwd=tmp_path, capture_output=True, text=True,
                               timeout=600)
    assert completed.returncode == 0, f"README.md, {heading}:\n{completed.stderr}"
    if output is not None:
        assert _without_trailing_spaces(completed.stdout) == _without_trailing_spaces(output)


def _without_trailing_spaces(text):
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
