"""Real Quantum Design instrument files (tests/data/qd, sources and licenses in tests/data/SOURCES.md).

Each test pins what the reader makes of one file: points, skipped rows, runs, columns, mass and
errors, with the numbers read off the files independently (row counts by reading the [Data]
section line by line, masses from the header lines quoted in the comments).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tunnelsim.cli import main
from tunnelsim.fitting import data as datafiles
from tunnelsim.fitting.data import DataError, ErrorModel
from tunnelsim.fitting.qd_dat import read_qd_file

QD = Path(__file__).resolve().parents[1] / "data" / "qd"


def read(name, **kwargs):
    return datafiles.read_data(QD / name, **kwargs)


def kinds(data):
    return [(r.kind, r.branch, r.n_points) for r in data.runs]


# ------------------------------------------------------------------------------- one test per file
def test_mpms_xl_dc_zero_std_dev_three_readings_per_set_point():
    # MPMS XL DC M vs T at 1000 Oe, 2 -> 15 K in 1 K steps, 3 readings per set point, Long Scan Std Dev = 0
    # on all 42 rows; header "INFO, WEIGHT, 48.400" states no unit.
    name = "mpmsxl_dc_mvst_1000Oe_hilgar.dat"
    with pytest.raises(DataError, match=r"no sample mass \(the header has WEIGHT = 48.400 \(unit not stated"):
        read(name)
    T, H, M, S, names, report = read_qd_file(QD / name, mass_mg=48.4)
    assert T.size == 42 and np.all(np.isnan(S)) and report.moment_columns == {"Long Moment (emu)": 42}
    assert report.error_columns == {} and report.mass_g == pytest.approx(0.0484)
    data = read(name, mass_mg=48.4)
    assert data.n_points == 14 and kinds(data) == [("M_vs_T", "warming", 14)]
    np.testing.assert_allclose(data.temperature_K, np.arange(2.0, 16.0), atol=0.05)
    # the first set point: the mean of the three readings, and the error of the mean from their scatter
    m3 = M[:3] / 0.0484
    assert data.magnetization_emu_per_g[0] == pytest.approx(m3.mean(), rel=1e-12)
    assert data.sigma_emu_per_g[0] == pytest.approx(m3.std(ddof=1) / math.sqrt(3), rel=1e-12)
    # kept as readings: no errors at all (zero std dev is "no error"), so unweighted unless a model is given
    kept = read(name, mass_mg=48.4, repeats="keep")
    assert kept.n_points == 42 and kept.sigma_emu_per_g is None and "unweighted" in kept.reading.errors
    model = read(name, mass_mg=48.4, repeats="keep", error_model=ErrorModel(relative=1e-3, absolute=1e-7))
    expected = np.hypot(1e-3 * M, 1e-7) / 0.0484
    np.testing.assert_allclose(model.sigma_emu_per_g, expected, rtol=1e-12)
    assert "sqrt(0.001 |M| ^2 + 1e-07 emu^2)" in model.reading.errors or "0.001 |M|" in model.reading.errors


def test_mpms3_dc_loop_with_a_comment_row_and_header_mass():
    # MPMS3 DC, "INFO,1.38,SAMPLE_MASS"; row 0 is a quoted comment with no T, H or moment; field -70 -> +70 -> -70 kOe
    data = read("mpms3_dc_mvsh_293K_magnetopy.dat")
    r = data.reading
    assert r.mass_g == pytest.approx(1.38e-3) and r.mass_source == "file header"
    assert r.n_rows == 230 and r.n_skipped == 1 and list(r.skipped.values()) == [[42]]
    assert r.moment_columns == {"DC Moment Free Ctr (emu)": 229}
    assert r.error_columns == {"DC Moment Err Free Ctr (emu)": 229}
    assert data.n_points == 229 and data.sigma_emu_per_g is not None
    assert kinds(data) == [("M_vs_H", "H increasing", 115), ("M_vs_H", "H decreasing", 114)]
    assert data.field_Oe[0] == pytest.approx(-70000, abs=5) and data.field_Oe[114] == pytest.approx(70000, abs=5)


def test_mpms3_dc_crlf_file():
    data = read("mpms3_dc_mvsh_5K_crlf_magnetopy.dat")
    assert data.n_points == 285 and data.reading.n_skipped == 0 and data.reading.mass_g == pytest.approx(10.1e-3)
    assert kinds(data) == [("M_vs_H", "H increasing", 143), ("M_vs_H", "H decreasing", 142)]
    assert all(abs(r.fixed_value - 5.002) < 0.002 for r in data.runs)


def test_tab_separated_file_with_trailing_tabs_and_an_empty_header_mass():
    # re-saved tab-separated: "[Data]\t\t...", header lines with trailing tabs, "INFO\t\tSAMPLE_MASS" (empty)
    name = "mpms3_dc_mvsh_5K_magnetopy_tab.dat"
    assert b"[Data]\t" in (QD / name).read_bytes()
    with pytest.raises(DataError, match=r"no sample mass \(the header has INFO SAMPLE_MASS = \(empty\)"):
        read(name)
    data = read(name, mass_mg=10.0)
    assert data.reading.delimiter == "\t" and data.n_points == 141
    assert data.reading.moment_columns == {"DC Moment Free Ctr (emu)": 141}
    assert kinds(data) == [("M_vs_H", "H increasing", 71), ("M_vs_H", "H decreasing", 70)]
    assert data.reading.warnings == []  # no header mass to disagree with


def test_zfc_then_fc_warming_are_two_runs():
    # MPMS3 DC at 100.07 Oe: ZFC 5 -> 300 K (rows 0-251), cooled unrecorded, FC 5 -> 300 K (rows 252-503)
    data = read("mpms3_dc_zfcfc_100Oe_magnetopy.dat")
    assert data.reading.mass_g == pytest.approx(1.6e-3) and data.n_points == 504
    assert kinds(data) == [("M_vs_T", "ZFC", 252), ("M_vs_T", "FC warming", 252)]
    assert data.runs[0].label == "M vs T at H = 0.1001 kOe (ZFC)"


def test_zfc_then_fc_measured_while_cooling():
    # MPMS3 DC at 99.97 Oe: ZFC up to 299.97 K (row 257), FC measured cooling back to 5 K
    data = read("mpms3_dc_zfcfc_cooling_100Oe_magnetopy.dat")
    assert [(k, b) for k, b, _ in kinds(data)] == [("M_vs_T", "ZFC"), ("M_vs_T", "FC cooling")]
    zfc, fc = (data.run_data(r) for r in data.runs)
    assert zfc.temperature_K.max() == pytest.approx(299.97, abs=0.01)
    assert np.all(np.diff(zfc.temperature_K) > -0.05) and np.all(np.diff(fc.temperature_K) < 0.05)
    kept = read("mpms3_dc_zfcfc_cooling_100Oe_magnetopy.dat", repeats="keep")
    assert kept.n_points == 513 and kinds(kept)[0][2] + kinds(kept)[1][2] == 513


def test_mpms3_vsm_file():
    data = read("mpms3_vsm_mvsh_5K_crlf_magnetopy_cut.dat", repeats="keep")
    assert data.n_points == 600 and data.reading.moment_columns == {"Moment (emu)": 600}
    assert data.reading.error_columns == {"M. Std. Err. (emu)": 600}
    assert kinds(data) == [("M_vs_H", "H increasing", 600)]
    assert data.field_Oe.max() == pytest.approx(62201, abs=1)


def test_ppms_vsm_latin1_rows_without_moment_skipped():
    # PPMS VSM, Latin-1 byte 0xB5 in the column line; row 0 has T and H but no moment (a comment row), row 8 too;
    # "INFO,54.86,SAMPLE_MASS"; "INFO,(1.98, 1.99, 2.70),SAMPLE_SIZE" has unquoted commas
    data = read("ppms_vsm_mvsh_300K_magmeas_cut.dat")
    r = data.reading
    assert r.encoding == "latin-1" and r.instrument.startswith("VSM")
    assert r.mass_g == pytest.approx(54.86e-3) and r.n_rows == 700
    assert r.skipped == {"no moment value": [36, 44]}
    assert data.n_points == 698 and kinds(data) == [("M_vs_H", "H increasing", 698)]


def test_file_switching_from_vsm_to_dc_uses_the_filled_column_per_row():
    # tab-separated tail of a combined file: 300 VSM rows (FC cooling at 1000 Oe), a comment row, 229 DC rows
    # (M vs H at 293 K); "Moment (emu)" is empty in the DC rows and "DC Moment Free Ctr (emu)" in the VSM rows
    data = read("mpms3_mixed_vsm_dc_magnetopy_tab_tail.dat", repeats="keep")
    r = data.reading
    assert r.moment_columns == {"Moment (emu)": 300, "DC Moment Free Ctr (emu)": 229}
    assert r.error_columns == {"M. Std. Err. (emu)": 300, "DC Moment Err Free Ctr (emu)": 229}
    assert r.n_skipped == 1 and r.mass_g == pytest.approx(2.875e-3)
    assert kinds(data) == [("M_vs_T", "cooling", 300), ("M_vs_H", "H increasing", 115),
                           ("M_vs_H", "H decreasing", 114)]
    # an explicit column list: DC only, the VSM rows are then rows without a moment
    dc = read("mpms3_mixed_vsm_dc_magnetopy_tab_tail.dat", moment_column=["DC Moment Free Ctr (emu)"])
    assert dc.n_points == 229 and dc.reading.skipped["no moment value"][:1] == [42]


def test_a_mass_given_on_the_command_line_wins_with_a_warning():
    data = read("mpms3_dc_mvsh_5K_crlf_magnetopy.dat", mass_mg=12.0)
    assert data.reading.mass_g == pytest.approx(12e-3) and data.reading.mass_source == "--mass-mg"
    assert len(data.reading.warnings) == 1 and "differs from the header's 10.1 mg" in data.reading.warnings[0]
    base = read("mpms3_dc_mvsh_5K_crlf_magnetopy.dat")
    np.testing.assert_allclose(data.magnetization_emu_per_g * 12.0, base.magnetization_emu_per_g * 10.1, rtol=1e-12)
    assert read("mpms3_dc_mvsh_5K_crlf_magnetopy.dat", mass_mg=10.15).reading.warnings == []  # within 1 %


# ------------------------------------------------------------------------------- tunnelsim info DATA
def test_info_json_on_real_files(capsys):
    assert main(["info", str(QD / "ppms_vsm_mvsh_300K_magmeas_cut.dat"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_points"] == 698 and doc["moment_column"] == "Moment (emu)"
    assert doc["mass_g"] == pytest.approx(0.05486) and doc["skipped_rows"]["no moment value"]["count"] == 2
    assert [(r["kind"], r["n_points"]) for r in doc["runs"]] == [("M_vs_H", 698)]
    assert main(["info", str(QD / "mpms3_mixed_vsm_dc_magnetopy_tab_tail.dat"), "--json", "--keep-repeats"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["moment_column"] == ["Moment (emu)", "DC Moment Free Ctr (emu)"]
    assert [r["kind"] for r in doc["runs"]] == ["M_vs_T", "M_vs_H", "M_vs_H"]


def test_info_text_says_what_was_read(capsys):
    assert main(["info", str(QD / "mpmsxl_dc_mvst_1000Oe_hilgar.dat"), "--mass-mg", "48.4"]) == 0
    out = capsys.readouterr().out
    assert "rows: 42 data rows, 0 skipped" in out and "'Long Moment (emu)' (42 points)" in out
    assert "mass: 48.4 mg (--mass-mg); header: WEIGHT = 48.400 (unit not stated; not used)" in out
    assert "42 readings at 14 repeated set points averaged" in out
    assert "M vs T at H = 1 kOe (warming)" in out


def test_fit_reads_a_real_file_and_records_the_reading(tmp_path, capsys):
    out = tmp_path / "fit.json"
    code = main(["fit", str(QD / "mpms3_dc_mvsh_5K_crlf_magnetopy.dat"), "--model", "ll", "--no-intervals",
                 "-o", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "mass 10.1 mg (file header)" in printed
    doc = json.loads(out.read_text())
    assert doc["data"]["reading"]["mass_g"] == pytest.approx(0.0101)
    assert doc["data"]["runs"][0]["branch"] == "H increasing"
    assert "warnings" in doc


# ------------------------------------------------------------------------------- bad files
def _qd(tmp_path, body, header="[Header]\nINFO,10,SAMPLE_MASS\n[Data]\n", name="x.dat", end="\n"):
    path = tmp_path / name
    path.write_text(header + body + end)
    return path


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tunnelsim: error: "), err
    return err[0]


@pytest.mark.parametrize("body, end, fragment", [
    pytest.param("Temperature (K),Magnetic Field (Oe),Moment (emu)\n2,1000,1e-3\n3,10", "",
                 "line 6: 2 cells, the column line has 3: the file is truncated", id="truncated"),
    pytest.param("Temperature (K),Magnetic Field (Oe),Moment (emu)\n2,1000,1e-3\n3,1000,1e", "",
                 "line 6, column 'Moment (emu)': expected a number, got '1e' (the file is truncated)",
                 id="truncated-number"),
    pytest.param("Temperature (K),Magnetic Field (Oe),Voltage (V)\n2,1000,1\n3,1000,1", "\n",
                 "line 4: no moment column; expected one of", id="no-moment-column"),
    pytest.param("Temperature (K),Magnetic Field (Oe),Moment (emu)\n2,1000,1e-3\n3,1000,abc", "\n",
                 "line 6, column 'Moment (emu)': expected a number, got 'abc'", id="non-numeric"),
    pytest.param("Temperature (K),Magnetic Field (Oe),Moment (emu),Moment (emu)\n2,1,1,1\n3,1,1,1", "\n",
                 "line 4: column 'Moment (emu)' appears twice", id="duplicate-column"),
    pytest.param("Temperature (K),Magnetic Field (Oe),Moment (emu)\n2,1000,1e-3\n3,1000,1e300", "\n",
                 "row 2 (line 6), column 'Moment (emu)': out of range", id="overflow"),
])
def test_bad_instrument_files_exit_2_naming_file_line_column(tmp_path, capsys, body, end, fragment):
    path = _qd(tmp_path, body, end=end)
    assert main(["info", str(path)]) == 2
    line = _error_line(capsys)
    assert str(path) in line and fragment in line, line
    assert main(["fit", str(path), "--model", "ll"]) == 2
    assert fragment in _error_line(capsys)


def test_no_data_section_and_undecodable_files(tmp_path, capsys):
    path = _qd(tmp_path, "", header="[Header]\nTITLE,x\n")
    assert main(["info", str(path)]) == 2
    assert f"{path}: no [Data] section" in _error_line(capsys)
    u16 = tmp_path / "u16.dat"
    u16.write_bytes("[Data]\nTemperature (K)\n".encode("utf-16"))
    assert main(["info", str(u16)]) == 2
    assert f"{u16}: data file is UTF-16 text" in _error_line(capsys)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04")
    assert main(["fit", str(binary)]) == 2
    assert f"{binary}: data file is not a text file" in _error_line(capsys)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"T_K,H_Oe,M_emu_per_g\n2,1000,1e-3 \xb5\n")
    assert main(["fit", str(latin)]) == 2
    assert f"{latin}: data file is not UTF-8 text (byte 0xb5 on line 2)" in _error_line(capsys)


def test_csv_overflowing_value_is_one_line(tmp_path, capsys):
    path = tmp_path / "big.csv"
    path.write_text("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n3,1000,1e300\n4,1000,1e-3\n")
    assert main(["fit", str(path), "--model", "ll"]) == 2
    line = _error_line(capsys)
    assert "row 2 (line 3), column M_emu_per_g: out of range" in line


def test_identical_points_do_not_fit(tmp_path, capsys):
    path = tmp_path / "same.csv"
    path.write_text("T_K,H_Oe,M_emu_per_g\n" + "2,1000,1e-3\n" * 20)
    assert main(["fit", str(path), "--model", "ll"]) == 2
    assert "20 readings at a single set point" in _error_line(capsys)
    assert main(["fit", str(path), "--model", "ll", "--keep-repeats"]) == 2
    assert "1 distinct (T, H) point at nonzero field for 3 varied parameters" in _error_line(capsys)


def test_zero_field_only_file_is_refused(tmp_path, capsys):
    path = tmp_path / "zero.csv"
    path.write_text("T_K,H_Oe,M_emu_per_g\n" + "".join(f"{t},0,0\n" for t in (2, 3, 4, 5, 6)))
    assert main(["fit", str(path), "--model", "ll"]) == 2
    assert "every point is at H = 0" in _error_line(capsys)


def test_a_fit_far_outside_the_errors_warns_and_flags(tmp_path, capsys):
    T = np.repeat([2.0, 5.0, 10.0, 20.0], 5)
    H = np.tile([1e3, 5e3, 1e4, 3e4, 6e4], 4)
    rng = np.random.default_rng(1)
    M = 1e-4 * H / T * (1 + 0.3 * rng.standard_normal(T.size))  # 30 % scatter, 1e-6 stated errors
    path = tmp_path / "bad.csv"
    path.write_text("T_K,H_Oe,M_emu_per_g,sigma_emu_per_g\n"
                    + "".join(f"{t},{h},{m},1e-6\n" for t, h, m in zip(T, H, M)))
    out = tmp_path / "fit.json"
    assert main(["fit", str(path), "--model", "ll", "--no-intervals", "-o", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning: reduced chi2 =" in err[0]
    doc = json.loads(out.read_text())
    assert [w["flag"] for w in doc["warnings"]] == ["reduced_chi2_high"]


def test_error_model_options(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n3,1000,8e-4\n4,1000,6e-4\n")
    data = datafiles.read_data(path, error_model=ErrorModel(relative=0.01))
    np.testing.assert_allclose(data.sigma_emu_per_g, [1e-5, 8e-6, 6e-6])
    assert main(["info", str(path), "--no-file-errors"]) == 2
    assert "--no-file-errors needs an error model" in _error_line(capsys)
    assert main(["info", str(path), "--sigma-rel", "-1"]) == 2
    assert "--sigma-rel must be a finite number >= 0" in _error_line(capsys)


# ------------------------------------------------------------------------------- found in review
def test_scatter_of_few_readings_is_floored_by_the_pooled_relative_scatter():
    """MPMS XL: no file errors, 3 readings per set point. The error of each mean is at least the pooled
    relative scatter of all groups times |M| / sqrt(3): no point gets a weight from a lucky small scatter."""
    data = read("mpmsxl_dc_mvst_1000Oe_hilgar.dat", mass_mg=48.4)
    T, H, M, S, names, report = read_qd_file(QD / "mpmsxl_dc_mvst_1000Oe_hilgar.dat", mass_mg=48.4)
    groups = M.reshape(14, 3)
    rel2 = ((groups - groups.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / groups.mean(axis=1) ** 2
    pooled = math.sqrt(rel2.sum() / (14 * 2))
    floor = pooled * np.abs(data.magnetization_emu_per_g) / math.sqrt(3)
    assert np.all(data.sigma_emu_per_g >= floor * (1 - 1e-12))
    own = groups.std(axis=1, ddof=1) / math.sqrt(3) / 0.0484
    np.testing.assert_allclose(data.sigma_emu_per_g, np.maximum(own, floor), rtol=1e-12)
    # before the floor, the smallest relative error was 1.3e-5 against 1.7e-3 for the largest
    rel = data.sigma_emu_per_g / np.abs(data.magnetization_emu_per_g)
    assert rel.max() / rel.min() < 20


def test_error_model_giving_zero_is_an_error_naming_the_row(tmp_path):
    path = tmp_path / "m0.csv"
    path.write_text("T_K,H_Oe,M_emu_per_g\n2,1000,0\n3,1000,8e-4\n4,1000,6e-4\n")
    with pytest.raises(DataError, match=r"row 1 \(line 2\): the error model gives sigma = 0 .* add --sigma-abs"):
        datafiles.read_data(path, error_model=ErrorModel(relative=0.01))
    data = datafiles.read_data(path, error_model=ErrorModel(relative=0.01, absolute=1e-6))
    np.testing.assert_allclose(data.sigma_emu_per_g, np.hypot(0.01 * np.array([0, 8e-4, 6e-4]), 1e-6))


def test_repeats_are_not_averaged_across_runs():
    """ZFC 2 -> 20 K then FC 20 -> 2 K at one field: the two readings at 20 K belong to different runs."""
    T = [2.0, 5.0, 10.0, 15.0, 20.0, 20.0, 15.0, 10.0, 5.0, 2.0]
    data = datafiles.finish_points("<zfcfc>", T, [100.0] * 10, np.linspace(1, 2, 10), np.full(10, 0.01),
                                   [f"row {k}" for k in range(1, 11)], datafiles.ReadReport("<zfcfc>", "csv"))
    assert data.n_points == 10 and [(r.n_points, r.branch) for r in data.runs] == [(5, "ZFC"), (5, "FC cooling")]


def test_branch_names_need_the_protocol_not_a_dip():
    """A 0.2 K dip in one warming sweep is not a reversal (3 tolerances), and runs at one field
    separated by another run are not labelled ZFC/FC."""
    runs = datafiles.group_runs([2, 2.5, 3, 3.5, 3.3, 4, 4.5], [100.0] * 7)
    assert [(r.n_points, r.branch) for r in runs] == [(7, "warming")]
    T = [2, 5, 10, 20] + [2] * 5 + [2, 5, 10, 20]
    H = [100.0] * 4 + [1000.0, 2000.0, 3000.0, 4000.0, 5000.0] + [100.0] * 4
    assert [r.branch for r in datafiles.group_runs(T, H)][0] == "warming"
    T = [2, 5, 10, 20, 20, 10, 5, 2, 2, 5, 10, 20]
    assert [r.branch for r in datafiles.group_runs(T, [100.0] * 12)] == ["ZFC", "FC cooling", "FC warming"]


def test_a_latin1_0x85_byte_does_not_split_a_row(tmp_path):
    raw = (QD / "ppms_vsm_mvsh_300K_magmeas_cut.dat").read_bytes()
    marker = b"sample offset"
    path = tmp_path / "nel.dat"
    path.write_bytes(raw.replace(marker, b"wait\x85 " + marker, 1))
    data = datafiles.read_data(path)
    assert data.reading.n_rows == 700 and data.reading.skipped == {"no moment value": [36, 44]}


def test_csv_with_trailing_delimiters_is_read(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("T_K,H_Oe,M_emu_per_g,,\n2,1000,1e-3,,\n3,1000,8e-4,,\n")
    data = datafiles.read_data(path)
    assert data.n_points == 2


def test_an_unlisted_moment_column_finds_its_error_column_or_says_there_is_none(tmp_path):
    path = tmp_path / "xl.dat"
    path.write_text("[Header]\nINFO,10,SAMPLE_MASS\n[Data]\nTemperature (K),Field (Oe),Long Moment [w/o ABS] (emu),"
                    "Long Scan Std Dev [w/o ABS],Other Moment (emu)\n2,1000,1e-3,1e-7,5\n3,1000,8e-4,1e-7,5\n")
    data = datafiles.read_data(path, moment_column="Long Moment [w/o ABS] (emu)")
    assert data.reading.error_columns == {"Long Scan Std Dev [w/o ABS]": 2} and data.reading.warnings == []
    other = datafiles.read_data(path, moment_column="Other Moment (emu)")
    assert other.sigma_emu_per_g is None
    assert other.reading.warnings == ["no error column found for 'Other Moment (emu)': its points carry no file errors"]
