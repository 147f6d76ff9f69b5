"""``mg.data.transforms``: torchvision's image transforms with its names, arguments and defaults, batched.

    train = T.Compose([T.RandomCrop(28, padding=2), T.RandomRotation(10), T.Normalize((0.1307,), (0.3081,))])
    loader = mg.data.DataLoader((images, labels), batch_size=100, shuffle=True, transform=train)

Each transform takes one image, (H, W) or (C, H, W), or a batch (N, C, H, W), as a NumPy array or
an mg.Tensor (or a PIL image, as torchvision's do), and gives back the same kind and layout. On a
batch each image draws its own random parameters, and the whole batch goes through one Numba kernel
(minigrad/kernels/cpu/augment.py): no Python loop per image. The draws come from minigrad's
generator, so ``mg.manual_seed`` makes them repeatable. Geometry follows torchvision's tensor path
(rotation about the image centre, positive angles counter-clockwise; the default interpolation is
nearest, as there). A CUDA tensor goes through the CPU kernels on a host copy and comes back on the
GPU (kernels/cuda/augment.py has the twins; minigrad/backend/ does not route to them yet). Not
supported: ``RandomRotation(expand=True)`` (each image of a batch would have its own size).
"""
import enum
import numbers

import numpy as np

from .. import backend, random_state
from ..creation import from_numpy
from ..tensor import Tensor
from .collate import batch_dtype, host_array
from .image_batches import as_batch, fill_values, is_pil_image
from .transform_arguments import angle_range, check_sequence, crop_size, padding_sides

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
           "RandomRotation", "RandomAffine", "InterpolationMode"]


class InterpolationMode(enum.Enum):
    """How a geometric transform samples between pixels (torchvision's enum; its strings are accepted too)."""
    NEAREST = "nearest"
    BILINEAR = "bilinear"


# PIL's integer constants for the two filters, which torchvision also accepts.
_PIL_FILTERS = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR}


def _interpolation(value, where):
    if isinstance(value, int) and value in _PIL_FILTERS:
        return _PIL_FILTERS[value]
    try:
        return InterpolationMode(value.value if isinstance(value, enum.Enum) else value)
    except ValueError:
        raise ValueError(f"{where}: interpolation must be InterpolationMode.NEAREST or BILINEAR, "
                         f"got {value!r}") from None


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image

    def __repr__(self):
        return "Compose(\n" + "".join(f"    {transform}\n" for transform in self.transforms) + ")"


class ToTensor:
    """A PIL image or an array (H, W) / (H, W, C) as an mg.Tensor (C, H, W); uint8 becomes float32 / 255.

    A 4-D array (N, H, W, C) gives a batch (N, C, H, W) (a minigrad extension). Other dtypes keep
    their values, as torchvision's ToTensor does."""

    def __call__(self, pic):
        if is_pil_image(pic):
            pic = np.asarray(pic)
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"ToTensor: pic should be a PIL Image or a numpy.ndarray, got {type(pic).__name__}")
        if pic.ndim not in (2, 3, 4):
            raise ValueError(f"ToTensor: pic should be 2/3 dimensional (or a 4-D batch), got shape {pic.shape}")
        channels_last = pic[..., None] if pic.ndim == 2 else pic
        moved = np.ascontiguousarray(np.moveaxis(channels_last, -1, -3))
        if moved.dtype == np.uint8:
            # Divide (not multiply by 1/255): the values match torchvision's bit for bit.
            return from_numpy(np.divide(moved, np.float32(255), dtype=np.float32))
        return from_numpy(moved.astype(batch_dtype(moved, "ToTensor"), copy=False))

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(image - mean[c]) / std[c]`` per channel of a float image or batch (..., C, H, W)."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        array = host_array(tensor) if isinstance(tensor, Tensor) else tensor
        if not isinstance(array, np.ndarray):
            raise TypeError(f"Normalize: expected an mg.Tensor or a numpy.ndarray, got {type(tensor).__name__}")
        if array.dtype.kind != "f":
            raise TypeError(f"Normalize: input should be a float tensor, got {array.dtype}")
        if array.ndim < 3:
            raise ValueError(f"Normalize: expected an image of size (..., C, H, W), got shape {array.shape}")
        channels = array.shape[-3]
        mean, std = (np.asarray(values, dtype=array.dtype).reshape(-1) for values in (self.mean, self.std))
        for name, values in (("mean", mean), ("std", std)):
            if len(values) not in (1, channels):
                raise ValueError(f"Normalize: {name} has {len(values)} values, the image has {channels} channel(s)")
        if (std == 0).any():
            raise ValueError(f"Normalize: std evaluated to zero after conversion to {array.dtype}, "
                             "leading to division by zero")
        mean, std = mean[:, None, None], std[:, None, None]
        on_gpu = isinstance(tensor, Tensor) and tensor.device != "cpu"  # ``array`` is then a host copy
        if self.inplace:
            np.subtract(array, mean, out=array)
            np.divide(array, std, out=array)
            if on_gpu:
                tensor.data[...] = array
            return tensor
        result = (array - mean) / std
        if not isinstance(tensor, Tensor):
            return result
        return from_numpy(result).to(tensor.device) if on_gpu else from_numpy(result)

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomCrop:
    """A ``size`` window at a random place of each image, after ``padding`` (left, top, right, bottom).

    ``padding``: a number (every side), (left/right, top/bottom) or (left, top, right, bottom);
    ``pad_if_needed`` pads an image smaller than ``size``; ``padding_mode``: constant (with ``fill``),
    edge, reflect or symmetric."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = crop_size(size, "RandomCrop")
        self.padding = padding
        self.sides = padding_sides(padding, "RandomCrop")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: padding_mode should be constant, edge, reflect or symmetric, "
                             f"got {padding_mode!r}")
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError(f"RandomCrop: fill should be a number or a sequence, got {type(fill).__name__}")
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    def __call__(self, image):
        batch, restore = as_batch(image, "RandomCrop")
        count, channels, height, width = batch.shape
        left, top, right, bottom = self.sides
        self._check_reflection(left, top, right, bottom, height, width)
        fill = fill_values(self.fill, channels, batch.dtype, "RandomCrop")
        (target_height, target_width) = self.size
        extra_height = max(0, target_height - (height + top + bottom)) if self.pad_if_needed else 0
        extra_width = max(0, target_width - (width + left + right)) if self.pad_if_needed else 0
        if (extra_height or extra_width) and self.padding_mode in ("reflect", "symmetric") and any(self.sides):
            # torchvision pads twice, the second time reflecting the first padding: do the same.
            batch = _crop(batch, np.full(count, -top), np.full(count, -left), (height + top + bottom,
                          width + left + right), self.padding_mode, fill)
            count, channels, height, width = batch.shape
            left = top = right = bottom = 0
        top, left = top + extra_height, left + extra_width
        self._check_reflection(left, top, left, top, height, width)
        padded = (height + top + bottom + extra_height, width + left + right + extra_width)
        if padded[0] < target_height or padded[1] < target_width:
            raise ValueError(f"RandomCrop: required crop size {self.size} is larger than the (padded) input "
                             f"image size {padded}")
        generator = random_state.generator()
        tops = generator.integers(0, padded[0] - target_height + 1, size=count) - top
        lefts = generator.integers(0, padded[1] - target_width + 1, size=count) - left
        return restore(_crop(batch, tops, lefts, self.size, self.padding_mode, fill))

    def _check_reflection(self, left, top, right, bottom, height, width):
        """One reflection must reach: padding below the size (reflect) or at most the size (symmetric)."""
        limit = {"reflect": -1, "symmetric": 0}.get(self.padding_mode)
        if limit is not None and (max(left, right) > width + limit or max(top, bottom) > height + limit):
            raise ValueError(f"RandomCrop: padding {(left, top, right, bottom)} is too large for {self.padding_mode} "
                             f"padding of an image of size {(height, width)}")

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


def _crop(batch, tops, lefts, size, padding_mode, fill):
    out = np.empty(batch.shape[:2] + tuple(size), dtype=batch.dtype)
    backend.kernels("augment").crop(batch, tops.astype(np.int64), lefts.astype(np.int64), padding_mode, fill, out)
    return out


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``."""
    vertical = False

    def __init__(self, p=0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be a probability in [0, 1], got {p}")
        self.p = p

    def __call__(self, image):
        batch, restore = as_batch(image, type(self).__name__)
        flags = random_state.generator().random(len(batch)) < self.p
        out = np.empty_like(batch)
        backend.kernels("augment").flip(batch, flags, self.vertical, out)
        return restore(out)

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror each image upside down with probability ``p``."""
    vertical = True


class _Resampling:
    """What RandomAffine and RandomRotation share: draw each image's parameters, build its matrix, resample."""

    def __init__(self, degrees, interpolation, fill, center):
        where = type(self).__name__
        self.degrees = angle_range(degrees, "degrees", where, (2,))
        self.interpolation = _interpolation(interpolation, where)
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError(f"{where}: fill should be a number or a sequence, got {type(fill).__name__}")
        if center is not None:
            check_sequence(center, "center", where, (2,))
        self.fill, self.center = fill, center

    def __call__(self, image):
        batch, restore = as_batch(image, type(self).__name__)
        count, channels, height, width = batch.shape
        angles, translations, scales, shears = self.parameters(count, height, width)
        matrices = sampling_matrices(angles, translations, scales, shears, self.center, height, width)
        return restore(resample(batch, matrices, self.fill, self.interpolation, type(self).__name__))


class RandomAffine(_Resampling):
    """Rotate by an angle in ``degrees``, translate by up to ``translate`` (fractions of width, height),
    scale by a factor in ``scale`` and shear by angles in ``shear``, each drawn per image, about the
    centre (or ``center``, (x, y) in pixels); ``fill`` outside the image."""

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation=InterpolationMode.NEAREST,
                 fill=0, center=None):
        super().__init__(degrees, interpolation, fill, center)
        where = type(self).__name__
        if translate is not None:
            check_sequence(translate, "translate", where, (2,))
            if not all(0.0 <= value <= 1.0 for value in translate):
                raise ValueError(f"{where}: translate values should be between 0 and 1, got {translate}")
        if scale is not None:
            check_sequence(scale, "scale", where, (2,))
            if not all(value > 0 for value in scale):
                raise ValueError(f"{where}: scale values should be positive, got {scale}")
        self.shear = None if shear is None else angle_range(shear, "shear", where, (2, 4))
        self.translate, self.scale = translate, scale

    def parameters(self, count, height, width):
        """Each image's (angle, translation x, y, scale, shear x, y), drawn as torchvision's get_params."""
        generator = random_state.generator()
        angles = generator.uniform(*self.degrees, size=count)
        translations = np.zeros((2, count))
        if self.translate is not None:
            for axis, size in enumerate((width, height)):
                limit = self.translate[axis] * size
                translations[axis] = np.rint(generator.uniform(-limit, limit, size=count))
        scales = generator.uniform(*self.scale, size=count) if self.scale is not None else np.ones(count)
        shears = np.zeros((2, count))
        if self.shear is not None:
            shears[0] = generator.uniform(*self.shear[:2], size=count)
            if len(self.shear) == 4:
                shears[1] = generator.uniform(*self.shear[2:], size=count)
        return angles, translations, scales, shears

    def __repr__(self):
        return (f"{type(self).__name__}(degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"shear={self.shear}, interpolation={self.interpolation.value}, fill={self.fill})")


class RandomRotation(_Resampling):
    """Rotate each image by an angle drawn from ``degrees`` (a number d means (-d, d)), counter-clockwise,
    about the centre (or ``center``); ``fill`` outside the image."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0):
        if expand:
            raise ValueError("RandomRotation: expand=True is not supported: the images of a batch would each "
                             "have their own size")
        super().__init__(degrees, interpolation, fill, center)
        self.expand = expand

    def parameters(self, count, height, width):
        # torchvision's rotate passes -angle to the affine matrix: positive angles turn counter-clockwise.
        angles = -random_state.generator().uniform(*self.degrees, size=count)
        return angles, np.zeros((2, count)), np.ones(count), np.zeros((2, count))

    def __repr__(self):
        return (f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation.value}, "
                f"expand={self.expand}, fill={self.fill})")


def sampling_matrices(angles, translations, scales, shears, center, height, width):
    """(N, 2, 3): for output pixel (column j, row i), the input position (x, y) = M @ (j, i, 1).

    torchvision's inverse affine matrix (``_get_inverse_affine_matrix``: about the centre, in
    coordinates centred on the image), then moved to pixel indices, where the centre is
    ((W - 1) / 2, (H - 1) / 2) as grid_sample with align_corners=False places it."""
    rotation, shear_x, shear_y = np.radians(angles), np.radians(shears[0]), np.radians(shears[1])
    a = np.cos(rotation - shear_y) / np.cos(shear_y)
    b = -np.cos(rotation - shear_y) * np.tan(shear_x) / np.cos(shear_y) - np.sin(rotation)
    c = np.sin(rotation - shear_y) / np.cos(shear_y)
    d = -np.sin(rotation - shear_y) * np.tan(shear_x) / np.cos(shear_y) + np.cos(rotation)
    centre_x, centre_y = (0.0, 0.0) if center is None else (center[0] - width * 0.5, center[1] - height * 0.5)
    matrices = np.empty((len(angles), 2, 3))
    matrices[:, 0, 0], matrices[:, 0, 1] = d / scales, -b / scales
    matrices[:, 1, 0], matrices[:, 1, 1] = -c / scales, a / scales
    shift_x, shift_y = -centre_x - translations[0], -centre_y - translations[1]
    matrices[:, 0, 2] = matrices[:, 0, 0] * shift_x + matrices[:, 0, 1] * shift_y + centre_x
    matrices[:, 1, 2] = matrices[:, 1, 0] * shift_x + matrices[:, 1, 1] * shift_y + centre_y
    # Centred coordinates -> pixel indices: x_centred = j - (W-1)/2 on the way in, x = x_centred + (W-1)/2 out.
    half_width, half_height = (width - 1) / 2, (height - 1) / 2
    for row, half in ((0, half_width), (1, half_height)):
        matrices[:, row, 2] += half - matrices[:, row, 0] * half_width - matrices[:, row, 1] * half_height
    return matrices


def resample(batch, matrices, fill, interpolation, where):
    """The batch resampled at ``matrices``; integer images go through float32 and are rounded back."""
    channels, dtype = batch.shape[1], batch.dtype
    fill = fill_values(fill, channels, np.float64, where)
    floating = batch if dtype in (np.float32, np.float64) else batch.astype(np.float32)
    out = np.empty_like(floating)
    backend.kernels("augment").affine(floating, np.ascontiguousarray(matrices), fill,
                                      interpolation is InterpolationMode.NEAREST, out)
    if floating is batch:
        return out
    if dtype == np.bool_:
        return out >= 0.5
    limits = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    rounded = np.rint(out) if limits is not None else out
    return (np.clip(rounded, limits.min, limits.max) if limits is not None else rounded).astype(dtype)

