"""The documentation runs: docs/make_figures.py draws its gallery, and every README snippet executes.

The figure script is run as users run it (a subprocess, ``--quick`` grids, another working
directory) and its PNGs are checked as files and as images; the numbers it prints for each
figure are checked against the physics the gallery describes. The README's ``python`` blocks
are executed in order, each in a fresh namespace, in a temporary copy of ``simulations/``, and
what they compute is checked.
"""

import ast
import math
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
GALLERY = REPO / "docs" / "gallery.md"
SCRIPT = REPO / "docs" / "make_figures.py"



def _script_figures():
    """The figure names docs/make_figures.py declares (its module constant ``FIGURES``)."""
    for node in ast.parse(SCRIPT.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["FIGURES"]:
            return ast.literal_eval(node.value)
    raise AssertionError("docs/make_figures.py defines no FIGURES")


#: The figures of the gallery, as docs/make_figures.py names them.
FIGURES = _script_figures()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The set-up commands CI runs verbatim from the README.
SETUP_COMMANDS = (
    'python3.11 -m venv .venv && . .venv/bin/activate && pip install -e . && '
    'tunnelsim run simulations/quickstart.toml --force',
    'python3.11 -m venv .venv && . .venv/bin/activate && pip install -e ".[test]" && python -m pytest -q',
)


def png_size(data):
    """``(width, height)`` of a PNG, after checking its signature, IHDR checksum and IEND chunk."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    header = data[16:16 + length]
    (crc,) = struct.unpack(">I", data[16 + length:20 + length])
    assert zlib.crc32(kind + header) == crc
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"
    return struct.unpack(">II", header[:8])


def number(pattern, text):
    """The float captured by ``pattern`` in ``text`` (the test fails when it is missing)."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text!r}"
    return float(match.group(1))


# --------------------------------------------------------------------------- the figure script
@pytest.fixture(scope="module")
def quick_gallery(tmp_path_factory):
    """Run ``docs/make_figures.py --quick`` from an unrelated directory; ``(outdir, stdout by figure)``."""
    workdir = tmp_path_factory.mktemp("gallery")
    outdir = workdir / "figures"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--outdir", str(outdir)], cwd=workdir,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no warnings (a contour level without a line, a clipped legend ...)
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].startswith(f"{len(FIGURES)} figures in {outdir}")
    by_figure = {line.split(" ", 1)[0]: line for line in lines[:-1]}
    return outdir, by_figure


def test_figure_script_writes_every_gallery_png(quick_gallery):
    from matplotlib.image import imread

    outdir, by_figure = quick_gallery
    assert sorted(p.name for p in outdir.iterdir()) == sorted(FIGURES)  # no temporary files left behind
    assert list(by_figure) == list(FIGURES)
    for name in FIGURES:
        data = (outdir / name).read_bytes()
        width, height = png_size(data)
        assert 800 <= width <= 2000 and 350 <= height <= 1200, (name, width, height)
        assert 8_000 < len(data) < 200_000, (name, len(data))
        pixels = (imread(outdir / name)[..., :3] * 255).round().astype(np.uint32)
        colours = np.unique(pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2]).size
        inked = np.mean(np.any(pixels < 230, axis=-1))  # share of pixels that are not (near) white
        assert colours > 16 and 0.02 < inked < 0.9, (name, colours, inked)


def test_figure_script_shows_the_physics_the_gallery_describes(quick_gallery):
    _, lines = quick_gallery
    # (a) the exact ensemble turns over: at the lowest T the top field is not the largest M
    peak_field = number(r"M largest at B = ([\d.]+) T", lines["overview.png"])
    assert peak_field < 6.5
    assert number(r"M\(6.5 T\)/M\(peak\) = ([\d.]+)", lines["overview.png"]) < 0.9
    assert number(r"2 pi = ([\d.]+) T", lines["overview.png"]) == pytest.approx(13.8, abs=0.05)  # 2 pi B_phi
    # (b) the ATS term is a few per cent of M - M_L and does not scale with H/T
    assert 0.01 < number(r"intrinsic share of M - M_L = ([\d.]+)", lines["universality.png"]) < 0.2
    assert number(r"spreads by ([\d.]+) of its mean", lines["universality.png"]) > 0.2
    # (c) the fit is good and recovers the iron; LL-only fits drift; Eq. 18 rises above C
    assert 0.6 < number(r"reduced chi2 = ([\d.]+)", lines["bk7_fit.png"]) < 1.6
    n_fe = number(r"n\(Fe\) total = ([\d.e+]+)", lines["bk7_fit.png"])
    assert n_fe == pytest.approx(1.099e17 + 0.599e17, rel=0.01)
    low = number(r"n\(Fe3\+\) over the M vs T runs ([\d.e+]+) \.\.", lines["bk7_langevin_curie.png"])
    high = number(r"n\(Fe3\+\) over the M vs T runs [\d.e+]+ \.\. ([\d.e+]+)", lines["bk7_langevin_curie.png"])
    assert high / low > 1.05
    ratio_2K = number(r"/ C = ([\d.]+) at 2 K", lines["bk7_langevin_curie.png"])
    ratio_300K = number(r"([\d.]+) at 300 K", lines["bk7_langevin_curie.png"])
    assert 1.0 < ratio_2K < ratio_300K
    # (d) four wells: the same sign, a different amplitude
    assert number(r"M_4w/M_3LS from ([\d.]+)", lines["four_well_vs_three_level.png"]) > 1.5
    # (e) Eq. 10 holds to a few per cent at weak field and low T against the mapped exact ensemble
    assert number(r"\|Eq. 10/exact - 1\| = ([\d.]+)", lines["etm_error_map.png"]) < 0.05
    # (f) dielectric: the ATS permittivity falls with B, more at 10 mK than at 100 mK; AB period 2 pi B_phi
    line = lines["dielectric_response.png"]
    drop_10mK = number(r"falls by ([\d.]+) % from", line)
    assert drop_10mK > 2 * number(r"by ([\d.]+) % at 100 mK", line) and drop_10mK > 5
    assert number(r"ETM within ([\d.]+) %", line) < 3
    period = number(r"2 pi B_phi = ([\d.]+) T", line)
    assert period == pytest.approx(13.8, abs=0.05)
    assert number(r"maxima at B = ([\d.]+)", line) == pytest.approx(period, abs=0.6)


def test_gallery_and_readme_embed_existing_figures():
    gallery = GALLERY.read_text()
    embedded = re.findall(r"!\[[^\]]*\]\(figures/([^)]+)\)", gallery)
    assert sorted(embedded) == sorted(FIGURES)
    for name in FIGURES:
        assert (REPO / "docs" / "figures" / name).is_file(), name
    assert "python docs/make_figures.py" in gallery
    readme = README.read_text()
    assert "![" in readme.split("## Quick start")[0]  # the opening figure comes before the quick start
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme) + re.findall(r"\]\((docs/[^)#]+)\)", readme):
        assert (REPO / target).is_file(), target


def test_readme_keeps_the_setup_commands_ci_runs():
    bash_blocks = re.findall(r"^```bash\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    lines = {line.strip() for block in bash_blocks for line in block.splitlines()}
    for command in SETUP_COMMANDS:
        assert command in lines


# --------------------------------------------------------------------------- the README's Python tour
def readme_python_blocks():
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def namespace_with(namespaces, *names):
    """The one namespace that defines every name in ``names``."""
    found = [ns for ns in namespaces if all(n in ns for n in names)]
    assert len(found) == 1, f"{len(found)} README blocks define {names}"
    return found[0]


@pytest.fixture(scope="module")
def readme_namespaces(tmp_path_factory):
    """Execute the README's python blocks in order in a copy of simulations/; their namespaces."""
    workdir = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "simulations", workdir / "simulations")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(workdir)
    namespaces = []
    try:
        for k, block in enumerate(readme_python_blocks(), start=1):
            namespace = {"__name__": f"readme_block_{k}"}
            exec(compile(block, f"README.md python block {k}", "exec"), namespace)  # noqa: S102
            namespaces.append(namespace)
    finally:
        monkeypatch.undo()
    return workdir, namespaces


def test_readme_tour_covers_the_package():
    code = "\n".join(readme_python_blocks())
    for module in ("config", "runner", "results", "etm", "paramagnet", "fitting", "datafiles", "parameters", "synth",
                   "validation", "plotting", "figures", "langevin", "ensemble"):
        assert re.search(rf"\b{module}\.", code), module
    assert "h5py" in code and "xarray" in code


def test_readme_single_systems_and_ensemble(readme_namespaces):
    _, namespaces = readme_namespaces
    ns = namespace_with(namespaces, "ens", "sp", "th")
    np.testing.assert_allclose(ns["sp"].slopes.sum(axis=-1), 0.0, atol=1e-12)  # Eq. 6: level slopes sum to 0
    M = ns["res"].values["magnetization"]
    assert M.shape == (2, 2) and np.all(M > 0)
    assert np.all(M[0] > M[1])  # paramagnetic: falls from 2 K to 4.5 K
    assert np.all(ns["res"].errors["magnetization"] < 1e-3 * M)


def test_readme_config_and_result_set(readme_namespaces):
    workdir, namespaces = readme_namespaces
    run = namespace_with(namespaces, "cfg", "out")
    assert run["out"].result_path == Path("results/quickstart.h5")
    assert (workdir / "results" / "quickstart.h5").is_file() and (workdir / "results" / "quickstart.png").is_file()
    M65 = run["res"].values["magnetization"][:, 0]
    assert M65.shape == (2,) and 0 < M65[1] < M65[0]
    read = namespace_with(namespaces, "rs", "M", "C")
    assert read["M"].shape == (16, 3)
    np.testing.assert_array_equal(read["M"], read["rs"].values["magnetization"])
    assert np.all(read["C"] > 0) and read["rs"].units["heat_capacity"] == "J K-1 g-1"
    assert "temperature  16 points" in read["text"]


def test_readme_analytic_etm_and_paramagnet(readme_namespaces):
    _, namespaces = readme_namespaces
    ns = namespace_with(namespaces, "M10", "M11", "chi12")
    ratio = ns["M11"] / ns["M10"]
    assert np.all(ratio < 1) and np.all(np.diff(ratio, axis=1) < 0)  # Eq. 11 bends down with the field
    np.testing.assert_allclose(ns["chi12"] / (ns["M10"][:, 0] / 1000.0), 1.0, rtol=3e-3)  # 0.1 T = 1 kOe
    assert ns["I_K"] > 5 * 1 / 600.0  # the logarithm Eq. 13 drops: I(300 K) is far above 1/(2T)
    assert ns["p20"].ratio == pytest.approx(math.exp(0.319 / 1.26 - 0.319 / 20.0))
    assert ns["M"].shape == (3, 2)
    pm = namespace_with(namespaces, "table3", "C2", "C3")
    assert (pm["C2"] / 1.099) / (pm["C3"] / 0.599) == pytest.approx(24 / 35)
    assert pm["M"][0, 0] > 0 > pm["M"][0, 2]  # paramagnetic at 1 kOe and 2 K, Larmor wins at 65 kOe


def test_readme_fitting_and_validation(readme_namespaces):
    workdir, namespaces = readme_namespaces
    ns = namespace_with(namespaces, "fit", "rows", "curie")
    assert ns["data"].n_points == 500 and 0.7 < ns["fit"].chi2_reduced < 1.4
    n_fe = ns["fit"].derived["n_Fe_total_per_g"]
    assert abs(n_fe.value - (1.099e17 + 0.599e17)) < 4 * n_fe.stderr
    assert (workdir / "results" / "bk7.csv").is_file() and (workdir / "results" / "bk7_fit.json").is_file()
    assert png_size((workdir / "results" / "bk7_fit.png").read_bytes())[0] > 0
    val = namespace_with(namespaces, "gap", "report", "hf")
    assert val["gap"].a == pytest.approx(2 / 3, abs=1e-3) and val["gap"].b == pytest.approx(4 / 3, abs=1e-3)
    peak_30000 = val["hf"].peak_field_T[list(val["hf"].charge_area_A2).index(30000.0), 0]
    assert 3.0 < peak_30000 < 4.5  # physics.md: the exact M peaks near 4 T for (Q/e) S = 30000 A^2
    assert val["report"].four_well.verdict


def test_readme_figures(readme_namespaces):
    workdir, namespaces = readme_namespaces
    ns = namespace_with(namespaces, "ex", "levels", "phi")
    assert ns["levels"].shape == (ns["phi"].size, 3)
    assert ns["ax"].get_title() == "Eq. 10 vs exact"
    for name in ("quickstart_heat_capacity.png", "eq10_error_map.png"):
        width, height = png_size((workdir / "results" / name).read_bytes())
        assert width > 300 and height > 200


def _equation_index_rows():
    """Rows ``(equation, function cell, test cell)`` of the README's equation index."""
    text = README.read_text()
    section = text.split("## Equation index", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    return [(r[0].strip(), r[2], r[3]) for r in rows[1:]]  # drop the header row


def _resolve(dotted):
    import importlib

    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for name in parts[k:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(dotted)


def test_equation_index_covers_the_seed_and_every_entry_resolves():
    """Every function named in the README's equation index exists (a short name after a dotted
    one is looked up in the same module), and every test it names exists in its file."""
    rows = _equation_index_rows()
    covered = " ".join(eq for eq, _, _ in rows)
    for eq in ("4", "5", "6", "7", "8", "10", "11", "12", "13", "14", "15", "16", "17", "18"):
        assert re.search(rf"(^|[ ,]){eq}\b", covered), f"Eq. {eq} is missing from the equation index"
    assert "Larmor-Langevin" in covered
    for eq, functions, tests in rows:
        names = re.findall(r"`([A-Za-z_][\w.]*)`", functions)
        assert names, f"Eq. {eq}: no function named"
        module = None
        for name in names:
            if "." in name:
                module = name.rsplit(".", 1)[0]
                assert callable(_resolve(name)) or isinstance(_resolve(name), type), name
            else:
                assert module is not None, f"Eq. {eq}: {name} without a module"
                _resolve(f"{module}.{name}")
        path = None
        for ref in re.findall(r"`([^`]+)`", tests):
            file_part, _, test_name = ref.partition("::")
            if file_part:
                path = REPO / file_part
            assert path is not None and path.is_file(), f"Eq. {eq}: {ref} is not a test file"
            if test_name:
                assert re.search(rf"^def {re.escape(test_name)}\(", path.read_text(), re.M), f"Eq. {eq}: {ref}"
