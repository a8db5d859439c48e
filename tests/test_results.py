"""HDF5 result sets: round trip, dimension scales readable by xarray, provenance, atomic writes."""

import datetime as dt
import hashlib

import h5py
import numpy as np
import pytest

from tunnelsim import __version__, results
from tunnelsim.config import parse_config
from tunnelsim.ensemble import EnsembleResult
from tunnelsim.results import ResultFormatError, read_result, summary, write_result

CONFIG_TEXT = """title = "result-set test"
[system]
kind = "three_level"
charge_area_A2 = 30000.0
[distribution]
kind = "ats"
density_per_g = 1.0e16
D_min_K = 0.05
D0_min_K = 2.0
D0_max_K = 3.0
[grid]
temperature_K = [2.0, 4.0, 8.0]
field_T = [0.5, 1.0]
"""


def make_result(nT=3, nB=2, seed=0, with_errors=True):
    rng = np.random.default_rng(seed)
    T = np.geomspace(2.0, 40.0, nT)
    B = np.linspace(0.5, 6.5, nB)
    mag = rng.normal(size=(nT, nB)) * 1e-4
    heat = rng.uniform(size=(nT, nB)) * 1e-9
    errors = {
        "magnetization": np.abs(mag) * 1e-3 if with_errors else np.full((nT, nB), np.nan),
        "heat_capacity": heat * 1e-4,
    }
    return EnsembleResult(
        temperature_K=T,
        field_T=B,
        values={"magnetization": mag, "heat_capacity": heat},
        errors=errors,
        units={"magnetization": "emu/g", "heat_capacity": "J K-1 g-1"},
        long_names={"magnetization": "magnetisation per gram", "heat_capacity": "heat capacity per gram"},
        info={"method": "quadrature", "n_parameter_nodes": 128, "elapsed_s": 0.25, "nodes": {"D": 16, "D0": 8},
              "distribution": "ATS (Eq. 8), P* = 1/(2 pi) (not normalised)", "error_estimate": True},
    )


@pytest.fixture
def config():
    return parse_config(CONFIG_TEXT, source="test.toml")


@pytest.fixture
def written(tmp_path, config):
    path = tmp_path / "out" / "r.h5"
    result = make_result()
    write_result(path, result, config=config, command="tunnelsim run test.toml")
    return path, result


def test_round_trip_values_and_metadata(written, config):
    path, result = written
    rs = read_result(path)
    np.testing.assert_array_equal(rs.temperature_K, result.temperature_K)
    np.testing.assert_array_equal(rs.field_T, result.field_T)
    assert set(rs.values) == set(result.values) == set(rs.errors)
    for name in result.values:
        np.testing.assert_array_equal(rs.values[name], result.values[name])
        np.testing.assert_array_equal(rs.errors[name], result.errors[name])
        assert rs.units[name] == result.units[name]
        assert rs.long_names[name] == result.long_names[name]
    a = rs.attrs
    assert a["title"] == "result-set test"
    assert a["config"] == CONFIG_TEXT
    assert a["config_sha256"] == hashlib.sha256(CONFIG_TEXT.encode()).hexdigest() == config.sha256
    assert a["command"] == "tunnelsim run test.toml"
    assert a["tunnelsim_version"] == __version__
    created = dt.datetime.fromisoformat(a["created"])
    assert created.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.timezone.utc) - created).total_seconds()) < 600
    for lib in ("numpy", "scipy", "h5py", "python"):
        assert a[f"{lib}_version"]
    assert a["numpy_version"] == np.__version__
    assert a["distribution"].startswith("ATS")
    assert a["nodes"] == {"D": 16, "D0": 8}
    assert a["n_parameter_nodes"] == 128 and a["method"] == "quadrature" and a["error_estimate"] is True


def test_layout_uses_dimension_scales(written):
    path, _ = written
    with h5py.File(path, "r") as f:
        for name, unit in (("temperature", "K"), ("field", "T")):
            assert f[name].is_scale and f[name].attrs["units"] == unit
        for name in ("magnetization", "magnetization_error", "heat_capacity", "heat_capacity_error"):
            ds = f[name]
            assert ds.dtype == np.float64
            assert ds.dims[0][0].name == "/temperature" and ds.dims[1][0].name == "/field"
            assert "units" in ds.attrs and "long_name" in ds.attrs


@pytest.mark.parametrize(
    "nT, nB",
    [pytest.param(3, 2, id="rectangular"), pytest.param(2, 2, id="square"), pytest.param(1, 1, id="single-point"),
     pytest.param(1, 4, id="one-temperature")],
)
def test_xarray_opens_with_named_dimensions(tmp_path, nT, nB):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    path = tmp_path / "r.h5"
    result = make_result(nT, nB)
    write_result(path, result)
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert ds["magnetization"].dims == ("temperature", "field")
        assert ds["magnetization_error"].dims == ("temperature", "field")
        np.testing.assert_array_equal(ds["temperature"].values, result.temperature_K)
        np.testing.assert_array_equal(ds["field"].values, result.field_T)
        assert ds["temperature"].attrs["units"] == "K" and ds["field"].attrs["units"] == "T"
        assert ds["magnetization"].attrs["units"] == "emu/g"
        np.testing.assert_array_equal(ds["heat_capacity"].values, result.values["heat_capacity"])
        assert ds.attrs["tunnelsim_version"] == __version__


def test_missing_error_estimates_are_not_written(tmp_path):
    path = tmp_path / "r.h5"
    write_result(path, make_result(with_errors=False))
    with h5py.File(path, "r") as f:
        assert "magnetization_error" not in f and "heat_capacity_error" in f
    rs = read_result(path)
    assert np.all(np.isnan(rs.errors["magnetization"]))


def test_existing_file_is_kept_without_force(written):
    path, result = written
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="exists.*force"):
        write_result(path, make_result(seed=1))
    assert path.read_bytes() == before
    write_result(path, make_result(seed=1), force=True)
    assert not np.array_equal(read_result(path).values["magnetization"], result.values["magnetization"])


def _files(directory):
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("existing", [pytest.param(False, id="new-file"), pytest.param(True, id="forced-replace")])
def test_failure_mid_write_leaves_no_partial_file(tmp_path, monkeypatch, existing):
    path = tmp_path / "r.h5"
    if existing:
        write_result(path, make_result())
    before = path.read_bytes() if existing else None
    original = results._write_contents

    def fail_halfway(h5file, *args):
        original(h5file, *args)
        h5file.flush()
        raise RuntimeError("disk full")

    monkeypatch.setattr(results, "_write_contents", fail_halfway)
    with pytest.raises(RuntimeError, match="disk full"):
        write_result(path, make_result(seed=2), force=True)
    assert _files(tmp_path) == (["r.h5"] if existing else [])
    if existing:
        assert path.read_bytes() == before


def test_interrupted_dataset_creation_leaves_no_file(tmp_path, monkeypatch):
    calls = []
    original = h5py.Group.create_dataset

    def create_then_fail(self, name, *args, **kwargs):
        calls.append(name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", create_then_fail)
    with pytest.raises(KeyboardInterrupt):
        write_result(tmp_path / "r.h5", make_result())
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    "change, fragment",
    [
        pytest.param({"values": {"magnetization": np.zeros((2, 2))}}, "shape", id="bad-shape"),
        pytest.param({"values": {"temperature": np.zeros((3, 2))}}, "reserved", id="reserved-name"),
        pytest.param({"values": {"x_error": np.zeros((3, 2))}}, "reserved", id="error-suffix"),
        pytest.param({"values": {}}, "no observables", id="empty"),
        pytest.param({"units": {}}, "units", id="no-units"),
        pytest.param({"field_T": np.zeros((2, 1))}, "1-D", id="2d-field"),
        pytest.param({"info": {"created": "yesterday"}}, "clashes", id="info-clash"),
        pytest.param({"info": {"f": object()}}, "cannot store", id="unserialisable"),
    ],
)
def test_inconsistent_results_are_rejected_before_writing(tmp_path, change, fragment):
    base = make_result()
    result = EnsembleResult(**{**base.__dict__, **change})
    with pytest.raises(ValueError, match=fragment):
        write_result(tmp_path / "r.h5", result)
    assert _files(tmp_path) == []


def test_extra_attrs_and_title_without_config(tmp_path):
    path = tmp_path / "r.h5"
    write_result(path, make_result(), extra_attrs={"title": "plain", "sample": "BK7", "fields_kOe": [1, 2]})
    a = read_result(path).attrs
    assert a["title"] == "plain" and a["sample"] == "BK7" and a["fields_kOe"] == [1, 2]
    assert a["config"] == "" and a["config_sha256"] == ""
    with pytest.raises(ValueError, match="clashes"):
        write_result(tmp_path / "s.h5", make_result(), extra_attrs={"command": "x"})


def test_read_rejects_other_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such result file"):
        read_result(tmp_path / "missing.h5")
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    with pytest.raises(ResultFormatError, match="not a readable HDF5 file"):
        read_result(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ResultFormatError, match="no 'temperature' coordinate"):
        read_result(other)


def test_summary_lists_dimensions_observables_and_provenance(written):
    path, result = written
    text = summary(path)
    assert "title: result-set test" in text
    assert "temperature  3 points, 2 .. 40 K" in text
    assert "field        2 points, 0.5 .. 6.5 T (5 .. 65 kOe)" in text
    mag = result.values["magnetization"]
    assert f"magnetization                [emu/g]          min {mag.min():.6g}, max {mag.max():.6g}" in text
    assert text.index("magnetization ") < text.index("heat_capacity ")  # written order kept
    assert "heat_capacity" in text and "[J K-1 g-1]" in text
    assert "command: tunnelsim run test.toml" in text
    assert f"config_sha256: {hashlib.sha256(CONFIG_TEXT.encode()).hexdigest()}" in text
    assert "libraries: " in text and "numpy" in text
    assert "method: quadrature" in text


# --------------------------------------------------------------------------- streamed writing, modes
def test_block_writer_gives_the_file_write_result_gives(tmp_path, config):
    result = make_result(nT=7, nB=3)
    one_shot = tmp_path / "one.h5"
    write_result(one_shot, result, config=config, command="c")
    streamed = tmp_path / "blocks.h5"
    layout = {name: (result.units[name], result.long_names[name]) for name in result.values}
    with h5py.File(streamed, "w", track_order=True) as h5file:
        writer = results.ResultSetWriter(h5file, result.temperature_K, result.field_T, layout,
                                         errors=list(result.values), chunk_rows=2)
        for start in range(0, 7, 2):
            writer.write_block(start, {k: v[start:start + 2] for k, v in result.values.items()},
                               {k: v[start:start + 2] for k, v in result.errors.items()})
        writer.finish(info=result.info, config=config, command="c")
    a, b = read_result(one_shot), read_result(streamed)
    assert list(a.values) == list(b.values)
    for name in a.values:
        np.testing.assert_array_equal(a.values[name], b.values[name])
        np.testing.assert_array_equal(a.errors[name], b.errors[name])
    with h5py.File(one_shot, "r") as f1, h5py.File(streamed, "r") as f2:
        assert sorted(f1) == sorted(f2)  # all-NaN error estimates dropped in both
    xr = pytest.importorskip("xarray")
    with xr.open_dataset(streamed, engine="h5netcdf") as ds:
        assert ds["magnetization"].dims == ("temperature", "field")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_result_set_mode_follows_the_umask(tmp_path, umask, mode):
    import os
    import stat

    old = os.umask(umask)
    try:
        path = write_result(tmp_path / "r.h5", make_result())
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
