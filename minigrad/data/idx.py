"""The IDX file format (LeCun's MNIST files): ``read_idx`` reads one, raw or gzip-compressed, checking it."""
import gzip
import math
import os
import sys
import zlib

import numpy as np


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
CHUNK_BYTES = 1 << 20  # decompress in 1 MiB pieces straight into the result: no second full-size copy


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
        count = stream.readinto(view[filled:filled + CHUNK_BYTES])
        if not count:
            break
        filled += count
    return filled


def _count_remaining(stream):
    """How many bytes are left (reading a gzip stream to its end also checks its CRC and length)."""
    remaining = 0
    while chunk := stream.read(CHUNK_BYTES):
        remaining += len(chunk)
    return remaining
