"""mg.data.transforms: exact crops and flips, rotations and affine maps against a per-pixel reference built
from torchvision's documented matrix, each image of a batch drawing its own parameters, the kinds of
input (array, Tensor, PIL; single image or batch), seeding, and errors naming the transform and argument."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import transforms as T

from test_kernels_augment import reference_affine


def images_of(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def window_offsets(padded, window):
    """Every (row, column) where ``window`` sits in ``padded`` (C, H, W)."""
    height, width = window.shape[1:]
    return [(row, column) for row in range(padded.shape[1] - height + 1)
            for column in range(padded.shape[2] - width + 1)
            if np.array_equal(padded[:, row:row + height, column:column + width], window)]


@pytest.mark.parametrize("padding_mode", ["constant", "edge", "reflect", "symmetric"])
def test_random_crop_cuts_a_window_of_the_padded_image_per_image(padding_mode):
    batch = images_of((24, 2, 9, 7))
    mg.manual_seed(0)
    out = T.RandomCrop((8, 5), padding=(1, 2, 3, 1), padding_mode=padding_mode, fill=0.5)(batch)
    assert out.shape == (24, 2, 8, 5) and out.dtype == np.float32
    options = {"constant_values": 0.5} if padding_mode == "constant" else {}
    offsets = set()
    for image, window in zip(batch, out):
        padded = np.pad(image, ((0, 0), (2, 1), (1, 3)), mode=padding_mode, **options)
        (offset,) = window_offsets(padded, window)
        offsets.add(offset)
    assert len(offsets) > 5  # each image drew its own place


def test_random_crop_pad_if_needed_and_exact_size():
    image = images_of((1, 3, 4))
    mg.manual_seed(1)
    out = T.RandomCrop((5, 6), pad_if_needed=True)(image)
    padded = np.pad(image, ((0, 0), (1, 1), (2, 2)))  # torchvision pads both sides by the shortfall
    assert out.shape == (1, 5, 6) and window_offsets(padded, out)
    np.testing.assert_array_equal(T.RandomCrop((3, 4))(image), image)
    twice = T.RandomCrop((9, 9), padding=1, pad_if_needed=True, padding_mode="reflect")(image)
    padded = np.pad(np.pad(image, ((0, 0), (1, 1), (1, 1)), mode="reflect"), ((0, 0), (4, 4), (3, 3)), mode="reflect")
    assert window_offsets(padded, twice)


def test_flips_mirror_some_images_and_leave_the_others():
    batch = images_of((40, 3, 5, 6))
    mg.manual_seed(2)
    out = T.RandomHorizontalFlip()(batch)
    flipped = [np.array_equal(window, image[..., ::-1]) for window, image in zip(out, batch)]
    kept = [np.array_equal(window, image) for window, image in zip(out, batch)]
    assert all(one != other for one, other in zip(flipped, kept)) and 5 < sum(flipped) < 35
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1)(batch), batch[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0)(batch), batch)
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1)(batch), batch[..., ::-1, :])


def forward_matrix(angle, translate, scale, shear, centre):
    """torchvision's documented forward map M = T * C * R(a) * S(s) * SHy(sy) * SHx(sx) * C^-1 (3x3)."""
    a, shear_x, shear_y = (math.radians(value) for value in (angle, *shear))
    rotation = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    shear_matrix_y = np.array([[1, 0, 0], [-math.tan(shear_y), 1, 0], [0, 0, 1]])
    shear_matrix_x = np.array([[1, -math.tan(shear_x), 0], [0, 1, 0], [0, 0, 1]])
    move = np.array([[1, 0, centre[0] + translate[0]], [0, 1, centre[1] + translate[1]], [0, 0, 1]])
    back = np.array([[1, 0, -centre[0]], [0, 1, -centre[1]], [0, 0, 1]])
    return move @ rotation @ np.diag([scale, scale, 1]) @ shear_matrix_y @ shear_matrix_x @ back


def reference_matrix(height, width, angle=0.0, translate=(0, 0), scale=1.0, shear=(0.0, 0.0)):
    """Output pixel (j, i) -> input position, with pixel centres at (W-1)/2, (H-1)/2 as grid_sample's."""
    centre = ((width - 1) / 2, (height - 1) / 2)
    return np.linalg.inv(forward_matrix(angle, translate, scale, shear, centre))[:2]


@pytest.mark.parametrize("interpolation", [T.InterpolationMode.NEAREST, T.InterpolationMode.BILINEAR])
@pytest.mark.parametrize("shape", [(2, 3, 11, 8), (1, 1, 6, 13)])
def test_rotation_and_affine_match_the_reference(interpolation, shape):
    batch = images_of(shape)
    rotated = T.RandomRotation((25, 25), interpolation=interpolation, fill=0.25)(batch)
    matrices = np.array([reference_matrix(*shape[2:], angle=-25)] * shape[0])
    expected = reference_affine(batch.astype(np.float64), matrices, np.full(shape[1], 0.25),
                                interpolation is T.InterpolationMode.NEAREST)
    np.testing.assert_allclose(rotated, expected, atol=1e-6)
    transform = T.RandomAffine((-40, -40), scale=(1.2, 1.2), shear=(10, 10, -5, -5), interpolation=interpolation)
    matrices = np.array([reference_matrix(*shape[2:], angle=-40, scale=1.2, shear=(10, -5))] * shape[0])
    expected = reference_affine(batch.astype(np.float64), matrices, np.zeros(shape[1]),
                                interpolation is T.InterpolationMode.NEAREST)
    np.testing.assert_allclose(transform(batch), expected, atol=1e-6)


def test_rotation_by_90_degrees_turns_counter_clockwise_as_rot90():
    for size in (5, 6):
        batch = images_of((2, 3, size, size))
        np.testing.assert_array_equal(T.RandomRotation((90, 90))(batch), np.rot90(batch, 1, axes=(2, 3)))


def test_each_image_draws_its_own_rotation_and_translation():
    image = images_of((1, 1, 12, 12))
    batch = np.repeat(image, 16, axis=0)
    rotated = T.RandomRotation(30, interpolation="bilinear")(batch)
    assert len({rotated[index].tobytes() for index in range(16)}) == 16
    shifted = T.RandomAffine(0, translate=(0.25, 0.1), interpolation="bilinear")(batch)  # exact only if whole
    shifts = set()
    for window in shifted[:, 0]:
        found = [(dy, dx) for dy in range(-1, 2) for dx in range(-3, 4)
                 if np.array_equal(window[max(dy, 0):12 + min(dy, 0), max(dx, 0):12 + min(dx, 0)],
                                   image[0, 0, max(-dy, 0):12 + min(-dy, 0), max(-dx, 0):12 + min(-dx, 0)])]
        assert found  # an integer shift within the range: torchvision rounds its translations
        shifts.add(found[0])
    assert len(shifts) > 3


def test_draws_follow_manual_seed():
    batch = images_of((8, 1, 10, 10))
    transform = T.Compose([T.RandomCrop(10, padding=2), T.RandomHorizontalFlip(),
                           T.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5)])
    mg.manual_seed(7)
    first = transform(batch)
    mg.manual_seed(7)
    np.testing.assert_array_equal(transform(batch), first)
    assert not np.array_equal(transform(batch), first)


def test_one_image_a_batch_a_tensor_and_a_pil_image():
    batch = images_of((3, 2, 9, 7))
    transform = T.RandomCrop(5, padding=1)
    assert transform(batch[0]).shape == (2, 5, 5) and transform(batch[0, 0]).shape == (5, 5)
    tensor = transform(mg.tensor(batch))
    assert isinstance(tensor, mg.Tensor) and tensor.shape == (3, 2, 5, 5) and tensor.dtype == mg.float32
    integers = (batch * 255).astype(np.uint8)
    rotated = T.RandomRotation(20, interpolation=T.InterpolationMode.BILINEAR)(integers)
    assert rotated.dtype == np.uint8 and rotated.shape == integers.shape
    image = pytest.importorskip("PIL.Image").fromarray(integers[0, 0])
    cropped = T.RandomCrop(4)(image)
    assert type(cropped).__module__.startswith("PIL") and cropped.size == (4, 4)
    assert window_offsets(integers[0, :1], np.asarray(cropped)[None])
    tensor = T.Compose([T.RandomHorizontalFlip(), T.ToTensor()])(image)
    assert tensor.shape == (1, 9, 7) and tensor.dtype == mg.float32


def test_to_tensor_as_torchvision():
    torch = pytest.importorskip("torch")
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    expected = torch.from_numpy(pixels).permute(2, 0, 1).contiguous().to(torch.float32).div(255).numpy()
    np.testing.assert_array_equal(T.ToTensor()(pixels).numpy(), expected)  # bit for bit
    assert T.ToTensor()(pixels[..., 0]).shape == (1, 5, 7)
    assert T.ToTensor()(np.stack([pixels] * 2)).shape == (2, 3, 5, 7)  # a batch (N, H, W, C)
    assert T.ToTensor()(pixels.astype(np.float64)).dtype == mg.float64  # other dtypes keep their values
    with pytest.raises(TypeError, match="ToTensor: pic should be a PIL Image or a numpy.ndarray, got list"):
        T.ToTensor()([1, 2])
    with pytest.raises(ValueError, match=r"ToTensor: pic should be 2/3 dimensional.*\(4,\)"):
        T.ToTensor()(np.zeros(4, np.uint8))


def test_normalize_as_torchvision():
    torch = pytest.importorskip("torch")
    batch = images_of((4, 3, 5, 6))
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    expected = torch.from_numpy(batch.copy()).sub_(torch.tensor(mean).view(-1, 1, 1)).div_(
        torch.tensor(std).view(-1, 1, 1)).numpy()
    np.testing.assert_allclose(T.Normalize(mean, std)(batch), expected, rtol=1e-6)
    np.testing.assert_allclose(T.Normalize(mean, std)(mg.tensor(batch[0])).numpy(), expected[0], rtol=1e-6)
    in_place = batch.copy()
    assert T.Normalize(mean, std, inplace=True)(in_place) is in_place
    np.testing.assert_allclose(in_place, expected, rtol=1e-6)
    with pytest.raises(TypeError, match="Normalize: input should be a float tensor, got int64"):
        T.Normalize(mean, std)(np.zeros((3, 2, 2), np.int64))
    with pytest.raises(ValueError, match="Normalize: std evaluated to zero"):
        T.Normalize(mean, (1, 0, 1))(batch)
    with pytest.raises(ValueError, match="Normalize: mean has 3 values, the image has 1 channel"):
        T.Normalize(mean, std)(batch[:, :1])
    with pytest.raises(ValueError, match=r"Normalize: expected an image of size \(..., C, H, W\), got shape \(5, 6\)"):
        T.Normalize(mean, std)(batch[0, 0])


def test_errors_name_the_transform_and_the_argument():
    cases = [
        (lambda: T.RandomCrop((2, 3, 4)), ValueError, "RandomCrop: size should be a number or"),
        (lambda: T.RandomCrop(0), ValueError, "RandomCrop: size should hold positive integers"),
        (lambda: T.RandomCrop(3, padding=(1, 2, 3)), ValueError, "RandomCrop: padding must be a number or a 1, 2 or 4"),
        (lambda: T.RandomCrop(3, padding=-1), ValueError, "RandomCrop: padding must hold non-negative"),
        (lambda: T.RandomCrop(3, padding_mode="wrap"), ValueError, "RandomCrop: padding_mode should be"),
        (lambda: T.RandomCrop(9)(np.zeros((1, 4, 4))), ValueError, r"RandomCrop: required crop size \(9, 9\)"),
        (lambda: T.RandomCrop(4, padding=4, padding_mode="reflect")(np.zeros((1, 4, 4))), ValueError,
         "RandomCrop: padding .* is too large for reflect"),
        (lambda: T.RandomCrop(2, fill=(1, 2))(np.zeros((3, 4, 4))), ValueError,
         r"RandomCrop: fill must be a number or one value per channel \(3\)"),
        (lambda: T.RandomCrop(2)(np.zeros((1, 1, 1, 4, 4))), ValueError,
         r"RandomCrop: expected an image .*\(1, 1, 1, 4, 4\)"),
        (lambda: T.RandomCrop(2)("image"), TypeError, "RandomCrop: expected an image or a batch"),
        (lambda: T.RandomRotation(-5), ValueError,
         "RandomRotation: if degrees is a single number, it must be positive"),
        (lambda: T.RandomRotation((1, 2, 3)), ValueError, "RandomRotation: degrees should be a sequence of length 2"),
        (lambda: T.RandomRotation(5, expand=True), ValueError, "RandomRotation: expand=True is not supported"),
        (lambda: T.RandomRotation(5, center=(1,)), ValueError,
         "RandomRotation: center should be a sequence of length 2"),
        (lambda: T.RandomRotation(5, interpolation="bicubic"), ValueError, "RandomRotation: interpolation must be"),
        (lambda: T.RandomAffine(5, translate=(0.1, 1.5)), ValueError,
         "RandomAffine: translate values should be between"),
        (lambda: T.RandomAffine(5, scale=(0, 1)), ValueError, "RandomAffine: scale values should be positive"),
        (lambda: T.RandomAffine(5, shear=(1, 2, 3)), ValueError,
         "RandomAffine: shear should be a sequence of length 2 or 4"),
        (lambda: T.RandomAffine(5, fill="white"), TypeError, "RandomAffine: fill should be a number or a sequence"),
        (lambda: T.RandomHorizontalFlip(p=2), ValueError, r"RandomHorizontalFlip: p must be a probability in \[0, 1\]"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=message):
            make()


def test_reprs_and_compose():
    transform = T.Compose([T.RandomCrop(28, padding=2), T.RandomRotation(10)])
    assert repr(transform).splitlines() == [
        "Compose(", "    RandomCrop(size=(28, 28), padding=2)",
        "    RandomRotation(degrees=[-10.0, 10.0], interpolation=nearest, expand=False, fill=0)", ")"]
    assert T.RandomRotation(3, interpolation=2).interpolation is T.InterpolationMode.BILINEAR  # PIL's constant


def test_a_transform_on_the_loader_runs_once_per_batch_on_the_arrays_path():
    images = images_of((10, 1, 8, 8))
    labels = np.arange(10)
    transform = T.Compose([T.RandomCrop(6, padding=1), T.RandomRotation(5)])
    batches = list(mg.data.DataLoader((images, labels), batch_size=4, transform=transform))
    assert [tuple(x.shape) for x, _ in batches] == [(4, 1, 6, 6), (4, 1, 6, 6), (2, 1, 6, 6)]
    assert all(x.dtype == mg.float32 for x, _ in batches) and batches[2][1].tolist() == [8, 9]
    pixels = (images.transpose(0, 2, 3, 1) * 255).astype(np.uint8)  # (N, H, W, C) uint8, as CIFAR's arrays
    dataset = mg.data.TensorDataset(pixels, labels)
    x, y = next(iter(mg.data.DataLoader(dataset, batch_size=4, transform=T.ToTensor())))
    assert x.shape == (4, 1, 8, 8) and x.dtype == mg.float32 and y.dtype == mg.int64
    np.testing.assert_array_equal(x.numpy(), pixels[:4].transpose(0, 3, 1, 2) / np.float32(255))
