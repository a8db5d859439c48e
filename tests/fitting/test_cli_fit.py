"""``tunnelsim synth`` and ``tunnelsim fit`` from the command line."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tunnelsim.cli import main
from tunnelsim.fitting.data import read_csv

BK7_FILE = Path(__file__).resolve().parents[2] / "simulations" / "bk7_synthetic_params.toml"


def _error_line(capsys):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def bk7_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "bk7.csv"
    assert main(["synth", str(BK7_FILE), "-o", str(path), "--seed", "3"]) == 0
    return path


def test_importing_the_cli_loads_no_fitting_libraries():
    code = ("import sys, tunnelsim.cli; "
            "print(','.join(m for m in ('lmfit', 'matplotlib', 'qutip', 'scipy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_synth_writes_the_seed_runs_with_provenance(bk7_csv, capsys):
    data = read_csv(bk7_csv)
    assert data.n_points == 500 and len(data.runs) == 14 and data.sigma_emu_per_g is not None
    assert any("seed = 3" in note for note in data.notes)
    assert any(note.startswith("parameters: n_Fe2_per_g = 1.099e+17") for note in data.notes)


def test_synth_refuses_to_overwrite_and_seed_reproduces(bk7_csv, tmp_path, capsys):
    assert main(["synth", str(BK7_FILE), "-o", str(bk7_csv)]) == 2
    assert "use --force" in _error_line(capsys)
    again = tmp_path / "again.csv"
    assert main(["synth", str(BK7_FILE), "-o", str(again), "--seed", "3"]) == 0
    np.testing.assert_array_equal(read_csv(again).magnetization_emu_per_g, read_csv(bk7_csv).magnetization_emu_per_g)


def test_synth_bad_parameter_file(tmp_path, capsys):
    params = tmp_path / "p.toml"
    params.write_text("[parameters]\nD_min_K = -1.0\n")
    assert main(["synth", str(params), "-o", str(tmp_path / "d.csv")]) == 2
    assert "parameters.D_min_K: must be > 0" in _error_line(capsys)
    assert not (tmp_path / "d.csv").exists()


@pytest.mark.slow
def test_fit_etm_writes_json_and_plots(bk7_csv, tmp_path, capsys):
    out, plots = tmp_path / "fit.json", tmp_path / "plots"
    assert main(["fit", str(bk7_csv), "--params", str(BK7_FILE), "-o", str(out), "--plots", str(plots),
                 "--no-intervals"]) == 0  # intervals: test_fit_writes_profile_intervals_by_default
    text = capsys.readouterr().out
    assert "model etm: 500 points, 8 varied parameters" in text and "P* = 0.159155" in text
    doc = json.loads(out.read_text())
    assert doc["model"] == "etm" and doc["n_points"] == 500
    assert doc["parameters"]["D0QS_max_K_A2"]["stderr"] is not None
    assert doc["parameters"]["chi_L_emu_per_g_Oe"]["value"] == pytest.approx(4.227e-7, rel=1e-2)
    assert doc["settings"]["P_star"] == pytest.approx(1 / (2 * math.pi))
    assert doc["data"]["n_points"] == 500 and doc["command"].startswith("tunnelsim fit")
    assert {"chi2_reduced", "aic", "bic", "correlation", "flags"} <= set(doc)
    assert sorted(p.name for p in plots.iterdir()) == ["curie_test.png", "fit.png", "residuals.png"]


def test_fit_ll_with_fixed_parameter_and_p_star(bk7_csv, tmp_path, capsys):
    out = tmp_path / "ll.json"
    assert main(["fit", str(bk7_csv), "--model", "ll", "--fix", "n_Fe2_per_g=1.0e17", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["parameters"]["n_Fe2_per_g"] == {"value": 1.0e17, "stderr": None, "vary": False, "flags": [],
                                                "ci68": None, "ci95": None}
    assert doc["n_varied"] == 2


def test_fit_per_run_prints_the_seed_tables(bk7_csv, tmp_path, capsys):
    out, plots = tmp_path / "per_run.json", tmp_path / "plots"
    assert main(["fit", str(bk7_csv), "--model", "ll", "--per-run", "-o", str(out), "--plots", str(plots)]) == 0
    text = capsys.readouterr().out
    assert "as the seed's Table 1" in text and "as the seed's Table 2" in text
    assert "n(Fe3+) 1e17/g [Fe3+ only]" in text and "n(Fe2+) 1e17/g [Fe2+ only]" in text
    doc = json.loads(out.read_text())
    assert doc["analysis"] == "per_run" and len(doc["runs"]) == 14
    assert (plots / "langevin_per_run.png").exists()


@pytest.mark.parametrize("content, fragment", [
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n3,1000,abc\n",
                 "row 2 (line 3), column M_emu_per_g: expected a number", id="non-numeric"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n3,1000,nan\n",
                 "row 2 (line 3), column M_emu_per_g: must be finite", id="nan"),
    pytest.param("T_K,M_emu_per_g\n2,1e-3\n3,1e-3\n", "missing column H_Oe", id="missing-column"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n0,1000,1e-3\n", "row 2 (line 3), column T_K: must be > 0",
                 id="zero-T"),
    pytest.param("T_K,H_Oe,M_emu_per_g\n2,1000,1e-3\n", "1 data point", id="single-point"),
])
def test_fit_bad_data_exits_2_naming_row_and_column(tmp_path, capsys, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["fit", str(path), "--model", "ll"]) == 2
    line = _error_line(capsys)
    assert line.startswith("tunnelsim: error: ") and fragment in line


@pytest.mark.parametrize("args, fragment", [
    pytest.param(["--model", "bogus"], "--model: expected one of ll, etm", id="model-name"),
    pytest.param(["--model", "ll", "--fix", "n_Fe2_per_g"], "--fix: expected NAME=VALUE", id="fix-syntax"),
    pytest.param(["--model", "ll", "--fix", "D_min_K=1"], "cannot fix 'D_min_K'", id="fix-name"),
    pytest.param(["--per-run"], "--per-run fits each run", id="per-run-etm"),
    pytest.param(["--model", "ll", "--mass-mg", "10"], "already in emu/g", id="mass-for-csv"),
    pytest.param(["--model", "ll", "--max-nfev", "0"], "--max-nfev must be >= 1", id="max-nfev"),
])
def test_fit_bad_options_exit_2(bk7_csv, capsys, args, fragment):
    assert main(["fit", str(bk7_csv), *args]) == 2
    assert fragment in _error_line(capsys)


def test_fit_that_does_not_converge_exits_1_with_one_line(bk7_csv, tmp_path, capsys):
    out = tmp_path / "fit.json"
    code = main(["fit", str(bk7_csv), "--params", str(BK7_FILE), "--max-nfev", "3", "-o", str(out)])
    assert code == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "did not converge" in lines[0]
    assert [line.split(":")[0] for line in captured.out.splitlines()] == ["read"] and not out.exists()


def test_fit_reads_an_mpms_file(tmp_path, capsys):
    path = tmp_path / "run.dat"
    rows = "\n".join(f",{k},{T},{H},{m},{m * 1e-3}" for k, (T, H, m) in enumerate(
        [(2.0, 1e4, 2e-3), (3.0, 1e4, 1.4e-3), (5.0, 1e4, 9e-4), (10.0, 1e4, 5e-4)]))
    path.write_text("[Header]\nTITLE,x\n[Data]\nComment,Time Stamp (sec),Temperature (K),Magnetic Field (Oe),"
                    f"Moment (emu),M. Std. Err. (emu)\n{rows}\n")
    assert main(["fit", str(path), "--model", "ll"]) == 2
    assert "sample mass" in _error_line(capsys)
    assert main(["fit", str(path), "--model", "ll", "--mass-mg", "96.8", "--fix", "n_Fe2_per_g=0"]) == 0
    assert "4 points in 1 runs" in capsys.readouterr().out


# ------------------------------------------------------------------ automatic start, output checks
def _zero_field_csv(tmp_path):
    path = tmp_path / "zero_field.csv"
    path.write_text("T_K,H_Oe,M_emu_per_g\n" + "".join(f"{T},0,0\n" for T in (2, 3, 5, 10, 20, 50)))
    return path


@pytest.mark.slow
def test_fit_without_params_estimates_and_prints_the_start(bk7_csv, tmp_path, capsys):
    out = tmp_path / "fit.json"
    assert main(["fit", str(bk7_csv), "-o", str(out), "--no-intervals"]) == 0
    captured = capsys.readouterr()
    starts = [line for line in captured.out.splitlines() if line.startswith("start: ")]
    names = ("n_Fe2_per_g", "n_Fe3_per_g", "chi_L_emu_per_g_Oe", "n_ATS_per_g", "D_min_K", "D0QS_min_K_A2",
             "D0QS_max_K_A2", "delta_mu_K")
    for name in names:
        assert any(line.startswith(f"start: {name} = ") and "(from " in line for line in starts), name
    assert "model etm: 500 points, 8 varied parameters" in captured.out and "Eq. 15 on" in captured.out
    assert "warning" not in captured.err
    doc = json.loads(out.read_text())
    assert doc["parameters"]["chi_L_emu_per_g_Oe"]["value"] == pytest.approx(4.227e-7, rel=1e-2)
    assert set(doc["start"]["values"]) == set(names)


def test_params_file_values_win_and_the_rest_is_estimated(bk7_csv, tmp_path, capsys):
    params = tmp_path / "partial.toml"
    params.write_text("[parameters]\nn_Fe2_per_g = 1.0e17\nchi_L_emu_per_g_Oe = 4.0e-7\n")
    out = tmp_path / "ll.json"
    assert main(["fit", str(bk7_csv), "--model", "ll", "--params", str(params), "--max-nfev", "50",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"start: n_Fe2_per_g = 1e+17 (from given in {params})" in text
    assert f"start: chi_L_emu_per_g_Oe = 4e-07 (from given in {params})" in text
    assert "start: n_Fe3_per_g = " in text and "(from weighted linear least squares" in text
    start = json.loads(out.read_text())["start"]
    assert start["values"]["n_Fe2_per_g"] == 1.0e17 and start["values"]["n_Fe3_per_g"] > 0


def test_plots_naming_a_regular_file_exits_2_before_any_fit(bk7_csv, tmp_path, capsys):
    out, plots = tmp_path / "fit.json", tmp_path / "plots.png"
    plots.write_text("not a directory")
    assert main(["fit", str(bk7_csv), "--model", "ll", "-o", str(out), "--plots", str(plots)]) == 2
    line = _error_line(capsys)
    assert "--plots" in line and "not a directory" in line
    assert not out.exists() and plots.read_text() == "not a directory"


@pytest.mark.parametrize("command", [["fit", "--model", "etm"], ["fit", "--model", "ll"],
                                     ["compare", "--models", "ll,etm"]], ids=["fit-etm", "fit-ll", "compare"])
def test_zero_field_only_data_exits_2_with_one_line(tmp_path, capsys, command):
    path = _zero_field_csv(tmp_path)
    out = tmp_path / "out.json"
    assert main([command[0], str(path), *command[1:], "-o", str(out)]) == 2
    line = _error_line(capsys)
    assert "zero_field.csv" in line and "H = 0" in line and not out.exists()


def test_fit_far_from_the_data_warns_on_stderr(bk7_csv, capsys):
    """The LL model on data with an intrinsic term: reduced chi2 far above 1 with sigma given."""
    assert main(["fit", str(bk7_csv), "--model", "ll"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tunnelsim: warning: reduced chi2 = ") and "> 10" in err[0]


@pytest.mark.slow
def test_compare_prefers_etm_and_writes_json_and_residual_plots(bk7_csv, tmp_path, capsys):
    out, plots = tmp_path / "cmp.json", tmp_path / "plots"
    assert main(["compare", str(bk7_csv), "--models", "ll,etm", "-o", str(out), "--plots", str(plots)]) == 0
    text = capsys.readouterr().out
    assert "AIC prefers etm" in text and "start (etm): n_ATS_per_g = " in text
    doc = json.loads(out.read_text())
    assert doc["preferred"] == "etm" and doc["command"].startswith("tunnelsim compare")
    assert doc["fits"]["etm"]["aic"] < doc["fits"]["ll"]["aic"]
    assert {row["model"]: row["delta_aic"] for row in doc["table"]}["etm"] == 0.0
    assert sorted(p.name for p in plots.iterdir()) == ["residuals_etm.png", "residuals_ll.png"]


@pytest.mark.parametrize("args, fragment", [
    pytest.param(["--models", "ll,foo"], "unknown model 'foo'", id="model-name"),
    pytest.param(["--models", "ll", "--fix", "D_min_K=0.1"], "cannot fix 'D_min_K'", id="fix-name"),
])
def test_compare_bad_options_exit_2(bk7_csv, capsys, args, fragment):
    assert main(["compare", str(bk7_csv), *args]) == 2
    assert fragment in _error_line(capsys)


def test_compare_plots_naming_a_regular_file_exits_2_and_writes_no_json(bk7_csv, tmp_path, capsys):
    out, plots = tmp_path / "cmp.json", tmp_path / "file"
    plots.write_text("x")
    assert main(["compare", str(bk7_csv), "--models", "ll", "-o", str(out), "--plots", str(plots)]) == 2
    assert "not a directory" in _error_line(capsys) and not out.exists()


def test_compare_where_no_model_converges_exits_1(bk7_csv, tmp_path, capsys):
    out = tmp_path / "cmp.json"
    assert main(["compare", str(bk7_csv), "--models", "etm", "--max-nfev", "2", "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert "etm: not converged" in captured.out and "no model converged" in captured.out
    assert json.loads(out.read_text())["preferred"] is None


# ------------------------------------------------------------------ profile-likelihood intervals
@pytest.fixture(scope="module")
def small_etm_csv(tmp_path_factory):
    """etm-model data on a reduced set of the seed's runs (102 points)."""
    from tunnelsim.fitting.data import write_csv
    from tunnelsim.fitting.parameters import load_parameter_file, seed_runs
    from tunnelsim.fitting.synth import synthesize

    pf = load_parameter_file(BK7_FILE)
    runs = seed_runs(n_temperatures=18, n_fields=16, fields_Oe=(1000.0, 10000.0, 50000.0),
                     temperatures_K=(2.0, 4.5, 10.0))
    data = synthesize(pf.values(), runs, pf.noise, seed=7, P_star=pf.P_star, T0_K=pf.T0_K)
    return write_csv(tmp_path_factory.mktemp("small") / "etm.csv", data)


# the D0 width held at the truth: D_min_K and delta_mu_K are profiled (a few seconds)
_HELD = ["--fix", "n_ATS_per_g=1.352e16", "D0QS_min_K_A2=2.717e5", "D0QS_max_K_A2=2.925e5"]


def test_fit_writes_profile_intervals_by_default(small_etm_csv, tmp_path, capsys):
    out = tmp_path / "fit.json"
    assert main(["fit", str(small_etm_csv), "--params", str(BK7_FILE), *_HELD, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ci68" in text and "ci95" in text and "(profile likelihood" in text
    assert any(line.startswith("profile: delta_mu_K: ") and " refits in " in line for line in text.splitlines())
    assert "profile likelihood: ci68 Delta chi2 = 1, ci95 Delta chi2 = 3.841; " in text and " s" in text
    doc = json.loads(out.read_text())
    pars = doc["parameters"]
    for name in ("D_min_K", "delta_mu_K"):
        low, high = pars[name]["ci95"]
        lo68, hi68 = pars[name]["ci68"]
        assert low <= lo68 <= pars[name]["value"] <= hi68 <= high, name
    lo, hi = pars["delta_mu_K"]["ci95"]  # well determined: closed on both sides
    assert 0 < lo < pars["delta_mu_K"]["value"] < hi < 1.0
    # the schema does not depend on what was profiled: every parameter has the keys
    for name, p in pars.items():
        assert "ci68" in p and "ci95" in p, name
    assert pars["n_ATS_per_g"]["ci95"] is None and pars["n_Fe2_per_g"]["ci68"] is None  # fixed / well determined
    prof = doc["profile_likelihood"]
    assert set(prof["refits"]) == {"D_min_K", "delta_mu_K"} and prof["total_refits"] >= 4
    assert prof["max_refits_per_parameter"] == 16 and prof["seconds"] > 0


def test_fit_no_intervals_gives_nulls_and_profile_refits_caps(small_etm_csv, tmp_path, capsys):
    out = tmp_path / "plain.json"
    assert main(["fit", str(small_etm_csv), "--params", str(BK7_FILE), *_HELD, "--no-intervals", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ci95" not in text and "profile" not in text
    doc = json.loads(out.read_text())
    assert doc["profile_likelihood"] is None
    assert all(p["ci68"] is None and p["ci95"] is None for p in doc["parameters"].values())
    capped = tmp_path / "capped.json"
    assert main(["fit", str(small_etm_csv), "--params", str(BK7_FILE), *_HELD, "--fix", "D_min_K=0.02671",
                 "--profile-refits", "2", "-o", str(capped)]) == 0
    prof = json.loads(capped.read_text())["profile_likelihood"]
    assert prof["refits"] == {"delta_mu_K": 2} and prof["max_refits_per_parameter"] == 2
    assert main(["fit", str(small_etm_csv), "--profile-refits", "-1"]) == 2
    assert "--profile-refits must be >= 0" in _error_line(capsys)


def test_compare_intervals_on_request(small_etm_csv, tmp_path, capsys):
    """Off by default; --intervals profiles each fit and the table shows the 95 % intervals."""
    out = tmp_path / "cmp.json"
    args = ["compare", str(small_etm_csv), "--models", "ll,etm", "--params", str(BK7_FILE), *_HELD]
    assert main([*args, "--intervals", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "etm: profile: delta_mu_K: " in text and "[95 % profile interval]" in text
    doc = json.loads(out.read_text())
    etm = doc["fits"]["etm"]
    assert etm["profile_likelihood"] is not None and set(etm["profile_likelihood"]["refits"]) == {
        "D_min_K", "delta_mu_K"}
    low, high = etm["parameters"]["delta_mu_K"]["ci95"]
    assert low < etm["parameters"]["delta_mu_K"]["value"] < high
    row = {r["model"]: r for r in doc["table"]}["etm"]
    assert row["parameters"]["delta_mu_K"]["ci95"] == [low, high]
    assert all("ci95" in p for p in doc["fits"]["ll"]["parameters"].values())
    plain = tmp_path / "plain.json"
    assert main([*args, "--models", "etm", "-o", str(plain)]) == 0
    assert "profile" not in capsys.readouterr().out
    assert json.loads(plain.read_text())["fits"]["etm"]["profile_likelihood"] is None


def test_fit_with_total_iron_scans_the_fraction_and_states_the_conventions(small_etm_csv, tmp_path, capsys):
    """--iron-total with --iron-fractions: the chi2 profile of x (the seed's Figs. 16-18), the fit with x
    free, its figure; --eq10-prefactor seed is stated in the printout and the JSON."""
    out, plots = tmp_path / "f.json", tmp_path / "plots"
    code = main(["fit", str(small_etm_csv), "--no-intervals", "--iron-total", "1.698e17",
                 "--iron-fractions", "0,0.6,1", "--eq10-prefactor", "seed", "-o", str(out), "--plots", str(plots)])
    assert code == 0
    text = capsys.readouterr().out
    assert "chi2 against x(Fe2+)" in text and "fitted x(Fe2+)" in text and "seed's printed" in text
    doc = json.loads(out.read_text())
    assert doc["iron_fraction_scan"]["x_values"] == [0.0, 0.6, 1.0]
    chi2 = doc["iron_fraction_scan"]["chi2"]
    assert chi2[1] < chi2[0] and chi2[1] < chi2[2]                     # the truth is x = 1.099/1.698 = 0.647
    assert abs(doc["parameters"]["x_Fe2"]["value"] - 1.099 / 1.698) < 0.05
    assert doc["parameters"]["n_Fe_total_per_g"]["vary"] is False
    assert "seed" in doc["settings"]["eq10_prefactor"]
    assert (plots / "iron_fraction_scan.png").is_file()


@pytest.mark.parametrize("args, fragment", [
    pytest.param(["--iron-fractions", "0,1"], "needs --iron-total", id="fractions-without-total"),
    pytest.param(["--iron-total", "-1"], "--iron-total", id="negative-total"),
    pytest.param(["--iron-total", "1e17", "--iron-fractions", "0,x"], "--iron-fractions", id="not-numbers"),
])
def test_fit_iron_options_are_checked_before_any_fit(small_etm_csv, capsys, args, fragment):
    assert main(["fit", str(small_etm_csv), *args]) == 2
    assert fragment in _error_line(capsys)


def test_fit_unknown_prefactor_convention_is_a_usage_error(small_etm_csv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", str(small_etm_csv), "--eq10-prefactor", "printed"])
    assert exit_info.value.code == 2 and "eq10-prefactor" in capsys.readouterr().err


# ------------------------------------------------------------------------------- species and input encodings
_GD_PARAMS = """title = "Gd3+ in a glass"
[settings]
species = ["Gd3+"]
[parameters]
n_Gd3_per_g = 4e16
chi_L_emu_per_g_Oe = 4e-7
n_ATS_per_g = 1.352e16
D_min_K = 0.02671
D0QS_min_K_A2 = 2.717e5
D0QS_max_K_A2 = 2.925e5
[noise]
relative = 1e-3
seed = 5
"""


def test_species_from_the_command_line_and_parameter_file(tmp_path, capsys):
    params = tmp_path / "gd.toml"
    params.write_text(_GD_PARAMS)
    data = tmp_path / "gd.csv"
    assert main(["synth", str(params), "-o", str(data)]) == 0
    out = tmp_path / "fit.json"
    assert main(["fit", str(data), "--species", "Gd3+", "--model", "ll", "--no-intervals", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert set(doc["parameters"]) == {"n_Gd3_per_g", "chi_L_emu_per_g_Oe"}
    p = doc["parameters"]["n_Gd3_per_g"]
    # the Gd3+ density of the synthesised data (which also hold the intrinsic term, absorbed here) within 5 %
    assert abs(p["value"] / 4e16 - 1) < 0.05
    assert doc["settings"]["species"][0]["name"] == "Gd3+" and doc["settings"]["species"][0]["J"] == 3.5
    capsys.readouterr()
    assert main(["fit", str(data), "--species", "Gd3+", "--iron-total", "1e17"]) == 2
    assert "needs exactly the species Fe2+ and Fe3+" in _error_line(capsys)
    assert main(["fit", str(data), "--species", "Xx9+"]) == 2
    assert "--species: unknown species 'Xx9+'" in _error_line(capsys)


@pytest.mark.parametrize("content, fragment", [
    pytest.param("title = 'x'\n".encode("utf-16"), "parameter file is UTF-16 text", id="utf16"),
    pytest.param(b"title = '\xe9'\n", "parameter file is not UTF-8 text (byte 0xe9 on line 1)", id="latin1"),
    pytest.param(b"\x00\x01\x02\x03", "parameter file is not a text file", id="binary"),
])
def test_parameter_files_that_are_not_utf8_exit_2_naming_the_file(bk7_csv, tmp_path, capsys, content, fragment):
    params = tmp_path / "p.toml"
    params.write_bytes(content)
    assert main(["fit", str(bk7_csv), "--params", str(params)]) == 2
    line = _error_line(capsys)
    assert str(params) in line and fragment in line


def test_parameter_file_with_a_byte_order_mark_is_read(tmp_path):
    from tunnelsim.fitting.parameters import load_parameter_file

    params = tmp_path / "bom.toml"
    params.write_bytes(b"\xef\xbb\xbf" + BK7_FILE.read_bytes())
    assert load_parameter_file(params).values() == load_parameter_file(BK7_FILE).values()


_EQ16_PARAMS = """title = "Eq. 16 BK7-like"
[parameters]
n_Fe2_per_g = 1.12e17
n_Fe3_per_g = 6.0e16
chi_L_emu_per_g_Oe = 4.227e-7
n_ATS_per_g = 1.352e16
D_min_K = 0.02671
D0QS_min_K_A2 = 2.717e5
D0QS_max_K_A2 = 2.925e5
gamma = 0.3
E0_K = 0.8
[noise]
relative = 2e-4
seed = 2
"""


def test_eq16_in_synth_and_fits(tmp_path, capsys):
    """Eq. 16 (gamma, E0_K) from a parameter file and with --temperature-law eq16 and no file: the truth is
    recovered within 3 standard errors, and Eq. 15 fits the same data worse (AIC)."""
    params = tmp_path / "eq16.toml"
    params.write_text(_EQ16_PARAMS)
    data = tmp_path / "eq16.csv"
    assert main(["synth", str(params), "-o", str(data)]) == 0
    fits = {}
    for law in ("eq16", "eq15"):
        out = tmp_path / f"{law}.json"
        assert main(["fit", str(data), "--temperature-law", law, "--no-intervals", "-o", str(out)]) == 0
        fits[law] = json.loads(out.read_text())
    p = fits["eq16"]["parameters"]
    assert fits["eq16"]["settings"]["temperature_dependence"] == "eq16" and "delta_mu_K" not in p
    for name, truth in (("gamma", 0.3), ("E0_K", 0.8)):
        assert abs(p[name]["value"] - truth) < 3 * p[name]["stderr"], name
    assert fits["eq16"]["chi2_reduced"] < 1.2 < fits["eq15"]["chi2_reduced"]
    assert fits["eq15"]["aic"] - fits["eq16"]["aic"] > 100
    capsys.readouterr()
    assert main(["fit", str(data), "--params", str(params), "--temperature-law", "eq15"]) == 2
    assert "temperature law eq15: the parameters given name eq16" in _error_line(capsys)
    bad = tmp_path / "both.toml"
    bad.write_text(_EQ16_PARAMS.replace("E0_K = 0.8", "E0_K = 0.8\ndelta_mu_K = 0.3"))
    assert main(["synth", str(bad), "-o", str(tmp_path / "x.csv")]) == 2
    assert "give either delta_mu_K (Eq. 15) or gamma and E0_K (Eq. 16), not both" in _error_line(capsys)


def test_profile_option_names_the_parameters_to_profile(bk7_csv, tmp_path, capsys):
    out = tmp_path / "fit.json"
    assert main(["fit", str(bk7_csv), "--model", "ll", "--profile", "chi_L_emu_per_g_Oe", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    p = doc["parameters"]
    lo, hi = p["chi_L_emu_per_g_Oe"]["ci95"]
    value, stderr = p["chi_L_emu_per_g_Oe"]["value"], p["chi_L_emu_per_g_Oe"]["stderr"]
    # a linear parameter of a linear model: the profile interval is value +- 1.96 stderr (to 5 % of stderr)
    assert abs(lo - (value - 1.96 * stderr)) < 0.05 * stderr and abs(hi - (value + 1.96 * stderr)) < 0.05 * stderr
    assert p["n_Fe3_per_g"]["ci95"] is None
    capsys.readouterr()
    assert main(["fit", str(bk7_csv), "--model", "ll", "--profile", "D_min_K"]) == 2
    assert "cannot profile 'D_min_K'" in _error_line(capsys)
