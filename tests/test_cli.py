"""The command line: run, info, plot, --version (the figure functions are tested in test_plotting.py)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tunnelsim import __version__
from tunnelsim.cli import main
from tunnelsim.results import read_result, write_result

from conftest import make_result

REPO = Path(__file__).resolve().parents[1]

TINY_CONFIG = """title = "cli test"
[system]
kind = "three_level"
charge_area_A2 = 30000.0
[distribution]
kind = "ats"
density_per_g = 1.0e16
D_min_K = 0.05
D_max_K = 20.0
D0_min_K = 2.0
D0_max_K = 3.0
[averaging]
orientation_nodes = 2
error_estimate = false
[grid]
temperature_K = [2.0, 10.0, 40.0]
field_T = [1.0, 3.0]
[output]
observables = ["magnetization"]
path = "results/tiny.h5"
"""


@pytest.fixture
def result_file(tmp_path):
    path = tmp_path / "r.h5"
    write_result(path, make_result(), extra_attrs={"title": "cli fixture"})
    return path


def run_python(code_or_args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, *code_or_args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)


def assert_one_line_error(capsys, fragment):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tunnelsim: error: "), err
    assert fragment in lines[0], err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- start-up
def test_importing_the_cli_loads_no_heavy_libraries():
    code = ("import sys, tunnelsim.cli; "
            "print(','.join(m for m in ('qutip', 'matplotlib', 'h5py') if m in sys.modules))")
    proc = run_python(["-c", code])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


@pytest.mark.parametrize(
    "args",
    [pytest.param(["-m", "tunnelsim", "--version"], id="python-m"),
     pytest.param(["-c", "import sys; from tunnelsim.cli import main; sys.exit(main(['--version']))"], id="main")],
)
def test_version(args):
    proc = run_python(args)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"tunnelsim {__version__}"


def test_no_command_is_an_error(capsys):
    assert main([]) == 2
    assert "a command is required" in capsys.readouterr().err


def test_unknown_option_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run"])
    assert info.value.code == 2


# --------------------------------------------------------------------------- info
def test_info_prints_summary(result_file, capsys):
    assert main(["info", str(result_file)]) == 0
    out = capsys.readouterr().out
    assert "title: cli fixture" in out
    assert "temperature  4 points" in out and "field        2 points" in out
    assert "magnetization" in out and "[emu/g]" in out and "heat_capacity" in out
    assert f"tunnelsim_version: {__version__}" in out


@pytest.mark.parametrize(
    "content, fragment",
    [pytest.param(None, "no such result file", id="missing"),
     pytest.param("plain text", "not a readable HDF5 file", id="not-hdf5")],
)
def test_info_bad_file_is_one_line_error(tmp_path, capsys, content, fragment):
    path = tmp_path / "x.h5"
    if content is not None:
        path.write_text(content)
    assert main(["info", str(path)]) == 2
    assert_one_line_error(capsys, fragment)


# --------------------------------------------------------------------------- plot
def test_plot_command_writes_figure(result_file, tmp_path, capsys):
    assert main(["plot", str(result_file)]) == 0
    png = result_file.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot: {png}" in capsys.readouterr().out
    svg = tmp_path / "figs" / "c.svg"
    assert main(["plot", str(result_file), "-o", str(svg), "--observable", "heat_capacity"]) == 0
    assert "<svg" in svg.read_text()


@pytest.mark.parametrize(
    "extra, fragment",
    [pytest.param(["--observable", "entropy"], "observable 'entropy' not in the result", id="unknown-observable"),
     pytest.param(["-o", "SELF"], "would overwrite the result set", id="overwrite-result")],
)
def test_plot_bad_input(result_file, capsys, extra, fragment):
    extra = [str(result_file) if a == "SELF" else a for a in extra]
    assert main(["plot", str(result_file), *extra]) == 2
    assert_one_line_error(capsys, fragment)


# --------------------------------------------------------------------------- run
@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_CONFIG)
    return path


def test_run_config_errors_are_one_line(tmp_path, capsys, config_file):
    assert main(["run", str(tmp_path / "nope.toml")]) == 2
    assert_one_line_error(capsys, "nope.toml: cannot read config")
    config_file.write_text(TINY_CONFIG.replace("D_min_K = 0.05", "D_min_K = true"))
    assert main(["run", str(config_file)]) == 2
    assert_one_line_error(capsys, "tiny.toml: distribution.D_min_K: must be a number, got boolean true")


def test_run_refuses_existing_output_before_computing(tmp_path, capsys, config_file, monkeypatch):
    from tunnelsim import runner

    out = tmp_path / "exists.h5"
    out.write_bytes(b"keep me")
    monkeypatch.setattr(runner, "run", lambda *a, **k: pytest.fail("computed although the output exists"))
    assert main(["run", str(config_file), "-o", str(out)]) == 2
    assert_one_line_error(capsys, "exists; use force (--force)")
    assert out.read_bytes() == b"keep me"


def test_run_end_to_end(tmp_path, capsys, config_file, monkeypatch):
    xr = pytest.importorskip("xarray")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config_file)]) == 0
    out = capsys.readouterr().out
    result_path = Path("results/tiny.h5")
    assert f"result set: {result_path}" in out and f"plot: {result_path.with_suffix('.png')}" in out
    assert result_path.with_suffix(".png").stat().st_size > 0
    rs = read_result(result_path)
    assert rs.values["magnetization"].shape == (3, 2)
    assert np.all(np.isfinite(rs.values["magnetization"]))
    assert rs.attrs["command"] == f"tunnelsim run {config_file}"
    assert rs.attrs["config"] == TINY_CONFIG and rs.attrs["title"] == "cli test"
    with xr.open_dataset(result_path, engine="h5netcdf") as ds:
        assert ds["magnetization"].dims == ("temperature", "field")
    assert main(["run", str(config_file)]) == 2
    assert_one_line_error(capsys, "results/tiny.h5: result set exists")
    assert main(["run", str(config_file), "--force", "-o", "other/o.h5"]) == 0
    assert Path("other/o.h5").is_file() and Path("other/o.png").is_file()


@pytest.mark.slow
def test_console_run_without_tty_shows_no_progress_bar(tmp_path, config_file):
    out = tmp_path / "sub.h5"
    proc = run_python(["-m", "tunnelsim", "run", str(config_file), "-o", str(out)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines()[0] == f"result set: {out}"
    assert out.is_file()


# --------------------------------------------------------------------------- bounded resources and faults
def test_run_refuses_to_replace_its_own_config(tmp_path, capsys, config_file):
    before = config_file.read_text()
    assert main(["run", str(config_file), "-o", str(config_file), "--force"]) == 2
    assert_one_line_error(capsys, "would replace the input file")
    assert config_file.read_text() == before


def test_run_refuses_a_directory_output(tmp_path, capsys, config_file):
    assert main(["run", str(config_file), "-o", str(tmp_path)]) == 2
    assert_one_line_error(capsys, "is a directory")


def test_run_that_cannot_fit_in_memory_is_one_line_exit_2(tmp_path, capsys, config_file):
    config_file.write_text(TINY_CONFIG.replace("orientation_nodes = 2", 'orientation_nodes = 2\nmethod = "monte_carlo"\n'
                                                                        "samples = 1000000000000"))
    out = tmp_path / "never.h5"
    assert main(["run", str(config_file), "-o", str(out)]) == 2
    assert_one_line_error(capsys, "tiny.toml: averaging.samples: the run needs an estimated")
    assert not out.exists()


def test_run_prints_the_estimate_with_the_progress_line(tmp_path, capsys, config_file, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(["run", str(config_file), "-o", str(tmp_path / "o.h5")]) == 0
    err = capsys.readouterr().err
    assert "tunnelsim: 1760 nodes x 2 orientations on 3 x 2 (T, B); estimated memory " in err
    assert ", time ~" in err


SLOW_CONFIG = TINY_CONFIG.replace("orientation_nodes = 2", "orientation_nodes = 2\nnodes = { D = 400, D0 = 40, alpha = 400 }"
                                  ).replace("temperature_K = [2.0, 10.0, 40.0]",
                                            'temperature_K = { start = 2.0, stop = 40.0, num = 200, scale = "log" }')


@pytest.mark.slow
def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    import signal
    import time

    config = tmp_path / "slow.toml"
    config.write_text(SLOW_CONFIG)
    out = tmp_path / "out.h5"
    out.write_bytes(b"old result")
    proc = subprocess.Popen([sys.executable, "-m", "tunnelsim", "run", str(config), "-o", str(out), "--force"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.h5.*.tmp")):  # the run is writing: mid-run
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "tunnelsim: terminated"
    assert out.read_bytes() == b"old result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5", "slow.toml"]


def test_sigterm_handler_is_installed_only_during_a_command(tmp_path, config_file, monkeypatch):
    import signal

    from tunnelsim import runner

    before = signal.getsignal(signal.SIGTERM)
    seen = {}

    def fake_run_to_file(*args, **kwargs):
        seen["handler"] = signal.getsignal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(runner, "run_to_file", fake_run_to_file)
    assert main(["run", str(config_file), "-o", str(tmp_path / "o.h5")]) == 143
    assert seen["handler"] not in (before, signal.SIG_DFL)
    assert signal.getsignal(signal.SIGTERM) == before
