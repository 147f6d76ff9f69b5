"""pyproject.toml names every package of the source tree: setuptools installs only the listed ones,
and an editable install (which finds any folder) would hide a missing name until a plain
``pip install .`` shipped minigrad without it."""
import pathlib
import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = pathlib.Path(__file__).resolve().parents[1]


def packages_in_tree():
    found = set()
    for top, name in (("minigrad", "minigrad"), ("kernels", "minigrad.kernels")):
        for marker in (ROOT / top).rglob("__init__.py"):
            relative = marker.parent.relative_to(ROOT / top).parts
            found.add(".".join((name,) + relative))
    return found


def test_pyproject_lists_every_package_with_an_init_file():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert packages_in_tree() - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - packages_in_tree() == set(), "pyproject.toml lists packages that do not exist"
