"""Shared fixtures: seeded random generators and batches of random tunnelling systems.

A *family* is a batch of random instances of one system together with one scalar field
parameter ``lam`` per instance: the Aharonov-Bohm phase for the rings (Eq. 6 is the ``N = 3``
ring), the phase magnitude along a random direction for the four-well system, and the
asymmetry ``Delta`` for the two-level system (Eq. 5 has no field coupling, so its ``Delta``
derivative stands in for a field derivative). Families are built once per session and shared
by the spectra and thermodynamics tests.
"""

from __future__ import annotations

import os

# The cross-checks diagonalise thousands of tiny matrices one at a time; OpenBLAS threads only
# add synchronisation there (about ten times slower on a busy two-core machine). Set before
# numpy is imported; an explicit setting in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import math  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tunnelsim import ensemble, hamiltonians, spectra  # noqa: E402

#: Number of random instances of each system in the QuTiP cross-checks.
N_RANDOM_INSTANCES = 1000

#: Family names, in the order the parametrised tests use them.
FAMILY_NAMES = (
    "two_level",
    "three_level",
    "ring2",
    "ring4",
    "ring5",
    "four_well",
    "four_well_random_vertices",
)


@dataclass(frozen=True)
class Family:
    """A batch of random instances of one system and its field parameter.

    Attributes
    ----------
    name : str
        One of :data:`FAMILY_NAMES`.
    n_levels : int
        Matrix dimension.
    lam : numpy.ndarray, shape (B,)
        Field parameter of each instance.
    build : callable
        ``build(lam) -> H`` of shape ``(B, n, n)``.
    build_derivatives : callable
        ``build_derivatives(lam) -> (dH/dlam, d2H/dlam2)``.
    lam_is_energy : bool
        True when ``lam`` is an energy (the 2LS asymmetry, K), False for a phase (rad).
    """

    name: str
    n_levels: int
    lam: np.ndarray
    build: Callable[[np.ndarray], np.ndarray]
    build_derivatives: Callable[[np.ndarray], tuple]
    lam_is_energy: bool = False

    @property
    def size(self):
        """Number of instances."""
        return self.lam.shape[0]

    def hamiltonian(self, shift=0.0):
        """``H(lam + shift)``."""
        return self.build(self.lam + shift)

    def derivatives(self, shift=0.0):
        """``(dH, d2H)`` at ``lam + shift``."""
        return self.build_derivatives(self.lam + shift)

    def lam_unit(self, levels):
        """Natural unit of ``lam`` per instance: the largest ``|level|`` (K) or 1 rad."""
        scale = np.abs(levels).max(axis=-1)
        return scale if self.lam_is_energy else np.ones_like(scale)

    def spectrum(self, shift=0.0):
        """:func:`tunnelsim.spectra.solve` with both derivatives, at ``lam + shift``."""
        return spectra.solve(self.hamiltonian(shift), *self.derivatives(shift))


def random_vertices(rng):
    """A random tetrahedron, far from flat (volume at least a quarter of the regular one's)."""
    reference = abs(np.linalg.det(np.diff(hamiltonians.regular_tetrahedron(), axis=0))) / 6.0
    while True:
        v = hamiltonians.regular_tetrahedron() + 0.4 * rng.normal(size=(4, 3)) + rng.normal(size=3)
        if abs(np.linalg.det(v[1:] - v[0])) / 6.0 > 0.25 * reference:
            return v


def make_family(name, size, seed, D0_range_K=(0.1, 10.0), ratio_range=(1e-2, 30.0)):
    """Build a :class:`Family` of ``size`` random instances.

    ``D0`` is log-uniform on ``D0_range_K``; the asymmetries are Gaussian with a scale
    ``D0 * r``, ``r`` log-uniform on ``ratio_range``, shifted to sum to zero; phases are
    uniform on ``[-2 pi, 2 pi]`` so that several Aharonov-Bohm periods are covered.
    """
    rng = np.random.default_rng(seed)
    log_uniform = lambda lo, hi, shape=(size,): np.exp(rng.uniform(math.log(lo), math.log(hi), shape))  # noqa: E731
    D0 = log_uniform(*D0_range_K)
    scale = D0 * log_uniform(*ratio_range)
    phase = rng.uniform(-2.0 * math.pi, 2.0 * math.pi, size)

    def asymmetries(n):
        E = scale[:, None] * rng.normal(size=(size, n))
        return E - E.mean(axis=-1, keepdims=True)

    if name == "two_level":
        delta0 = D0

        def build(lam):
            return hamiltonians.two_level(lam, delta0)

        def build_derivatives(lam):
            dH = np.zeros((lam.shape[0], 2, 2), dtype=complex)
            dH[:, 0, 0], dH[:, 1, 1] = 0.5, -0.5
            return dH, np.zeros_like(dH)

        return Family(name, 2, scale * rng.normal(size=size), build, build_derivatives, lam_is_energy=True)

    if name == "three_level" or name.startswith("ring"):
        n = 3 if name == "three_level" else int(name[4:])
        E = asymmetries(n)
        if n == 3:
            build = lambda lam: hamiltonians.three_level(E, D0, lam)  # noqa: E731
            build_derivatives = lambda lam: hamiltonians.three_level_derivatives(E, D0, lam)  # noqa: E731
        else:
            build = lambda lam: hamiltonians.ring(E, D0, lam)  # noqa: E731
            build_derivatives = lambda lam: hamiltonians.ring_derivatives(E, D0, lam)  # noqa: E731
        return Family(name, n, phase, build, build_derivatives)

    if name.startswith("four_well"):
        vertices = random_vertices(rng) if name.endswith("random_vertices") else None
        E = asymmetries(4)
        direction = rng.normal(size=(size, 3))
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)

        def build(lam):
            return hamiltonians.four_well(E, D0, lam[:, None] * direction, vertices)

        def build_derivatives(lam):
            return hamiltonians.four_well_derivatives(E, D0, lam[:, None] * direction, direction, vertices)

        return Family(name, 4, phase, build, build_derivatives)

    raise ValueError(f"unknown family {name!r}")


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name, so every test is reproducible on its own."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(request.node.name)) % (2**32)
    return np.random.default_rng(seed)


@pytest.fixture(scope="session")
def qutip():
    """QuTiP, imported once (its import takes seconds)."""
    return pytest.importorskip("qutip")


@pytest.fixture(scope="session")
def random_families():
    """``{name: Family}`` with :data:`N_RANDOM_INSTANCES` instances of every system."""
    return {name: make_family(name, N_RANDOM_INSTANCES, seed=k) for k, name in enumerate(FAMILY_NAMES)}


@pytest.fixture(scope="session")
def family_factory():
    """:func:`make_family`, for tests that need their own batch."""
    return make_family


def simulation_configs():
    """The simulation configs shipped in simulations/: the TOML files with a [system] table.

    (simulations/ also holds the settings of `tunnelsim validate` and parameter sets for
    `tunnelsim synth`, which are not simulation configs.)
    """
    import tomllib
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "simulations"
    return [p for p in sorted(folder.glob("*.toml")) if "system" in tomllib.loads(p.read_text())]


# --------------------------------------------------------------------------- result sets
def make_result(nT=4, nB=2, T_span=(2.0, 300.0), with_errors=True):
    """A result with magnetisation ``1e-4 B/T`` (with 5 % errors or none) and heat capacity ``1e-9 T``."""
    T = np.geomspace(*T_span, nT)
    B = np.linspace(1.0, 6.5, nB)
    mag = 1e-4 * np.outer(1.0 / T, B)
    heat = 1e-9 * np.outer(T, np.ones(nB))
    return ensemble.EnsembleResult(
        temperature_K=T,
        field_T=B,
        values={"magnetization": mag, "heat_capacity": heat},
        errors={"magnetization": 0.05 * mag if with_errors else np.full_like(mag, np.nan),
                "heat_capacity": np.full_like(heat, np.nan)},
        units={"magnetization": "emu/g", "heat_capacity": "J K-1 g-1"},
        long_names={"magnetization": "magnetisation per gram", "heat_capacity": "heat capacity per gram"},
        info={"method": "quadrature"},
    )
