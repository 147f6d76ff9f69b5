"""Data: the IDX reader, MNIST (find, download, verify, cache) and a DataLoader of minigrad Tensors.

    images, labels = mg.data.load_mnist("train")          # float32 (60000, 1, 28, 28) in [0, 1], int64
    loader = mg.data.DataLoader((images, labels), batch_size=100, shuffle=True)
    for x, y in loader:                                    # two mg.Tensor per batch
        ...
"""
import gzip
import hashlib
import math
import os
import sys
import zlib

import numpy as np

from . import dtypes
from .atomic_file import atomic_write
from .creation import from_numpy
from .random_state import generator
from .tensor import Tensor

# --- IDX ----------------------------------------------------------------------------------------------

# IDX type code -> big-endian NumPy dtype (LeCun's format description).
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_BYTES = 1 << 20  # decompress in 1 MiB pieces straight into the result: no second full-size copy


def read_idx(path):
    """The array stored in an IDX file, raw or gzip-compressed (recognised by its magic bytes, not its name).

    The header is checked (two zero bytes, a known type code, the number of dimensions, one big-endian
    uint32 per dimension) and so is the length of the data: a truncated file, trailing bytes, a bad magic
    number, an unknown type code or a corrupt gzip stream raise ValueError naming the file. Multi-byte
    types come back in native byte order.
    """
    path = os.fspath(path)
    with open(path, "rb") as raw_file:
        compressed = raw_file.read(2) == _GZIP_MAGIC
        raw_file.seek(0)
        if not compressed:
            return _read_idx_stream(raw_file, path, os.fstat(raw_file.fileno()).st_size)
        try:
            with gzip.GzipFile(fileobj=raw_file, mode="rb") as stream:
                return _read_idx_stream(stream, path, None)
        except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
            raise ValueError(f"read_idx: {path}: corrupt or truncated gzip stream ({error})") from None


def _read_idx_stream(stream, path, file_size):
    """Parse header and data from an open binary stream; ``file_size`` is known for raw files only."""
    magic = _read_exactly(stream, 4, path, "the 4-byte magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise ValueError(
            f"read_idx: {path}: bad magic number {magic.hex()}: an IDX file starts with two zero bytes, "
            f"found {magic[:2].hex()}"
        )
    if magic[2] not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise ValueError(f"read_idx: {path}: unknown IDX type code 0x{magic[2]:02X} (known: {known})")
    dtype, ndim = IDX_TYPES[magic[2]], magic[3]
    dims_bytes = _read_exactly(stream, 4 * ndim, path, f"the sizes of {ndim} dimensions")
    shape = tuple(int(size) for size in np.frombuffer(dims_bytes, dtype=">u4"))
    header_bytes = 4 + 4 * ndim
    data_bytes = math.prod(shape) * dtype.itemsize
    expected = (
        f"{header_bytes + data_bytes} bytes ({header_bytes}-byte header + {data_bytes} bytes of "
        f"{dtype.newbyteorder('=').name} data of shape {shape})"
    )
    if file_size is not None and file_size != header_bytes + data_bytes:
        # Raw file: its size tells truncation and trailing bytes apart before reading anything.
        problem = "truncated" if file_size < header_bytes + data_bytes else "trailing bytes after the data"
        raise ValueError(f"read_idx: {path}: {problem}: expected {expected}, found {file_size} bytes")
    array = np.empty(shape, dtype=dtype.newbyteorder("="))
    found = _read_into(stream, array.reshape(-1).view(np.uint8))
    if found != data_bytes:
        raise ValueError(f"read_idx: {path}: truncated: expected {expected}, found {header_bytes + found} bytes")
    extra = _count_remaining(stream)
    if extra:
        raise ValueError(
            f"read_idx: {path}: trailing bytes after the data: expected {expected}, "
            f"found {header_bytes + data_bytes + extra} bytes"
        )
    if dtype.itemsize > 1 and sys.byteorder == "little":
        array.byteswap(inplace=True)  # the bytes were big-endian; the array's dtype is native
    return array


def _read_exactly(stream, count, path, what):
    data = stream.read(count)
    if len(data) != count:
        raise ValueError(f"read_idx: {path}: truncated header: expected {count} bytes for {what}, found {len(data)}")
    return data


def _read_into(stream, buffer):
    """Fill the uint8 ``buffer`` from ``stream`` in chunks; the number of bytes read (short at end of file)."""
    view, filled = memoryview(buffer), 0
    while filled < len(view):
        count = stream.readinto(view[filled:filled + _CHUNK_BYTES])
        if not count:
            break
        filled += count
    return filled


def _count_remaining(stream):
    """How many bytes are left (reading a gzip stream to its end also checks its CRC and length)."""
    remaining = 0
    while chunk := stream.read(_CHUNK_BYTES):
        remaining += len(chunk)
    return remaining


# --- MNIST --------------------------------------------------------------------------------------------

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
        while chunk := response.read(_CHUNK_BYTES):
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
            "no mirror to try (mg.data.MIRRORS is empty)")
        lines.append(f"Downloading into {target} failed: {reasons}")
    every_file = ", ".join(name for split_name in SPLITS for name in _file_names(split_name))
    lines.append(
        f"To fix: put the four MNIST IDX files ({every_file}; each raw or .gz) in one folder and set "
        "MINIGRAD_DATA=/path/to/that/folder, or pass root='/path/to/that/folder' to load_mnist "
        "(--data-dir in the examples)."
    )
    return "\n".join(lines)


# --- DataLoader ---------------------------------------------------------------------------------------


class DataLoader:
    """Mini-batches of aligned arrays as minigrad Tensors, optionally shuffled.

    ``arrays`` is one array or a tuple/list of NumPy arrays or Tensors sharing their first dimension.
    Iterating yields a tuple with one ``mg.Tensor`` per array (always a tuple, even for a single array,
    as PyTorch's TensorDataset does). Each batch is a fresh array owned by its Tensor: changing it never
    changes the data set, and later batches never overwrite it. Dtypes minigrad does not hold are converted
    per batch as ``mg.tensor`` would (uint8 -> int64, float16 -> float32).

    Shuffling draws a new permutation at each ``iter()``; the permutation of epoch ``e`` depends only on
    ``(seed, e)``. ``seed=None`` draws the seed from minigrad's generator once, at construction, so
    ``mg.manual_seed(n)`` makes it repeatable; ``loader.seed`` holds it. The epoch starts at 0 and each
    ``iter()`` uses the current one and then advances it; ``set_epoch(e)`` chooses the epoch the next
    ``iter()`` uses, so a resumed run continues the same sequence of permutations (as torch's
    DistributedSampler.set_epoch).
    """

    def __init__(self, arrays, batch_size=1, shuffle=False, drop_last=False, seed=None):
        if isinstance(arrays, (np.ndarray, Tensor)):
            arrays = (arrays,)
        if not isinstance(arrays, (tuple, list)) or not arrays:
            raise TypeError(f"DataLoader: expected an array or a non-empty tuple/list of arrays, got {arrays!r:.80}")
        self.arrays = tuple(_as_array(array) for array in arrays)
        shapes = [array.shape for array in self.arrays]
        if any(len(shape) == 0 for shape in shapes) or len({shape[0] for shape in shapes}) != 1:
            raise ValueError(
                "DataLoader: arrays must share their first dimension, got shapes "
                + ", ".join(str(shape) for shape in shapes)
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        # The dtype each batch is handed out as (checked now, so a bad array fails here, not mid-epoch).
        self._batch_dtypes = tuple(_batch_dtype(array, position) for position, array in enumerate(self.arrays))
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(generator().integers(2**63)) if seed is None else int(seed)
        self.epoch = 0

    def __len__(self):
        """The number of batches in one epoch."""
        count = len(self.arrays[0])
        return count // self.batch_size if self.drop_last else -(-count // self.batch_size)

    def set_epoch(self, epoch):
        """Make the next ``iter()`` use epoch ``epoch``'s permutation (to resume a run)."""
        self.epoch = int(epoch)

    def permutation(self, epoch):
        """The order of the samples in epoch ``epoch``: a function of (seed, epoch) only."""
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.arrays[0]))

    def __iter__(self):
        order = self.permutation(self.epoch) if self.shuffle else None
        self.epoch += 1
        return self._batches(order)

    def _batches(self, order):
        for batch in range(len(self)):
            start = batch * self.batch_size
            stop = start + self.batch_size
            if order is None:
                parts = [array[start:stop].copy() for array in self.arrays]
            else:
                indices = order[start:stop]
                parts = [np.take(array, indices, axis=0) for array in self.arrays]
            yield tuple(
                from_numpy(part if part.dtype == dtype else part.astype(dtype))
                for part, dtype in zip(parts, self._batch_dtypes)
            )

    def __repr__(self):
        shapes = ", ".join(str(array.shape) for array in self.arrays)
        return (f"DataLoader(arrays of shapes {shapes}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, seed={self.seed})")


def _as_array(array):
    if isinstance(array, Tensor):
        return array.detach().cpu().data
    return np.asarray(array)


def _batch_dtype(array, position):
    if array.dtype in dtypes.supported:
        return array.dtype
    try:
        return dtypes.inferred_dtype(array)
    except TypeError:
        raise TypeError(
            f"DataLoader: array {position} has dtype {array.dtype}, which minigrad tensors cannot hold"
        ) from None
