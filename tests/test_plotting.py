"""Figure functions: the content of each figure (labels, lines, data), not only that it ran."""

import numpy as np
import pytest

from tunnelsim import ensemble, hamiltonians, plotting, spectra
from tunnelsim.plotting import plot_result, save_quicklook
from tunnelsim.results import read_result, write_result

from conftest import make_result


# --------------------------------------------------------------------------- plot_result, save_quicklook
@pytest.mark.parametrize(
    "nT, nB, versus, log_x",
    [
        pytest.param(5, 2, "temperature", True, id="vs-T-log"),
        pytest.param(3, 3, "temperature", True, id="square-vs-T"),
        pytest.param(2, 6, "field", False, id="vs-field"),
    ],
)
def test_plot_result_lines_labels_and_limits(nT, nB, versus, log_x):
    result = make_result(nT, nB)
    fig, ax = plot_result(result)
    lines = ax.get_lines()
    assert len(lines) == (nT if versus == "field" else nB)
    assert ax.get_xscale() == ("log" if log_x else "linear")
    assert ax.get_ylabel() == "magnetisation per gram (emu/g)"
    x = result.field_T if versus == "field" else result.temperature_K
    assert ax.get_xlabel() == ("field B (T)" if versus == "field" else "temperature T (K)")
    np.testing.assert_allclose(ax.dataLim.intervalx, [x.min(), x.max()])
    mag, err = result.values["magnetization"], result.errors["magnetization"]
    np.testing.assert_allclose(ax.dataLim.intervaly, [(mag - err).min(), (mag + err).max()])
    assert len(ax.collections) == len(lines)  # one error band per line
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    if versus == "temperature":
        assert labels[0] == "B = 1 T (10 kOe)" and labels[-1] == "B = 6.5 T (65 kOe)"
    else:
        assert labels[0] == f"T = {result.temperature_K[0]:.4g} K"
    for line, curve in zip(lines, (mag if versus == "field" else mag.T)):
        np.testing.assert_allclose(line.get_ydata(), curve)


def test_plot_result_from_file_narrow_range_no_errors(tmp_path):
    path = tmp_path / "r.h5"
    write_result(path, make_result(4, 2, T_span=(2.0, 10.0), with_errors=False), extra_attrs={"title": "narrow"})
    fig, ax = plot_result(path)
    assert ax.get_xscale() == "linear" and ax.get_title() == "narrow"
    assert len(ax.collections) == 0
    fig2, ax2 = plot_result(read_result(path), observable="heat_capacity", ax=ax)
    assert fig2 is fig and ax2 is ax
    assert len(ax.get_lines()) == 4


def test_plot_result_rejects_bad_source_and_observable(tmp_path):
    with pytest.raises(ValueError, match="no 'temperature_K'"):
        plot_result(object())
    with pytest.raises(ValueError, match="available: magnetization, heat_capacity"):
        plot_result(make_result(), observable="entropy")
    with pytest.raises(FileNotFoundError):
        save_quicklook(tmp_path / "missing.h5", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists() and list(tmp_path.iterdir()) == []


def test_save_quicklook_writes_a_png_of_the_requested_size_and_nothing_else(tmp_path):
    path = tmp_path / "new" / "q.png"
    assert save_quicklook(make_result(), path, observable="heat_capacity", dpi=50) == path
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (320, 240)  # the 6.4 x 4.8 in figure at 50 dpi
    assert list(path.parent.iterdir()) == [path]  # the temporary file was renamed

# --------------------------------------------------------------------------- spectrum, universality, error map
def _result(T, B, M):
    return ensemble.EnsembleResult(
        temperature_K=np.asarray(T, float), field_T=np.asarray(B, float),
        values={"magnetization": np.asarray(M, float)}, errors={"magnetization": np.zeros_like(M, float)},
        units={"magnetization": "emu/g"}, long_names={"magnetization": "magnetisation"},
    )


def test_spectrum_figure_draws_every_level_and_the_etm_gap():
    phi = np.linspace(-np.pi, np.pi, 41)
    E = hamiltonians.asymmetries_from_polar(0.3, 0.4)
    levels = spectra.solve(hamiltonians.three_level(E, 1.0, phi)).levels
    gap = np.sqrt((2 / 3) * 0.3**2 + (4 / 3) * phi**2)
    fig, ax = plotting.plot_spectrum(phi, levels, gap_etm=gap)
    lines = ax.get_lines()
    assert len(lines) == 4
    np.testing.assert_allclose(lines[2].get_ydata(), levels[:, 2])
    np.testing.assert_allclose(lines[3].get_ydata(), levels[:, 0] + gap)
    assert "phase" in ax.get_xlabel() and "(K)" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["exact levels", "ETM gap"]


def test_spectrum_figure_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="levels"):
        plotting.plot_spectrum(np.zeros(3), np.zeros((4, 3)))


def test_universality_plot_uses_H_over_T_and_skips_zero_field():
    T = np.array([2.0, 4.0, 8.0])
    B = np.array([0.0, 1.0, 3.0])
    M = np.outer(1 / T, B) * 1e-3
    fig, ax = plotting.plot_universality(_result(T, B, M), subtract_larmor_emu_per_g_Oe=1e-7)
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[1].get_xdata(), 30.0 / T)  # 3 T = 30 kOe
    np.testing.assert_allclose(lines[1].get_ydata(), M[:, 2] + 1e-7 * 3e4)
    assert ax.get_xlabel() == "H / T (kOe/K)"


def test_error_map_draws_the_requested_contours():
    T = np.geomspace(1, 100, 12)
    B = np.linspace(0.1, 7, 10)
    err = np.outer(1 / T, B) * 0.05
    fig, ax = plotting.plot_error_map(T, B, err, title="Eq. 10 vs exact")
    assert ax.get_yscale() == "log" and ax.get_title() == "Eq. 10 vs exact"
    assert len(ax.collections) >= 2  # the mesh and the contour set
    mesh = ax.collections[0]
    assert mesh.get_array().max() == pytest.approx(err.max())
    contours = ax.collections[1]
    np.testing.assert_allclose(contours.levels, [0.01, 0.05])
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["1 %", "5 %"]
    assert [h.get_linestyle() for h in legend.legend_handles] == ["-", "--"]
    with pytest.raises(ValueError, match="relative_error"):
        plotting.plot_error_map(T, B, err.T)


def test_error_map_leaves_out_levels_outside_the_data_and_draws_every_contour_piece():
    T = np.geomspace(0.05, 30.0, 15)
    B = np.linspace(0.1, 7.0, 12)
    err = 0.03 * B[None, :] * (1.0 + T[:, None])  # 0.3 % .. 6.5: 1 % .. 100 % all inside, 1000 % not
    fig, ax = plotting.plot_error_map(T, B, -err, levels=(0.01, 0.2, 1.0, 10.0))
    contours = ax.collections[1]
    np.testing.assert_allclose(contours.levels, [0.01, 0.2, 1.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["1 %", "20 %", "100 %"]
    # no inline labels: the 20 % contour reaches the lowest temperature (B = 0.2/(0.03 (1 + T)))
    vertices = np.concatenate([path.vertices for path in contours.get_paths()[1:2]])
    assert vertices[:, 1].min() == pytest.approx(T[0])
    assert vertices[vertices[:, 1].argmin(), 0] == pytest.approx(0.2 / (0.03 * (1.0 + T[0])), rel=1e-6)
    with pytest.raises(ValueError, match="at most 4"):
        plotting.plot_error_map(T, B, err, levels=(0.01, 0.02, 0.05, 0.1, 0.2))


def test_error_map_colour_range_can_be_shared_between_panels():
    T = np.geomspace(1.0, 100.0, 5)
    B = np.linspace(0.5, 5.0, 4)
    err = np.outer(T, B) * 1e-3  # 5e-4 .. 0.5
    fig, ax = plotting.plot_error_map(T, B, err, color_range=(1e-4, 10.0))
    mesh = ax.collections[0]
    assert (mesh.norm.vmin, mesh.norm.vmax) == (1e-4, 10.0)
    assert mesh.get_array().max() == pytest.approx(0.5)  # data unchanged inside the range
    fig, ax = plotting.plot_error_map(T, B, err, color_range=(1e-2, 10.0))
    assert ax.collections[0].get_array().min() == pytest.approx(1e-2)  # clipped up to the bottom of the scale
    with pytest.raises(ValueError, match="color_range"):
        plotting.plot_error_map(T, B, err, color_range=(1.0, 0.1))


# --------------------------------------------------------------------------- maps of large grids
def _map_result(nT=64, nB=64):
    return make_result(nT, nB)


def test_quicklook_of_a_map_is_an_image_with_a_few_labelled_cuts(tmp_path):
    from matplotlib.collections import QuadMesh

    fig, (ax_map, ax_cut) = plotting.plot_map(_map_result())
    meshes = [c for c in ax_map.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1 and meshes[0].get_array().size == 64 * 64
    assert ax_map.get_yscale() == "log"  # make_result's temperatures are log-spaced
    assert ax_map.get_xscale() == "linear"  # its fields are not
    assert 3 <= len(ax_cut.get_lines()) <= 5
    labels = [t.get_text() for t in ax_cut.get_legend().get_texts()]
    assert len(labels) == len(ax_cut.get_lines()) and all(label.startswith("B = ") for label in labels)


def test_save_quicklook_draws_a_map_for_many_T_and_B_and_lines_for_small_grids(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(plotting, "plot_map", lambda *a, **k: drawn.append("map") or plot_result(*a[:2]))
    path = tmp_path / "m.h5"
    write_result(path, _map_result())
    save_quicklook(path, tmp_path / "m.png")
    assert drawn == ["map"]
    write_result(tmp_path / "s.h5", make_result(12, 3))
    save_quicklook(tmp_path / "s.h5", tmp_path / "s.png")
    assert drawn == ["map"]


def test_quicklook_reads_a_large_result_set_strided(tmp_path, monkeypatch):
    path = tmp_path / "m.h5"
    result = _map_result(200, 50)
    write_result(path, result)
    view = plotting._read_quicklook(path, None, max_points=20)
    assert view.values["magnetization"].shape == (20, 20)
    assert view.temperature_K[0] == result.temperature_K[0] and view.temperature_K[-1] == result.temperature_K[-1]
    i = np.searchsorted(result.temperature_K, view.temperature_K)
    j = np.searchsorted(result.field_T, view.field_T)
    np.testing.assert_array_equal(view.values["magnetization"], result.values["magnetization"][np.ix_(i, j)])


def test_map_quicklook_is_fast(tmp_path):
    import time

    path = tmp_path / "m.h5"
    write_result(path, _map_result())
    save_quicklook(path, tmp_path / "warm.png")  # imports and font cache
    started = time.perf_counter()
    save_quicklook(path, tmp_path / "m.png")
    elapsed = time.perf_counter() - started
    # 0.3 s measured here (the 64-line plot took 0.55 s); generous for a loaded shared machine
    assert elapsed < 1.5


def test_quicklook_png_carries_metadata(tmp_path):
    from PIL import Image

    path = tmp_path / "m.h5"
    write_result(path, make_result(3, 2))
    save_quicklook(path, tmp_path / "m.png", metadata={"tunnelsim_run_id": "abc"})
    with Image.open(tmp_path / "m.png") as image:
        assert image.text["tunnelsim_run_id"] == "abc"
