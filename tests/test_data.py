"""mg.data: the IDX reader, load_mnist (search order, structural checks, downloads from a local server), DataLoader."""
import gzip
import hashlib
import http.server
import os
import socket
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import data
from minigrad.data import mnist

TYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array, type_code=None):
    """The IDX encoding of ``array``: a big-endian header, then its values, big-endian, in C order."""
    array = np.asarray(array)
    code = TYPE_CODES[array.dtype.type] if type_code is None else type_code
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, payload, compress=False):
    path.write_bytes(gzip.compress(payload, compresslevel=1) if compress else payload)
    return path


# --- read_idx -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("dtype", list(TYPE_CODES))
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5), (0, 4)])
def test_read_idx_round_trips_every_type_and_shape(tmp_path, compress, dtype, shape):
    array = (np.arange(int(np.prod(shape))) * 37 - 50).reshape(shape).astype(dtype)
    result = data.read_idx(write(tmp_path / "values.idx", idx_bytes(array), compress))
    assert result.dtype == np.dtype(dtype) and result.dtype.isnative
    assert result.shape == shape
    np.testing.assert_array_equal(result, array)
    assert result.flags.writeable and result.flags.c_contiguous


def test_read_idx_detects_gzip_by_magic_bytes_not_by_name(tmp_path):
    array = np.arange(12, dtype=np.int16).reshape(3, 4)
    compressed_without_suffix = write(tmp_path / "plain-name", idx_bytes(array), compress=True)
    raw_with_gz_suffix = write(tmp_path / "looks-compressed.gz", idx_bytes(array))
    np.testing.assert_array_equal(data.read_idx(compressed_without_suffix), array)
    np.testing.assert_array_equal(data.read_idx(str(raw_with_gz_suffix)), array)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_read_idx_truncated_data_names_file_and_sizes(tmp_path, compress):
    payload = idx_bytes(np.zeros((10, 5), dtype=np.int32))  # 12-byte header + 200 bytes
    path = write(tmp_path / "short.idx", payload[:-3], compress)
    with pytest.raises(ValueError, match="truncated") as caught:
        data.read_idx(path)
    message = str(caught.value)
    assert str(path) in message and "expected 212 bytes" in message and "found 209 bytes" in message


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_read_idx_truncated_header(tmp_path, compress):
    payload = idx_bytes(np.zeros((10, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="truncated header"):
        data.read_idx(write(tmp_path / "header.idx", payload[:6], compress))


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
def test_read_idx_trailing_bytes(tmp_path, compress):
    payload = idx_bytes(np.zeros((4, 4), dtype=np.uint8)) + b"junk"
    path = write(tmp_path / "long.idx", payload, compress)
    with pytest.raises(ValueError, match="trailing bytes") as caught:
        data.read_idx(path)
    assert str(path) in str(caught.value) and "expected 28 bytes" in str(caught.value) and "found 32" in str(caught.value)


def test_read_idx_bad_magic_and_unknown_type_code(tmp_path):
    payload = idx_bytes(np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="bad magic number 01000801"):
        data.read_idx(write(tmp_path / "magic.idx", b"\x01" + payload[1:]))
    with pytest.raises(ValueError, match="unknown IDX type code 0x0A") as caught:
        data.read_idx(write(tmp_path / "type.idx", idx_bytes(np.zeros(3, dtype=np.uint8), type_code=0x0A)))
    assert "type.idx" in str(caught.value)


def test_read_idx_corrupt_gzip_streams(tmp_path):
    compressed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    bad_checksum = compressed[:-8] + bytes(byte ^ 0xFF for byte in compressed[-8:-4]) + compressed[-4:]
    for name, payload in [("cut.gz", compressed[: len(compressed) // 2]), ("crc.gz", bad_checksum),
                          ("header.gz", compressed[:2] + b"\x00" + compressed[3:])]:
        path = write(tmp_path / name, payload)
        with pytest.raises(ValueError, match="corrupt or truncated gzip stream") as caught:
            data.read_idx(path)
        assert str(path) in str(caught.value)


# --- load_mnist: real data -------------------------------------------------------------------------------

REAL_DATA = os.environ.get("MINIGRAD_DATA")
needs_real_mnist = pytest.mark.skipif(
    not REAL_DATA or not os.path.isfile(os.path.join(REAL_DATA, "t10k-labels-idx1-ubyte.gz")),
    reason="set MINIGRAD_DATA to a directory with the MNIST IDX files",
)
LABELS_SHA256 = {
    "train": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
LABEL_COUNTS = {
    "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
}


@needs_real_mnist
@pytest.mark.parametrize("split, count", [("train", 60000), ("test", 10000)])
def test_load_mnist_real_data(split, count):
    images, labels = data.load_mnist(split, download=False)
    assert images.shape == (count, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (count,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.bincount(labels).tolist() == LABEL_COUNTS[split]
    raw_images, raw_labels = data.load_mnist(split, download=False, normalize=False)
    assert raw_images.shape == (count, 28, 28) and raw_images.dtype == np.uint8
    np.testing.assert_array_equal(raw_labels, labels)
    np.testing.assert_array_equal(images[:100, 0], raw_images[:100] / np.float32(255))
    # The decompressed bytes are the original distribution's (the README's SHA-256).
    prefix = data.SPLITS[split][0]
    with gzip.open(os.path.join(REAL_DATA, f"{prefix}-labels-idx1-ubyte.gz")) as file:
        assert hashlib.sha256(file.read()).hexdigest() == LABELS_SHA256[split]


# --- load_mnist: synthetic files, search order, structural checks ------------------------------------------


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """HOME (so the default cache) under tmp_path, no MINIGRAD_DATA, no mirrors: never the real cache or network."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setattr(mnist, "MIRRORS", [])
    return home / ".cache" / "minigrad" / "mnist"


def mnist_archives(label, count=10000, image_size=28):
    """gzip bytes of a synthetic test split, {file name: bytes}: every label is ``label``, pixel 0 of image i is i % 256."""
    images = np.zeros((count, image_size, image_size), dtype=np.uint8)
    images[:, 0, 0] = np.arange(count) % 256
    images[:, 0, 1] = label  # so archives made with different labels differ in both files
    labels = np.full(count, label, dtype=np.uint8)
    return {
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images), compresslevel=1),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels), compresslevel=1),
    }


def write_mnist(directory, label, compress=True, **options):
    directory.mkdir(parents=True, exist_ok=True)
    for name, payload in mnist_archives(label, **options).items():
        if compress:
            (directory / name).write_bytes(payload)
        else:
            (directory / name.removesuffix(".gz")).write_bytes(gzip.decompress(payload))
    return directory


def test_load_mnist_synthetic_shapes_and_scaling(tmp_path, isolated):
    write_mnist(tmp_path / "root", label=7)
    images, labels = data.load_mnist("test", root=tmp_path / "root")
    assert images.shape == (10000, 1, 28, 28) and images.dtype == np.float32
    assert labels.dtype == np.int64 and (labels == 7).all()
    np.testing.assert_array_equal(images[:256, 0, 0, 0], np.arange(256, dtype=np.float32) / 255)
    raw, _ = data.load_mnist("test", root=tmp_path / "root", normalize=False)
    assert raw.shape == (10000, 28, 28) and raw.dtype == np.uint8 and raw[255, 0, 0] == 255


def test_load_mnist_search_order_root_then_env_then_cache(tmp_path, monkeypatch, isolated):
    root, environment = write_mnist(tmp_path / "root", 1), write_mnist(tmp_path / "env", 2)
    write_mnist(isolated, 3)
    monkeypatch.setenv("MINIGRAD_DATA", str(environment))
    assert data.load_mnist("test", root=root)[1][0] == 1
    assert data.load_mnist("test", root=tmp_path / "empty")[1][0] == 2
    assert data.load_mnist("test")[1][0] == 2
    monkeypatch.delenv("MINIGRAD_DATA")
    assert data.load_mnist("test")[1][0] == 3


def test_load_mnist_accepts_raw_files_and_torchvision_layout(tmp_path, isolated):
    write_mnist(tmp_path / "raw-files", 4, compress=False)
    assert data.load_mnist("test", root=tmp_path / "raw-files")[1][0] == 4
    write_mnist(tmp_path / "torchvision" / "MNIST" / "raw", 5)
    assert data.load_mnist("test", root=str(tmp_path / "torchvision"))[1][0] == 5


def test_load_mnist_skips_a_directory_holding_only_one_of_the_two_files(tmp_path, isolated):
    write_mnist(tmp_path / "partial", 1)
    (tmp_path / "partial" / "t10k-labels-idx1-ubyte.gz").unlink()
    write_mnist(isolated, 3)
    assert data.load_mnist("test", root=tmp_path / "partial")[1][0] == 3


def test_load_mnist_structural_checks(tmp_path, isolated):
    write_mnist(tmp_path / "short", 1, count=9999)
    with pytest.raises(ValueError, match=r"expected uint8 images of shape \(10000, 28, 28\)"):
        data.load_mnist("test", root=tmp_path / "short")
    write_mnist(tmp_path / "small", 1, image_size=20)
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz"):
        data.load_mnist("test", root=tmp_path / "small")
    write_mnist(tmp_path / "labels", 10)
    with pytest.raises(ValueError, match="labels must be digits 0..9, found 10"):
        data.load_mnist("test", root=tmp_path / "labels")


def test_load_mnist_bad_split(isolated):
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        data.load_mnist("validation")


def test_load_mnist_without_download_says_where_it_looked(tmp_path, isolated):
    with pytest.raises(data.MNISTNotFoundError) as caught:
        data.load_mnist("test", root=tmp_path / "nowhere", download=False)
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    assert str(tmp_path / "nowhere") in message and str(isolated) in message
    assert os.path.join("MNIST", "raw") in message and "t10k-images-idx3-ubyte" in message
    assert "MINIGRAD_DATA" in message and "root=" in message and "download=False" in message
    assert not (tmp_path / "nowhere").exists()


# --- load_mnist: downloads from a local HTTP server ------------------------------------------------------------


@pytest.fixture
def server(monkeypatch):
    """An HTTP server on 127.0.0.1 serving ``routes`` ({path: bytes}); everything else is a 404."""
    routes = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = routes.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *arguments):
            pass

    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    httpd.shutdown()
    httpd.server_close()


def serve_archives(monkeypatch, routes, base, folder, archives):
    """Publish ``archives`` under base/folder/ and make their MD5s the expected ones."""
    for name, payload in archives.items():
        routes[f"/{folder}/{name}"] = payload
    monkeypatch.setattr(mnist, "MD5", {**mnist.MD5, **{name: hashlib.md5(payload).hexdigest()
                                                     for name, payload in archives.items()}})
    return f"{base}/{folder}/"


def closed_port_url():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/"


def test_download_falls_back_to_the_next_mirror_and_caches(monkeypatch, server, isolated, capsys):
    base, routes = server
    good = serve_archives(monkeypatch, routes, base, "good", mnist_archives(6))
    for name, payload in mnist_archives(8).items():
        routes[f"/corrupt/{name}"] = payload  # same names, other bytes: an MD5 mismatch
    monkeypatch.setattr(mnist, "MIRRORS", [f"{base}/corrupt/", f"{base}/missing/", good])
    images, labels = data.load_mnist("test")
    assert images.shape == (10000, 1, 28, 28) and (labels == 6).all()
    assert sorted(os.listdir(isolated)) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    errors = capsys.readouterr().err
    assert "downloading" in errors and "MD5 mismatch" in errors and "404" in errors
    # Cached now: it loads with no mirror at all.
    monkeypatch.setattr(mnist, "MIRRORS", [])
    assert (data.load_mnist("test")[1] == 6).all()


def test_download_goes_into_root_when_given(tmp_path, monkeypatch, server, isolated):
    base, routes = server
    monkeypatch.setattr(mnist, "MIRRORS", [serve_archives(monkeypatch, routes, base, "good", mnist_archives(2))])
    assert (data.load_mnist("test", root=tmp_path / "mine")[1] == 2).all()
    assert len(os.listdir(tmp_path / "mine")) == 2 and not isolated.exists()


def test_download_failing_everywhere_leaves_nothing_and_lists_attempts(monkeypatch, server, isolated):
    base, routes = server
    serve_archives(monkeypatch, routes, base, "good", mnist_archives(6))
    for name, payload in mnist_archives(8).items():
        routes[f"/corrupt/{name}"] = payload
    refused = closed_port_url()
    monkeypatch.setattr(mnist, "MIRRORS", [f"{base}/corrupt/", f"{base}/missing/", refused])
    with pytest.raises(data.MNISTNotFoundError) as caught:
        data.load_mnist("test")
    message = str(caught.value)
    for mirror in (f"{base}/corrupt/", f"{base}/missing/", refused):
        assert mirror + "t10k-images-idx3-ubyte.gz" in message
    assert "MD5 mismatch" in message and "404" in message and "MINIGRAD_DATA" in message
    assert not (isolated.parents[2] / ".cache").exists()  # no final-name file, no .part, no folder it made


def test_download_keeps_a_verified_archive_when_the_other_one_fails(monkeypatch, server, isolated):
    base, routes = server
    archives = mnist_archives(6)
    mirror = serve_archives(monkeypatch, routes, base, "half", {"t10k-images-idx3-ubyte.gz": archives.pop(
        "t10k-images-idx3-ubyte.gz")})
    monkeypatch.setattr(mnist, "MIRRORS", [mirror])
    with pytest.raises(data.MNISTNotFoundError, match="t10k-labels-idx1-ubyte.gz: HTTPError"):
        data.load_mnist("test")
    assert os.listdir(isolated) == ["t10k-images-idx3-ubyte.gz"]  # complete and checked: no need to fetch it again


# --- load_mnist: failed downloads leave nothing behind, and say how to fix it ----------------------------------


def refuse_downloads(monkeypatch, reason="<urlopen error [Errno -3] Temporary failure in name resolution>"):
    """Every fetch fails as it does without a network; returns the URLs tried."""
    import urllib.error

    tried = []

    def fetch(url, path, expected_md5):
        tried.append(url)
        raise urllib.error.URLError(reason.removeprefix("<urlopen error ").removesuffix(">"))

    monkeypatch.setattr(mnist, "_fetch", fetch)
    monkeypatch.setattr(mnist, "MIRRORS", ["https://mirror.invalid/mnist/", "http://other.invalid/"])
    return tried


def test_a_failed_download_removes_the_folders_it_created(tmp_path, monkeypatch, isolated):
    refuse_downloads(monkeypatch)
    home = isolated.parents[2]
    with pytest.raises(data.MNISTNotFoundError):
        data.load_mnist("test")  # into the default cache: ~/.cache/minigrad/mnist, none of it there before
    assert os.listdir(home) == []
    (home / ".cache").mkdir()  # a folder that was there before stays; only what the download made goes
    with pytest.raises(data.MNISTNotFoundError):
        data.load_mnist("train")
    assert os.listdir(home) == [".cache"] and os.listdir(home / ".cache") == []
    with pytest.raises(data.MNISTNotFoundError):
        data.load_mnist("test", root=tmp_path / "new" / "mnist")  # into root
    assert not (tmp_path / "new").exists()


def test_a_failed_download_leaves_an_existing_folder_and_its_files_alone(tmp_path, monkeypatch, isolated):
    refuse_downloads(monkeypatch)
    root = tmp_path / "mine"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(data.MNISTNotFoundError):
        data.load_mnist("test", root=root)
    assert os.listdir(root) == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(data.MNISTNotFoundError):
        data.load_mnist("test", root=empty)
    assert empty.is_dir() and os.listdir(empty) == []


class FakeResponse:
    """What urlopen returns, serving ``payload`` in pieces; ``on_read`` runs before each piece."""

    def __init__(self, payload, on_read, fail_after=None):
        self.pieces = [payload[start:start + 1000] for start in range(0, len(payload), 1000)]
        self.headers = {"Content-Length": str(len(payload))}
        self.on_read, self.fail_after, self.served = on_read, fail_after, 0

    def read(self, size=-1):
        self.on_read()
        if self.fail_after is not None and self.served == self.fail_after:
            raise ConnectionResetError("connection reset by peer")
        self.served += 1
        return self.pieces.pop(0) if self.pieces else b""

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        return False


def test_downloads_go_to_a_temporary_file_renamed_once_verified(tmp_path, monkeypatch, isolated):
    import urllib.request

    archives = mnist_archives(4)
    monkeypatch.setattr(mnist, "MD5", {name: hashlib.md5(payload).hexdigest() for name, payload in archives.items()})
    monkeypatch.setattr(mnist, "MIRRORS", ["https://mirror.invalid/"])
    root, listings = tmp_path / "root", []

    def serve(fail_after=None):
        def urlopen(url, timeout):
            return FakeResponse(archives[url.rsplit("/", 1)[1]], lambda: listings.append(sorted(os.listdir(root))),
                                fail_after)
        monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    serve(fail_after=3)  # the connection drops mid-file
    with pytest.raises(data.MNISTNotFoundError, match="ConnectionResetError: connection reset by peer"):
        data.load_mnist("test", root=root)
    assert listings and all(len(listing) == 1 and listing[0].startswith(".t10k-images-idx3-ubyte.gz.")
                            and listing[0].endswith(".part") for listing in listings)  # never the final name
    assert not root.exists()  # the partial file and the folder made for it are gone

    listings.clear()
    serve()
    assert (data.load_mnist("test", root=root)[1] == 4).all()
    # While each file streams in, only its hidden .part exists; the final name appears once it is checked.
    assert all(sum(name.endswith(".part") for name in listing) == 1 for listing in listings)
    assert not any("t10k-labels-idx1-ubyte.gz" in listing for listing in listings)
    assert sorted(os.listdir(root)) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def test_the_missing_data_message_stands_alone(tmp_path, monkeypatch, isolated):
    tried = refuse_downloads(monkeypatch, reason="<urlopen error [Errno -3] Temporary failure\nin name resolution>")
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "env"))
    root = tmp_path / "root"
    with pytest.raises(data.MNISTNotFoundError) as caught:
        data.load_mnist("test", root=root)
    error = caught.value
    assert isinstance(error, FileNotFoundError) and type(error).__name__ == "MNISTNotFoundError"
    assert error.__cause__ is None and error.__suppress_context__  # no inner traceback when printed
    lines = str(error).splitlines()
    assert lines[0] == ("load_mnist: MNIST test split not found: no folder holds both t10k-images-idx3-ubyte and "
                        "t10k-labels-idx1-ubyte (raw or .gz).")
    assert lines[1:8] == [
        "Looked in:",
        f"  {root}  (root=)", f"  {root / 'MNIST' / 'raw'}",
        f"  {tmp_path / 'env'}  ($MINIGRAD_DATA)", f"  {tmp_path / 'env' / 'MNIST' / 'raw'}",
        f"  {isolated}  (the default cache)", f"  {isolated / 'MNIST' / 'raw'}",
    ]
    # Why the download failed: one line, each mirror's error, the error's own line break folded in.
    assert tried == ["https://mirror.invalid/mnist/t10k-images-idx3-ubyte.gz", "http://other.invalid/t10k-images-idx3-ubyte.gz"]
    assert lines[8] == (
        f"Downloading into {root} failed: "
        "https://mirror.invalid/mnist/t10k-images-idx3-ubyte.gz: URLError: <urlopen error [Errno -3] Temporary "
        "failure in name resolution>; http://other.invalid/t10k-images-idx3-ubyte.gz: URLError: <urlopen error "
        "[Errno -3] Temporary failure in name resolution>"
    )
    assert lines[9] == (
        "To fix: put the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; each raw or .gz) in one folder and set "
        "MINIGRAD_DATA=/path/to/that/folder, or pass root='/path/to/that/folder' to load_mnist "
        "(--data-dir in the examples)."
    )
    assert len(lines) == 10 and "Traceback" not in str(error)


def test_the_missing_data_message_when_nothing_could_be_tried(tmp_path, monkeypatch, isolated):
    with pytest.raises(data.MNISTNotFoundError, match=r"Downloading into .* failed: no mirror to try"):
        data.load_mnist("test")  # isolated: MIRRORS is empty
    (tmp_path / "a-file").write_text("")
    with pytest.raises(data.MNISTNotFoundError) as caught:
        data.load_mnist("test", root=tmp_path / "a-file" / "mnist")
    assert f"Downloading into {tmp_path / 'a-file' / 'mnist'} failed: cannot create the folder" in str(caught.value)
    assert "NotADirectoryError" in str(caught.value) and "MINIGRAD_DATA=" in str(caught.value)


# --- DataLoader -------------------------------------------------------------------------------------------------


def batches_of(loader):
    return [tuple(tensor.numpy() for tensor in batch) for batch in loader]


def test_dataloader_yields_tuples_of_tensors_aligned_across_arrays():
    features, targets = np.arange(50, dtype=np.float32).reshape(25, 2), np.arange(25)
    loader = data.DataLoader((features, targets), batch_size=4, shuffle=True, seed=0)
    for x, y in loader:
        assert isinstance(x, mg.Tensor) and isinstance(y, mg.Tensor)
        assert x.dtype == mg.float32 and y.dtype == mg.int64 and not x.requires_grad
        np.testing.assert_array_equal(x.numpy(), features[y.numpy()])
    (only,) = next(iter(data.DataLoader(features, batch_size=3)))
    np.testing.assert_array_equal(only.numpy(), features[:3])


@pytest.mark.parametrize("shuffle", [False, True])
def test_dataloader_covers_every_index_once_per_epoch(shuffle):
    loader = data.DataLoader(np.arange(103), batch_size=10, shuffle=shuffle, seed=1)
    assert len(loader) == 11
    for _ in range(2):
        batches = [batch for (batch,) in batches_of(loader)]
        assert [len(batch) for batch in batches] == [10] * 10 + [3]
        seen = np.concatenate(batches)
        assert sorted(seen.tolist()) == list(range(103))
        assert (seen.tolist() == list(range(103))) == (not shuffle)


def test_dataloader_drop_last():
    loader = data.DataLoader(np.arange(103), batch_size=10, shuffle=True, drop_last=True, seed=1)
    assert len(loader) == 10
    seen = np.concatenate([batch for (batch,) in batches_of(loader)])
    assert len(seen) == 100 and len(set(seen.tolist())) == 100
    assert len(data.DataLoader(np.arange(5), batch_size=10, drop_last=True)) == 0
    assert len(data.DataLoader(np.arange(5), batch_size=10)) == 1


def epoch_orders(loader, epochs):
    return [np.concatenate([batch for (batch,) in batches_of(loader)]).tolist() for _ in range(epochs)]


def test_dataloader_shuffle_is_deterministic_and_changes_every_epoch():
    first = epoch_orders(data.DataLoader(np.arange(100), batch_size=7, shuffle=True, seed=42), 3)
    again = epoch_orders(data.DataLoader(np.arange(100), batch_size=7, shuffle=True, seed=42), 3)
    other = epoch_orders(data.DataLoader(np.arange(100), batch_size=7, shuffle=True, seed=43), 1)
    assert first == again
    assert first[0] != first[1] != first[2] and first[0] != first[2]
    assert other[0] != first[0]
    # The batch size does not change the order: it depends on (seed, epoch) only.
    assert epoch_orders(data.DataLoader(np.arange(100), batch_size=9, shuffle=True, seed=42), 3) == first


def test_dataloader_seed_comes_from_manual_seed():
    mg.manual_seed(5)
    first = epoch_orders(data.DataLoader(np.arange(50), batch_size=8, shuffle=True), 2)
    mg.manual_seed(5)
    loader = data.DataLoader(np.arange(50), batch_size=8, shuffle=True)
    assert epoch_orders(loader, 2) == first
    mg.manual_seed(6)
    assert epoch_orders(data.DataLoader(np.arange(50), batch_size=8, shuffle=True), 1)[0] != first[0]
    resumed = data.DataLoader(np.arange(50), batch_size=8, shuffle=True, seed=loader.seed)
    assert epoch_orders(resumed, 2) == first


def test_dataloader_set_epoch_resumes_the_sequence():
    reference = epoch_orders(data.DataLoader(np.arange(60), batch_size=6, shuffle=True, seed=3), 4)
    resumed = data.DataLoader(np.arange(60), batch_size=6, shuffle=True, seed=3)
    resumed.set_epoch(2)
    assert epoch_orders(resumed, 2) == reference[2:]
    assert resumed.epoch == 4
    for epoch in (1, 1, 3):  # the DistributedSampler style: set the epoch before each loop
        resumed.set_epoch(epoch)
        assert epoch_orders(resumed, 1)[0] == reference[epoch]
    assert resumed.permutation(0).tolist() == reference[0]


def test_dataloader_batches_are_fresh_arrays():
    source = np.arange(20, dtype=np.float64)
    for shuffle in (False, True):
        loader = data.DataLoader(source, batch_size=5, shuffle=shuffle, seed=0)
        iterator = iter(loader)
        (first,) = next(iterator)
        kept = first.numpy().copy()
        first.numpy()[:] = -1
        assert (source >= 0).all()
        (second,) = next(iterator)
        second.numpy()[:] = -2
        np.testing.assert_array_equal(first.numpy(), -1)
        assert not np.shares_memory(first.numpy(), source) and kept.min() >= 0


def test_dataloader_accepts_tensors_and_converts_dtypes_minigrad_lacks():
    images = np.arange(12, dtype=np.uint8).reshape(6, 2)
    loader = data.DataLoader([mg.tensor(np.ones((6, 3))), images, np.arange(6, dtype=np.float16)], batch_size=4)
    first, second, third = next(iter(loader))
    assert first.dtype == mg.float64 and first.shape == (4, 3)
    assert second.dtype == mg.int64 and second.numpy().tolist() == images[:4].tolist()
    assert third.dtype == mg.float32
    assert "batch_size=4" in repr(loader)


def test_dataloader_errors():
    with pytest.raises(ValueError, match=r"share their first dimension.*\(10, 3\).*\(9,\)"):
        data.DataLoader((np.zeros((10, 3)), np.zeros(9)))
    with pytest.raises(ValueError, match="share their first dimension"):
        data.DataLoader((np.zeros(3), np.float32(1)))
    for batch_size in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            data.DataLoader(np.zeros(4), batch_size=batch_size)
    with pytest.raises(TypeError, match="non-empty tuple/list"):
        data.DataLoader(())
    with pytest.raises(TypeError, match="array 1 has dtype object"):
        data.DataLoader((np.zeros(2), np.array([None, 1], dtype=object)))
