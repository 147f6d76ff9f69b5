"""MNIST: find the four IDX files (root, $MINIGRAD_DATA, the cache), or download, verify and cache them.

The mirrors and checksums are module attributes (``mg.data.mnist.MIRRORS``, ``MD5``): tests point
them at a local server.
"""
import hashlib
import os
import sys

import numpy as np

from ..atomic_file import atomic_write
from .idx import CHUNK_BYTES, read_idx


# The mirrors torchvision uses, tried in order (tests point this list at a local server).
MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
# MD5 of the original .gz archives, as published by torchvision; only downloads are checked against them
# (local copies may be re-compressed: they are checked structurally instead).
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# split -> (file name prefix, number of records)
SPLITS = {"train": ("train", 60000), "test": ("t10k", 10000)}
DOWNLOAD_TIMEOUT_SECONDS = 30
IMAGE_SIZE = 28


class MNISTNotFoundError(FileNotFoundError):
    """MNIST is neither on disk nor downloadable (a FileNotFoundError).

    The message stands alone, for a script to print as is: the folders it looked in, why the download
    failed (one line) and how to fix it (the four IDX files in a folder named by ``root=`` or
    ``$MINIGRAD_DATA``).
    """


def default_cache_dir():
    """Where downloads go when no ``root`` is given: ``~/.cache/minigrad/mnist``."""
    return os.path.expanduser(os.path.join("~", ".cache", "minigrad", "mnist"))


def load_mnist(split, root=None, download=True, normalize=True):
    """MNIST's training (60,000) or test (10,000) images and labels as NumPy arrays.

    Returns ``(images, labels)``. With ``normalize=True`` (the default, what a network wants and what
    torchvision's ``ToTensor()`` gives) images are float32 of shape (N, 1, 28, 28) with values in [0, 1];
    with ``normalize=False`` they are the raw uint8 pixels of shape (N, 28, 28). Labels are int64 (N,)
    in both cases, ready for ``cross_entropy``.

    Looks for the four standard IDX files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each raw or ``.gz``) in, in order: ``root``,
    ``$MINIGRAD_DATA``, ``~/.cache/minigrad/mnist``; in each directory also in ``MNIST/raw/`` (torchvision's
    layout). A directory is used when it holds both files of the split; they are checked structurally
    (IDX header, 28x28, record counts, labels 0..9), not by checksum, so re-compressed copies are fine.

    If none is found and ``download`` is true, the split's two archives are downloaded from ``MIRRORS``
    into ``root`` if given, else into ``~/.cache/minigrad/mnist``, and checked against torchvision's MD5s.
    Each goes to a temporary file renamed only once complete and verified; a failed download leaves no
    partial file and no folder it created (a folder that existed is left as it was).

    Raises MNISTNotFoundError (a FileNotFoundError) when the files are not found and ``download`` is
    false or every mirror fails; its message says where it looked, why nothing was downloaded and how
    to point minigrad at the files.
    """
    if split not in SPLITS:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    names = _file_names(split)
    bases = _search_bases(root)
    paths = _find_local(_search_dirs(bases), names)
    if paths is None:
        if not download:
            raise MNISTNotFoundError(_not_found_message(split, bases, None, None))
        target = os.fspath(root) if root is not None else default_cache_dir()
        paths, attempts = _download(target, names)
        if paths is None:
            # The mirrors' errors are in the message, one line; their tracebacks would only hide it.
            raise MNISTNotFoundError(_not_found_message(split, bases, target, attempts)) from None
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    _check_mnist(split, paths, images, labels)
    labels = labels.astype(np.int64)
    if not normalize:
        return images, labels
    # Divide (not multiply by 1/255) so the values match torchvision's ToTensor bit for bit.
    scaled = np.divide(images, np.float32(255), dtype=np.float32)
    return scaled.reshape(len(images), 1, IMAGE_SIZE, IMAGE_SIZE), labels


def _file_names(split):
    prefix = SPLITS[split][0]
    return (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")


def _search_bases(root):
    """The folders to look in, in order, as (folder, where it comes from) pairs."""
    bases = [(os.fspath(root), "root=")] if root is not None else []
    if os.environ.get("MINIGRAD_DATA"):
        bases.append((os.environ["MINIGRAD_DATA"], "$MINIGRAD_DATA"))
    bases.append((default_cache_dir(), "the default cache"))
    return bases


def _search_dirs(bases):
    """Each base folder followed by its torchvision-style MNIST/raw/ subfolder."""
    return [directory for base, _ in bases for directory in (base, os.path.join(base, "MNIST", "raw"))]


def _find_local(directories, names):
    """Paths of both files in the first directory holding both (raw preferred over .gz), or None."""
    for directory in directories:
        paths = [_find_file(directory, name) for name in names]
        if None not in paths:
            return paths
    return None


def _find_file(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def _check_mnist(split, paths, images, labels):
    """Structural checks that stand in for checksums on local copies."""
    count = SPLITS[split][1]
    expected_images = (count, IMAGE_SIZE, IMAGE_SIZE)
    if images.dtype != np.uint8 or images.shape != expected_images:
        raise ValueError(
            f"load_mnist: {paths[0]}: expected uint8 images of shape {expected_images} for the {split} split, "
            f"found {images.dtype} of shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.shape != (count,):
        raise ValueError(
            f"load_mnist: {paths[1]}: expected {count} uint8 labels for the {split} split, "
            f"found {labels.dtype} of shape {labels.shape}"
        )
    if labels.max(initial=0) > 9:
        raise ValueError(f"load_mnist: {paths[1]}: labels must be digits 0..9, found {int(labels.max())}")


def _download(target, names):
    """Download the missing archives into ``target``; (paths, None) on success, else (None, attempts).

    Folders it had to create are removed again if the download fails and leaves them empty; an archive
    that was downloaded and verified stays (with its folder), so a second try fetches only the other.
    """
    try:
        created = _make_folders(target)
    except OSError as error:
        return None, [f"cannot create the folder {target} ({type(error).__name__}: {error})"]
    paths, attempts = [], []
    try:
        for name in names:
            path = _find_file(target, name) or _download_file(target, name + ".gz", attempts)
            if path is None:
                return None, attempts
            paths.append(path)
        return paths, None
    finally:
        if len(paths) < len(names):  # failed, or interrupted
            _remove_empty_folders(created)


def _make_folders(target):
    """Create ``target`` and its missing parents; the folders created, deepest first."""
    created, folder = [], os.path.abspath(target)
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        created.append(folder)
        folder = os.path.dirname(folder)
    os.makedirs(target, exist_ok=True)
    return created


def _remove_empty_folders(folders):
    """Remove each of ``folders`` (deepest first) while they are empty; stop at the first that is not."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:  # not empty (a verified archive, another process's download) or already gone
            return


def _download_file(target, archive, attempts):
    """Try each mirror in turn; the final path, or None with every failure appended to ``attempts``."""
    import http.client  # the network modules load only when a download happens: import minigrad stays fast
    for mirror in MIRRORS:
        url = mirror + archive
        try:
            _fetch(url, os.path.join(target, archive), MD5[archive])
            return os.path.join(target, archive)
        except (OSError, ValueError, http.client.HTTPException) as error:  # URLError, HTTPError, timeouts: OSError
            reason = f"{type(error).__name__}: {error}"
            attempts.append(f"{url}: {reason}")
            print(f"minigrad: {url} failed ({reason})", file=sys.stderr)
    return None


def _fetch(url, path, expected_md5):
    """Stream ``url`` into a temporary ``.part`` file beside ``path``, check its MD5, then rename it.

    The final name only ever holds a complete, verified file; the ``.part`` is removed on any failure.
    """
    import urllib.request

    digest = hashlib.md5(usedforsecurity=False)
    with atomic_write(path, suffix=".part") as part_file, urllib.request.urlopen(
        url, timeout=DOWNLOAD_TIMEOUT_SECONDS
    ) as response:
        size = response.headers.get("Content-Length")
        megabytes = f" ({int(size) / 1e6:.1f} MB)" if size and size.isdigit() else ""
        print(f"minigrad: downloading {url}{megabytes}", file=sys.stderr)
        while chunk := response.read(CHUNK_BYTES):
            digest.update(chunk)
            part_file.write(chunk)
        if digest.hexdigest() != expected_md5:
            raise ValueError(f"MD5 mismatch: expected {expected_md5}, got {digest.hexdigest()}")


def _not_found_message(split, bases, target, attempts):
    """What MNISTNotFoundError says: where it looked, why nothing was downloaded, how to fix it.

    ``target`` is where the download went (None with download=False); ``attempts`` its failures.
    """
    wanted = " and ".join(_file_names(split))
    lines = [f"load_mnist: MNIST {split} split not found: no folder holds both {wanted} (raw or .gz).",
             "Looked in:"]
    for base, origin in bases:
        lines += [f"  {base}  ({origin})", f"  {os.path.join(base, 'MNIST', 'raw')}"]
    if target is None:
        lines.append("Not downloaded: download=False.")
    else:
        # One line however many mirrors failed; an error's own line breaks are folded into it.
        reasons = "; ".join(" ".join(attempt.split()) for attempt in attempts) or (
            "no mirror to try (mg.data.mnist.MIRRORS is empty)")
        lines.append(f"Downloading into {target} failed: {reasons}")
    every_file = ", ".join(name for split_name in SPLITS for name in _file_names(split_name))
    lines.append(
        f"To fix: put the four MNIST IDX files ({every_file}; each raw or .gz) in one folder and set "
        "MINIGRAD_DATA=/path/to/that/folder, or pass root='/path/to/that/folder' to load_mnist "
        "(--data-dir in the examples)."
    )
    return "\n".join(lines)
