"""Write a file so that its final name only ever holds a complete file: checkpoints, figures, downloads.

The bytes go to a temporary file beside the target, which is renamed onto the target only after
the ``with`` block finished without error. The rename is atomic on one file system, so a reader,
a crash or an exception sees either the previous file or the whole new one; on any error the
temporary file is removed.
"""
import contextlib
import os
import secrets


@contextlib.contextmanager
def atomic_write(path, durable=False, suffix=".tmp"):
    """Yield a binary file open on a temporary path; rename it onto ``path`` when the block succeeds.

    ``durable=True`` also fsyncs the file and its directory, so the new file survives a power cut
    (checkpoints); figures and downloads skip it. The directory is created if missing.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary_path = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(4)}{suffix}")
    # Mode 0o666 so the umask applies, as it would to a plain open() of the target.
    descriptor = os.open(temporary_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            yield file
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.replace(temporary_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary_path)
        raise
    if durable:
        _sync_directory(directory)


def _sync_directory(directory):
    """Make the rename itself durable (POSIX); platforms that cannot open a directory skip it."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
