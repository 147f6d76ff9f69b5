"""mg.plot: figures land as valid image files, atomically, without touching pyplot's global state."""
import os
import subprocess
import sys
import warnings

import matplotlib
import matplotlib.image
import numpy as np
import pytest

import minigrad as mg
from minigrad import plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    with open(path, "rb") as file:
        assert file.read(8) == PNG_SIGNATURE
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 0 and pixels.shape[1] > 0


def full_history(steps=300):
    rng = np.random.default_rng(0)
    step = np.arange(steps)
    return {
        "train": {
            "step": step.tolist(),
            "loss": (2.3 * np.exp(-step / 50) + 0.1 * rng.random(steps)).tolist(),
            "accuracy": (1 - 0.9 * np.exp(-step / 40)).tolist(),
        },
        "test": {"step": [99, 199, 299], "loss": [0.6, 0.4, 0.3], "accuracy": [0.85, 0.9, 0.92]},
    }


def classified_samples(count=23, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((count, 1, 8, 8)).astype(np.float32)
    true = rng.integers(0, 10, count)
    predicted = true.copy()
    predicted[::3] = (predicted[::3] + 1) % 10  # every third one wrong
    return images, predicted, true


@pytest.fixture
def captured_figures(monkeypatch):
    """Figures the plot functions would have saved, kept for inspection instead of written."""
    figures = []

    def keep(figure, path, dpi):
        figures.append(figure)
        return path

    monkeypatch.setattr(plot, "_save_atomically", keep)
    return figures


# --- training_curves -----------------------------------------------------------------------------


def test_training_curves_writes_a_png_and_returns_its_path(tmp_path):
    path = tmp_path / "curves.png"
    assert plot.training_curves(full_history(), path) == str(path)
    assert_png(path)


def test_training_curves_draws_a_panel_per_metric_with_labels_and_legend(captured_figures):
    plot.training_curves(full_history(), "curves.png", title="MNIST CNN")
    (figure,) = captured_figures
    loss_axes, accuracy_axes = figure.axes
    assert figure.get_suptitle() == "MNIST CNN"
    assert (loss_axes.get_title(), accuracy_axes.get_title()) == ("loss", "accuracy")
    assert loss_axes.get_xlabel() == accuracy_axes.get_xlabel() == "training step"
    assert (loss_axes.get_ylabel(), accuracy_axes.get_ylabel()) == ("loss", "accuracy")
    for axes in (loss_axes, accuracy_axes):
        legend_labels = [text.get_text() for text in axes.get_legend().get_texts()]
        # 300 training points smoothed over 300 // 25; the test split beside them, once per epoch
        assert legend_labels == ["train, each step", "train, moving average of 12 steps", "test, end of each epoch"]
        raw, smoothed, test = axes.lines  # every line is in the legend
        assert raw.get_alpha() < 1 and smoothed.get_alpha() is None  # the raw steps faint under their average
        assert test.get_marker() == "o" and test.get_markersize() >= 5  # a mark at each epoch's point
        np.testing.assert_array_equal(test.get_xdata(), [99, 199, 299])
        assert test.get_zorder() > smoothed.get_zorder()  # drawn over the training curve


def test_training_curves_says_when_the_sparse_split_was_measured(captured_figures):
    history = full_history()
    history["train"]["step"] = list(range(0, 3000, 10))  # logged every 10 steps
    plot.training_curves(history, "curves.png", evaluated="every 1000 steps")
    plot.training_curves(history, "curves.png", evaluated=None, smoothing=5)
    first, second = ([text.get_text() for text in figure.axes[0].get_legend().get_texts()] for figure in captured_figures)
    assert first == ["train, every 10 steps", "train, moving average of 12 values", "test, every 1000 steps"]
    assert second == ["train, every 10 steps", "train, moving average of 5 values", "test"]


def test_training_curves_with_only_short_series_draws_markers_and_bare_names(captured_figures):
    history = {"train": {"step": [1, 2, 3], "loss": [3.0, 2.0, 1.0]}, "test": {"step": [3], "loss": [1.5]}}
    plot.training_curves(history, "curves.png")
    axes = captured_figures[0].axes[0]
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["train", "test"]
    assert all(line.get_marker() == "o" for line in axes.lines)  # a single test point still shows


def test_training_curves_with_loss_only_and_no_steps_has_one_panel(tmp_path, captured_figures):
    plot.training_curves({"train": {"loss": [3.0, 2.0, 1.5, 1.2]}}, tmp_path / "loss.png")
    (figure,) = captured_figures
    assert len(figure.axes) == 1
    np.testing.assert_array_equal(figure.axes[0].lines[0].get_xdata(), [0, 1, 2, 3])


def test_training_curves_accepts_tensors_and_lists_of_scalar_tensors(tmp_path):
    history = {
        "train": {"step": mg.arange(4), "loss": [mg.tensor(v) for v in (2.0, 1.0, 0.5, 0.4)]},
        "test": {"step": [3], "accuracy": mg.tensor([0.9])},
    }
    assert_png(plot.training_curves(history, tmp_path / "curves.png"))


def test_moving_average_is_trailing_and_keeps_the_length():
    np.testing.assert_allclose(plot._moving_average([1.0, 2.0, 3.0, 4.0], 2), [1.0, 1.5, 2.5, 3.5])


@pytest.mark.parametrize(
    ("history", "error", "message"),
    [
        ([1, 2, 3], TypeError, "history must be a dict"),
        ({"train": [1.0, 2.0]}, TypeError, r"history\['train'\] must be a dict"),
        ({"train": {"step": [0, 1], "loss": [1.0, 2.0, 3.0]}}, ValueError, r"'loss'\] has 3 values but its 'step' has 2"),
        ({"train": {"acc": [0.5]}}, ValueError, r"unknown keys \['acc'\]"),
        ({"train": {"step": [0, 1]}}, ValueError, "no 'loss' or 'accuracy'"),
    ],
)
def test_training_curves_bad_history_raises(tmp_path, history, error, message):
    with pytest.raises(error, match=message):
        plot.training_curves(history, tmp_path / "curves.png")
    assert list(tmp_path.iterdir()) == []


# --- sample_grid ---------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["N1HW", "NHW", "tensor"])
def test_sample_grid_writes_a_png_for_each_image_layout(tmp_path, layout):
    images, predicted, true = classified_samples()
    if layout == "NHW":
        images = images[:, 0]
    elif layout == "tensor":
        images, predicted, true = mg.tensor(images), mg.tensor(predicted), mg.tensor(true)
    assert_png(plot.sample_grid(images, predicted, true, tmp_path / "samples.png"))


def test_sample_grid_marks_wrong_tiles_by_words_and_frame_not_only_colour(captured_figures):
    images, predicted, true = classified_samples(count=23)
    plot.sample_grid(images, predicted, true, "samples.png", columns=5, max_images=12)
    (figure,) = captured_figures
    assert len(figure.axes) == 15  # 3 rows of 5, the last 3 cells empty
    shown = [axes for axes in figure.axes if axes.images]
    assert len(shown) == 12
    assert all(not axes.axison for axes in figure.axes if not axes.images)
    for index, axes in enumerate(shown):
        right = predicted[index] == true[index]
        if right:
            assert axes.get_title() == f"{predicted[index]} \u2713"
        else:
            assert axes.get_title() == f"{predicted[index]} \u2717 (true {true[index]})"
        assert axes.title.get_color() == (plot.RIGHT_COLOUR if right else plot.WRONG_COLOUR)
        spines = list(axes.spines.values())
        assert all(spine.get_visible() != right for spine in spines)  # a frame only around wrong ones...
        if not right:
            assert all(spine.get_linestyle() not in ("-", "solid") and spine.get_linewidth() >= 2 for spine in spines)
            assert all(spine.get_linestyle() == plot.WRONG_FRAME["linestyle"] for spine in spines)  # ...dashed
        assert not axes.get_xticks().size and not axes.get_yticks().size
    assert figure.get_suptitle().splitlines()[0] == "test images: 8 of 12 predicted right"
    key = " ".join(figure.get_suptitle().split())  # wrapped to the figure's width
    assert "\u2713 if right" in key and "\u2717 (true class) in a dashed frame if wrong" in key


def test_sample_grid_names_other_splits_and_keeps_a_given_title(captured_figures):
    images, predicted, true = classified_samples(count=4)
    plot.sample_grid(images, predicted, true, "samples.png", split="validation")
    plot.sample_grid(images, predicted, true, "samples.png", title="mine")
    assert captured_figures[0].get_suptitle().startswith("validation images: 2 of 4 predicted right")
    assert captured_figures[1].get_suptitle() == "mine"


def test_sample_grid_renders_its_marks_without_missing_glyph_warnings(tmp_path):
    images, predicted, true = classified_samples(count=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" at draw time
        assert_png(plot.sample_grid(images, predicted, true, tmp_path / "samples.png"))


def test_sample_grid_takes_scores_as_predictions(captured_figures):
    images, _, true = classified_samples(count=4)
    scores = np.eye(10)[true]  # one-hot scores: every argmax right
    plot.sample_grid(images, scores, true, "samples.png")
    assert captured_figures[0].get_suptitle().startswith("test images: 4 of 4 predicted right\n")


@pytest.mark.parametrize(
    ("images", "predicted", "true", "message"),
    [
        (np.zeros((4, 3, 8, 8)), [0] * 4, [0] * 4, r"greyscale.*got shape \(4, 3, 8, 8\)"),
        (np.zeros((8, 8)), [0] * 8, [0] * 8, r"got shape \(8, 8\)"),
        (np.zeros((4, 8, 8)), [0] * 3, [0] * 4, "images 4, predicted 3, true 4"),
        (np.zeros((0, 8, 8)), [], [], "no images"),
        (np.zeros((2, 8, 8)), [0.5, 1.0], [0, 1], "whole class indices"),
    ],
)
def test_sample_grid_bad_input_raises(tmp_path, images, predicted, true, message):
    with pytest.raises(ValueError, match=message):
        plot.sample_grid(images, predicted, true, tmp_path / "samples.png")


def test_sample_grid_rejects_a_non_positive_column_count(tmp_path):
    images, predicted, true = classified_samples(count=4)
    with pytest.raises(ValueError, match="columns must be a positive int"):
        plot.sample_grid(images, predicted, true, tmp_path / "samples.png", columns=0)


# --- confusion matrix ----------------------------------------------------------------------------


def test_confusion_counts_matches_a_hand_computed_case():
    predicted = [0, 1, 2, 2, 1, 0]
    true = [0, 1, 1, 2, 2, 0]
    counts = plot.confusion_counts(predicted, true)
    # rows are the true class, columns the predicted one
    expected = [[2, 0, 0],
                [0, 1, 1],
                [0, 1, 1]]
    np.testing.assert_array_equal(counts, expected)
    assert counts.dtype == np.int64


def test_confusion_counts_class_count_names_and_scores():
    assert plot.confusion_counts([0, 1], [1, 1], classes=4).shape == (4, 4)
    assert plot.confusion_counts([0, 1], [1, 1], classes=["cat", "dog", "fox"]).shape == (3, 3)
    scores = mg.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    np.testing.assert_array_equal(plot.confusion_counts(scores, mg.tensor([1, 1, 0])), [[0, 1], [1, 1]])
    np.testing.assert_array_equal(plot.confusion_counts([], [], classes=2), np.zeros((2, 2)))


@pytest.mark.parametrize(
    ("predicted", "true", "classes", "message"),
    [
        ([0, 1, 2], [0, 1], None, "predicted 3, true 2"),
        ([0, 3], [0, 1], 3, "predicted has label 3 but there are only 3 classes"),
        ([0, -1], [0, 1], None, "negative class index -1"),
        ([0.0, 1.5], [0, 1], None, "whole class indices"),
        ([], [], None, "pass classes="),
        ([0], [0], 0, "at least 1"),
        (np.zeros((2, 2, 2), dtype=int), [0, 1], None, r"got shape \(2, 2, 2\)"),
    ],
)
def test_confusion_counts_bad_input_raises(predicted, true, classes, message):
    with pytest.raises(ValueError, match=message):
        plot.confusion_counts(predicted, true, classes)


def test_confusion_matrix_writes_a_png_with_accuracy_in_the_title(tmp_path, captured_figures):
    plot.confusion_matrix([0, 1, 2, 2, 1, 0], [0, 1, 1, 2, 2, 0], tmp_path / "confusion.png",
                          classes=["zero", "one", "two"])
    (figure,) = captured_figures
    axes = figure.axes[0]
    assert axes.get_title() == "accuracy 66.67% (4 of 6)"
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("predicted", "true")
    assert [label.get_text() for label in axes.get_xticklabels()] == ["zero", "one", "two"]
    cells = {(text.get_position(), text.get_text(), text.get_color()) for text in axes.texts}
    assert ((0, 0), "2", "white") in cells  # the darkest cell gets white text
    assert ((1, 0), "0", "black") in cells


def test_confusion_matrix_file_is_a_valid_png(tmp_path):
    assert_png(plot.confusion_matrix(np.arange(100) % 10, np.arange(100) % 10, tmp_path / "confusion.png"))


# --- writing files -------------------------------------------------------------------------------


def test_missing_directories_are_created(tmp_path):
    path = tmp_path / "runs" / "mnist" / "curves.png"
    assert_png(plot.training_curves(full_history(), path))


def test_a_directory_given_with_a_trailing_slash_is_created_and_written_into(tmp_path):
    directory = f"{tmp_path}/figures/"  # as a caller writes f"{directory}/curves.png"
    images, predicted, true = classified_samples(count=4)
    assert_png(plot.training_curves(full_history(), f"{directory}/curves.png"))
    assert_png(plot.sample_grid(images, predicted, true, f"{directory}/samples.png"))
    assert_png(plot.confusion_matrix(predicted, true, f"{directory}/confusion.png"))
    assert sorted(entry.name for entry in (tmp_path / "figures").iterdir()) == ["confusion.png", "curves.png", "samples.png"]


def test_a_directory_as_the_path_says_to_give_a_file_name(tmp_path):
    for path in (tmp_path, f"{tmp_path}/figures/"):
        with pytest.raises(ValueError, match="is a directory; give a file name"):
            plot.training_curves(full_history(), path)
    assert list(tmp_path.iterdir()) == []


def test_writing_leaves_no_temporary_file_and_replaces_an_old_one(tmp_path):
    path = tmp_path / "curves.png"
    path.write_bytes(b"old")
    plot.training_curves(full_history(), path)
    assert_png(path)
    assert [entry.name for entry in tmp_path.iterdir()] == ["curves.png"]


def test_a_failed_save_leaves_the_old_file_untouched_and_no_temporary_file(tmp_path, monkeypatch):
    import matplotlib.figure

    path = tmp_path / "curves.png"
    path.write_bytes(b"the previous figure")

    def fail(self, *arguments, **keywords):
        raise RuntimeError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        plot.training_curves(full_history(), path)
    assert path.read_bytes() == b"the previous figure"
    assert [entry.name for entry in tmp_path.iterdir()] == ["curves.png"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_written_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = plot.training_curves(full_history(), tmp_path / "curves.png")
    finally:
        os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o644  # as open() would make it, not mkstemp's 0o600


def test_the_suffix_picks_the_format(tmp_path):
    path = plot.training_curves(full_history(), tmp_path / "curves.svg")
    with open(path, "rb") as file:
        assert b"<svg" in file.read(2000)
    with pytest.raises(ValueError, match="format 'xyz' is not one of"):
        plot.training_curves(full_history(), tmp_path / "curves.xyz")
    assert [entry.name for entry in tmp_path.iterdir()] == ["curves.svg"]


def test_pyplot_state_is_untouched(tmp_path):
    from matplotlib import pyplot

    backend = matplotlib.get_backend()
    figures_before = pyplot.get_fignums()
    images, predicted, true = classified_samples()
    plot.training_curves(full_history(), tmp_path / "curves.png")
    plot.sample_grid(images, predicted, true, tmp_path / "samples.png")
    plot.confusion_matrix(predicted, true, tmp_path / "confusion.png")
    assert matplotlib.get_backend() == backend
    assert pyplot.get_fignums() == figures_before == []


def test_plotting_never_imports_pyplot(tmp_path):
    script = (
        "import sys, minigrad.plot as plot\n"
        f"plot.confusion_matrix([0, 1, 1], [0, 1, 0], {str(tmp_path / 'confusion.png')!r})\n"
        "assert 'matplotlib' in sys.modules\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- reconstructions -----------------------------------------------------------------------------

def test_reconstructions_draws_inputs_over_outputs(tmp_path):
    images = np.random.default_rng(0).random((12, 1, 28, 28))
    path = plot.reconstructions(images, mg.tensor(images[:, 0] * 0.5), tmp_path / "pairs.png", max_images=6)
    assert_png(path)
    assert matplotlib.image.imread(path).shape[1] > matplotlib.image.imread(path).shape[0]  # a wide strip


def test_reconstructions_refuses_mismatched_shapes_by_name(tmp_path):
    images = np.zeros((4, 1, 28, 28))
    with pytest.raises(ValueError, match=r"reconstructions: images \(4, 28, 28\) and reconstructions \(4, 14, 14\)"):
        plot.reconstructions(images, np.zeros((4, 14, 14)), tmp_path / "pairs.png")
    with pytest.raises(ValueError, match="reconstructions: images must be greyscale"):
        plot.reconstructions(np.zeros((4, 3, 8, 8)), np.zeros((4, 3, 8, 8)), tmp_path / "pairs.png")
    assert not (tmp_path / "pairs.png").exists()
