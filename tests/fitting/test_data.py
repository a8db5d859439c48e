"""Data sets: CSV and MPMS .dat readers, checks naming row and column, run grouping."""

from pathlib import Path

import numpy as np
import pytest

from tunnelsim.fitting import data as datafiles
from tunnelsim.fitting import synth
from tunnelsim.fitting.data import DataError, GroupingTolerance, Run


def _csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _one_line(exc):
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_csv_round_trip_keeps_values_and_regroups_the_seed_runs(tmp_path):
    data = synth.synthesize({"n_Fe2_per_g": 1e17, "n_Fe3_per_g": 6e16, "chi_L_emu_per_g_Oe": 4e-7,
                             "n_ATS_per_g": 1e16, "D_min_K": 0.03, "D0QS_min_K_A2": 2.7e5,
                             "D0QS_max_K_A2": 2.9e5}, seed=3)
    path = datafiles.write_csv(tmp_path / "out" / "d.csv", data, comments=["made by a test", "two\nlines"])
    back = datafiles.read_csv(path)
    for name in ("temperature_K", "field_Oe", "magnetization_emu_per_g", "sigma_emu_per_g"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name))
    # grouping by tolerance recovers the synthesised runs exactly
    assert back.runs == data.runs
    assert [r.kind for r in back.runs] == ["M_vs_T"] * 9 + ["M_vs_H"] * 5
    assert back.notes == ("made by a test", "two", "lines")
    assert not list(path.parent.glob(".*.tmp"))


def test_write_csv_refuses_to_overwrite_without_force(tmp_path):
    data = datafiles.make_dataset([2.0, 3.0], [1e3, 1e3], [1.0, 2.0])
    path = datafiles.write_csv(tmp_path / "d.csv", data)
    with pytest.raises(FileExistsError):
        datafiles.write_csv(path, data)
    datafiles.write_csv(path, data, force=True)


def test_grouping_tolerates_drift_and_labels_runs():
    T_run = [2.0, 3.0, 5.0, 10.0]
    # M vs T at ~10 kOe with field jitter of 3 Oe, then M vs H at ~4.5 K with 0.02 K jitter
    T = T_run + [4.50, 4.52, 4.49, 4.51]
    H = [10000.0, 10003.0, 9998.0, 10001.0] + [0.0, 1e4, 2e4, 3e4]
    runs = datafiles.group_runs(T, H)
    assert [(r.kind, r.start, r.stop) for r in runs] == [("M_vs_T", 0, 4), ("M_vs_H", 4, 8)]
    assert runs[0].fixed_value == pytest.approx(10000.5)
    assert runs[1].fixed_value == pytest.approx(4.505)
    assert runs[0].label == "M vs T at H = 10 kOe (warming)"
    assert runs[1].label == "M vs H at T = 4.505 K (H increasing)"


def test_grouping_splits_consecutive_runs_of_the_same_kind():
    T = [2.0, 5.0, 2.0, 5.0]
    H = [1000.0, 1000.0, 2500.0, 2500.0]
    runs = datafiles.group_runs(T, H)
    assert [(r.kind, r.fixed_value) for r in runs] == [("M_vs_T", 1000.0), ("M_vs_T", 2500.0)]


def test_a_tighter_tolerance_splits_a_drifting_run():
    T = [2.0, 3.0, 5.0]
    H = [1000.0, 1003.0, 1006.0]  # within 5 Oe + 0.2 % of the first point
    assert len(datafiles.group_runs(T, H)) == 1
    with pytest.raises(DataError, match="row 1: a run of a single point"):
        datafiles.group_runs(T, H, GroupingTolerance(field_abs_Oe=1.0, field_rel=0.0))


def test_comments_blank_lines_and_column_order(tmp_path):
    path = _csv(tmp_path, "# provenance\n\nM_emu_per_g,H_Oe,T_K\n1e-3,1000,2\n\n5e-4,1000,4\n")
    data = datafiles.read_csv(path)
    np.testing.assert_array_equal(data.temperature_K, [2.0, 4.0])
    np.testing.assert_array_equal(data.magnetization_emu_per_g, [1e-3, 5e-4])
    assert data.sigma_emu_per_g is None and data.notes == ("provenance",)


@pytest.mark.parametrize("text, expected", [
    pytest.param("T_K,H_Oe\n2,1\n3,1\n", "line 1: missing column M_emu_per_g", id="missing-column"),
    pytest.param("T_K,H_Oe,M_emu_per_g,weight\n", "unknown column 'weight'", id="unknown-column"),
    pytest.param("T_K,H_Oe,M_emu_per_g,T_K\n", "column T_K appears twice", id="repeated-column"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n3,1000,abc\n",
                 "row 2 (line 3), column M_emu_per_g: expected a number, got 'abc'", id="non-numeric"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n3,,1e-3\n", "row 2 (line 3), column H_Oe: empty value",
                 id="empty"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n3,1000,nan\n",
                 "row 2 (line 3), column M_emu_per_g: must be finite", id="nan"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,inf,1e-3\n3,1000,1\n", "row 1 (line 2), column H_Oe: must be finite",
                 id="inf"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n0,1000,1e-3\n", "row 2 (line 3), column T_K: must be > 0",
                 id="zero-temperature"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n-3,1000,1e-3\n", "row 2 (line 3), column T_K: must be > 0",
                 id="negative-temperature"),
    pytest.param("T_K,H_Oe,M_emu_per_g,sigma_emu_per_g\n2,1000,1e-3,0\n3,1000,1e-3,1e-6\n",
                 "row 1 (line 2), column sigma_emu_per_g: must be > 0", id="zero-sigma"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000\n", "row 1 (line 2): 2 fields, the header has 3", id="short-row"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n", "1 data point", id="single-point"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n", "0 data points", id="no-points"),
    pytest.param("# only a comment\n", "no header line", id="no-header"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1\n3,1000,1\n10,5000,1\n4,20000,1\n5,20000,1\n",
                 "row 3 (line 4): a run of a single point (T and H both change at the next point)",
                 id="single-point-run"),
])
def test_bad_csv_names_row_and_column_in_one_line(tmp_path, text, expected):
    path = _csv(tmp_path, text)
    with pytest.raises(DataError) as exc:
        datafiles.read_csv(path)
    message = _one_line(exc)
    assert message.startswith(str(path))
    assert expected in message


def test_make_dataset_checks_given_runs():
    with pytest.raises(DataError, match="consecutive"):
        datafiles.make_dataset([2, 3, 4], [1, 1, 1], [0, 0, 0], runs=(Run("M_vs_T", 1.0, 0, 2),))
    data = datafiles.make_dataset([2, 3, 4], [1, 1, 1], [0, 0, 0], runs=(Run("M_vs_T", 1.0, 0, 3),))
    assert data.runs_of_kind("M_vs_H") == ()
    sub = data.run_data(data.runs[0])
    assert sub.n_points == 3 and sub.runs == (Run("M_vs_T", 1.0, 0, 3),)


# ------------------------------------------------------------------------------- MPMS .dat
_MPMS3_HEADER = """[Header]
; a Quantum Design MultiVu data file
TITLE,BK7 chip
BYAPP,MPMS3,1.0
INFO,96.8,SAMPLE_MASS
DATATYPE,COMMENT,1
[Data]
"""


def _mpms3(tmp_path, rows, columns="Comment,Time Stamp (sec),Temperature (K),Magnetic Field (Oe),Moment (emu),"
           "M. Std. Err. (emu),DC Moment Free Ctr (emu),DC Moment Err Free Ctr (emu)"):
    path = tmp_path / "run.dat"
    path.write_text(_MPMS3_HEADER + columns + "\n" + "\n".join(rows) + "\n")
    return path


def test_mpms3_vsm_file_in_emu_per_gram_with_errors_and_comment_rows(tmp_path):
    rows = ['"sequence, started",,,,,,,',
            ",1.0,2.0,10000,9.68e-4,9.68e-8,,",
            ",2.0,4.0,10000.5,4.84e-4,4.84e-8,,",
            ",3.0,4.5,0,0,1e-8,,",
            ",4.0,4.5,20000,1.936e-3,1e-7,,"]
    data = datafiles.read_mpms_dat(_mpms3(tmp_path, rows), mass_mg=96.8)
    np.testing.assert_allclose(data.magnetization_emu_per_g, [1e-2, 5e-3, 0.0, 0.02], rtol=1e-12)
    np.testing.assert_allclose(data.sigma_emu_per_g, np.array([9.68e-8, 4.84e-8, 1e-8, 1e-7]) / 0.0968, rtol=1e-12)
    assert [r.kind for r in data.runs] == ["M_vs_T", "M_vs_H"]
    assert "'Moment (emu)'" in data.notes[0]
    same = datafiles.read_mpms_dat(_mpms3(tmp_path, rows), mass_g=0.0968)
    np.testing.assert_allclose(same.magnetization_emu_per_g, data.magnetization_emu_per_g, rtol=1e-12)


def test_mpms3_dc_file_picks_the_filled_moment_column(tmp_path):
    rows = [",1.0,2.0,1000,,,2e-4,1e-8", ",2.0,3.0,1000,,,1e-4,1e-8"]
    data = datafiles.read_mpms_dat(_mpms3(tmp_path, rows), mass_g=0.1)
    np.testing.assert_allclose(data.magnetization_emu_per_g, [2e-3, 1e-3])
    assert "DC Moment Free Ctr (emu)" in data.notes[0]


def test_mpms_xl_file(tmp_path):
    path = tmp_path / "xl.dat"
    path.write_text("[Header]\nTITLE,x\n[Data]\nTime,Field (Oe),Temperature (K),Long Moment (emu),Long Scan Std Dev\n"
                    "1,5000,2.0,1e-3,1e-7\n2,5000,3.0,8e-4,1e-7\n")
    data = datafiles.read_data(path, mass_mg=50.0)
    np.testing.assert_allclose(data.magnetization_emu_per_g, [0.02, 0.016])
    np.testing.assert_allclose(data.sigma_emu_per_g, [2e-6, 2e-6])
    np.testing.assert_array_equal(data.field_Oe, [5000.0, 5000.0])


@pytest.mark.parametrize("columns, rows, kwargs, expected", [
    pytest.param("Temperature (K),Moment (emu)", ["2,1e-3", "3,1e-3"], {"mass_g": 1.0}, "no field column; expected one of",
                 id="no-field"),
    pytest.param("Temperature (K),Magnetic Field (Oe),Voltage", ["2,1,1", "3,1,1"], {"mass_g": 1.0},
                 "no moment column", id="no-moment"),
    pytest.param("Temperature (K),Magnetic Field (Oe),Moment (emu)", ["2,1000,1e-3", "3,1000,x"], {"mass_g": 1.0},
                 "line 10, column 'Moment (emu)': expected a number, got 'x'", id="non-numeric"),
    pytest.param("Temperature (K),Magnetic Field (Oe),Moment (emu)", ["2,1000,1e-3", "-1,1000,1e-3"],
                 {"mass_g": 1.0}, "row 2 (line 10), column 'Temperature (K)': must be > 0", id="negative-T"),
])
def test_bad_mpms_file_one_line(tmp_path, columns, rows, kwargs, expected):
    with pytest.raises(DataError) as exc:
        datafiles.read_mpms_dat(_mpms3(tmp_path, rows, columns), **kwargs)
    assert expected in _one_line(exc)


def test_mpms_needs_a_data_section_and_one_mass(tmp_path):
    path = tmp_path / "x.dat"
    path.write_text("[Header]\nTITLE,x\n")
    with pytest.raises(DataError, match=r"no \[Data\] section"):
        datafiles.read_mpms_dat(path, mass_mg=1.0)
    for kwargs in ({"mass_mg": 1.0, "mass_g": 1.0}, {"mass_mg": -1.0}):
        with pytest.raises(ValueError, match="mass"):
            datafiles.read_mpms_dat(path, **kwargs)
    path.write_text("[Header]\nTITLE,x\n[Data]\nTemperature (K),Field (Oe),Long Moment (emu)\n2,1,1\n3,1,1\n")
    with pytest.raises(DataError, match="no sample mass .the header gives none.: give --mass-mg or --mass-g"):
        datafiles.read_mpms_dat(path)


def test_read_data_rejects_a_mass_for_csv(tmp_path):
    path = _csv(tmp_path, "T_K,H_Oe,M_emu_per_g\n2,1,1\n3,1,1\n")
    with pytest.raises(ValueError, match="already in emu/g"):
        datafiles.read_data(path, mass_mg=10.0)
    assert isinstance(datafiles.read_data(Path(path)), datafiles.MagnetizationData)
