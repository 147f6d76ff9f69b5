"""What a transform is given, as one (N, C, H, W) array, and the way back to what it was given.

A transform takes one image, (H, W) or (C, H, W), or a batch (N, C, H, W), as a NumPy array or an
mg.Tensor, or a PIL image (H, W) or (H, W, C), as torchvision's transforms do, and gives back the
same kind: a Tensor on the same device, an array, a PIL image.
"""
import numpy as np

from ..creation import from_numpy
from ..tensor import Tensor
from .collate import host_array


def is_pil_image(value):
    # Checked by module name, so PIL is imported only by a program that uses it.
    return type(value).__module__.startswith("PIL.") and hasattr(value, "getbands")


def as_batch(image, where):
    """``(batch, restore)``: the image(s) as a C-contiguous (N, C, H, W) array, and the function that
    turns a result batch back into the kind and layout ``image`` came in."""
    if is_pil_image(image):
        pixels = np.asarray(image)
        channels_last = pixels if pixels.ndim == 3 else pixels[:, :, None]
        batch = np.ascontiguousarray(channels_last.transpose(2, 0, 1)[None])
        return batch, _to_pil
    if isinstance(image, Tensor):
        array, device = host_array(image), image.device
    elif isinstance(image, np.ndarray):
        array, device = image, None
    else:
        raise TypeError(f"{where}: expected an image or a batch of images as a numpy.ndarray, an mg.Tensor or a "
                        f"PIL image, got {type(image).__name__}")
    if array.ndim not in (2, 3, 4):
        raise ValueError(f"{where}: expected an image (H, W) or (C, H, W) or a batch (N, C, H, W), "
                         f"got shape {array.shape}")
    shape = array.shape
    batch = np.ascontiguousarray(array.reshape((1,) * (4 - array.ndim) + shape))

    def restore(result):
        result = result.reshape(result.shape[4 - len(shape):]) if len(shape) < 4 else result
        if device is None:
            return result
        tensor = from_numpy(result)
        return tensor if device == "cpu" else tensor.to(device)

    return batch, restore


def _to_pil(batch):
    from PIL import Image

    pixels = batch[0].transpose(1, 2, 0)
    return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels))


def fill_values(fill, channels, dtype, where):
    """``fill`` (a number, or one per channel) as a (C,) array of ``dtype``."""
    values = np.atleast_1d(np.asarray(fill, dtype=np.float64))
    if values.ndim != 1 or len(values) not in (1, channels):
        raise ValueError(f"{where}: fill must be a number or one value per channel ({channels}), got {fill!r}")
    values = np.broadcast_to(values, (channels,))
    if np.issubdtype(dtype, np.integer):
        values = np.clip(np.round(values), np.iinfo(dtype).min, np.iinfo(dtype).max)
    return np.ascontiguousarray(values, dtype=dtype)
