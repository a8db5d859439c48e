"""Figure functions: the content of each figure (labels, lines, data), not only that it ran."""

import numpy as np
import pytest

from tunnelsim import ensemble, hamiltonians, plotting, spectra


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
    with pytest.raises(ValueError, match="relative_error"):
        plotting.plot_error_map(T, B, err.T)
