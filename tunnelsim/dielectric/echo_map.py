"""Two-pulse echo amplitude of the ATS ensemble on a (T, B) grid, for result sets.

For each temperature, :func:`tunnelsim.dielectric.echoes.echo_amplitude_vs_field` sums the echo
pathway of the three-level systems of the Eq. 8 distribution (ATS, ``P* dalpha dD/D dD0/D0``)
over the quadrature of :func:`tunnelsim.dielectric.ensemble.ats_echo_nodes` (uniform orientations,
electric field along ``B``). The result is ``|A|`` per gram of glass, in debye per gram: the
amplitude of the demodulated polarisation envelope at the echo time, per system times the
number of systems per gram in the window.

Window in ``D``: ``[D_min, min(D_max, D_cap)]`` with ``D_cap = 20 h f / k_B``: a system whose
asymmetry is 20 times the carrier quantum is far off resonance at every field (its gaps exceed
``D``), so it is not driven and adds nothing to the echo pathway. The number of systems per gram
in the window is ``n_ATS P* 2 pi ln(D_hi / D_min) ln(D0_max / D0_min)`` (Eq. 8; for a single ``D0``
the ``D0`` factor is that of the distribution's own range).

Error estimate: the same sum on a rule with half the nodes in ``ln D`` and in ``u`` (the two axes
the narrow resonance needs, :func:`~tunnelsim.dielectric.ensemble.ats_echo_nodes`); its
difference to the full rule, which overstates the full rule's error (measured: the table within a
factor 1.6 of the change under doubling), at a quarter of the cost.

The STM background has no field dependence (Eq. 5 has no magnetic coupling) and is not part of
this observable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import units
from .echoes import EchoSequence, echo_amplitude_vs_field, field_for_rabi_frequency
from .ensemble import ats_echo_nodes

__all__ = ["ECHO_OBSERVABLES", "EchoSettings", "echo_map"]

#: Echo observables of a result set: name -> (units, long name).
ECHO_OBSERVABLES = {
    "echo_amplitude": ("D/g", "two-pulse echo amplitude |A| per gram"),
}
#: ``D`` above this many carrier quanta is off resonance at every field (module docstring).
D_CAP_QUANTA = 20.0


@dataclass(frozen=True)
class EchoSettings:
    """Pulse sequence and quadrature of the echo observable (``[dielectric.echo]``).

    Attributes
    ----------
    frequency_Hz : float
        Carrier frequency, > 0 (default 1 GHz).
    pulse1_s, pulse2_s, delay_s : float
        Pulse lengths and the delay between them, s (defaults 20 ns, 40 ns, 1 us).
    rabi_frequency_Hz : float
        Rabi frequency of a transition with the full dipole ``p`` along the field, Hz; default
        ``1 / (4 pulse1)`` (pulse 1 a pi/2 pulse, pulse 2 of twice its length a pi pulse, for it).
    t2_s : float
        Phenomenological dephasing time of the free periods, s (default infinite).
    n_D, n_D0, n_u : int
        Quadrature nodes in ``ln D``, ``ln D0`` and ``u = cos(theta)``
        (:func:`~tunnelsim.dielectric.ensemble.ats_echo_nodes`; defaults 512, 4, 256). The resonance
        is narrow (relative width ``f_Rabi / f``) and the ``ln D`` spacing must resolve it: for the
        defaults (12.5 MHz at 1 GHz, Table 3's ATS, 0.1-30 mT) 512 x 256 nodes are converged to 2e-4
        of max|A|, 256 x 256 to 3 %, 128 x 128 to 20 % (measured against 1024 x 256 and 512 x 512).
        A weaker drive needs proportionally more ``ln D`` nodes.
    """

    frequency_Hz: float = 1.0e9
    pulse1_s: float = 2.0e-8
    pulse2_s: float = 4.0e-8
    delay_s: float = 1.0e-6
    rabi_frequency_Hz: float | None = None
    t2_s: float = math.inf
    n_D: int = 512
    n_D0: int = 4
    n_u: int = 256

    def rabi_Hz(self):
        return self.rabi_frequency_Hz if self.rabi_frequency_Hz is not None else 0.25 / self.pulse1_s

    def sequence(self, dipole_moment_D):
        """The :class:`~tunnelsim.dielectric.echoes.EchoSequence` for wells of dipole ``p``."""
        return EchoSequence(pulse1_s=self.pulse1_s, pulse2_s=self.pulse2_s, delay_s=self.delay_s,
                            frequency_Hz=self.frequency_Hz,
                            field_amplitude_V_per_m=float(field_for_rabi_frequency(self.rabi_Hz(), dipole_moment_D)),
                            t2_s=self.t2_s)


def _window(distribution, frequency_Hz):
    quantum_K = units.H_PLANCK_J_S * frequency_Hz / units.K_B_J_PER_K
    D_hi = min(float(distribution.D_max_K), D_CAP_QUANTA * quantum_K)
    if not D_hi > distribution.D_min_K:
        raise ValueError(f"the echo window in D is empty: D_min_K = {distribution.D_min_K:g} K is above "
                         f"{D_CAP_QUANTA:g} carrier quanta ({D_hi:g} K) or D_max_K")
    return float(distribution.D_min_K), D_hi


def _amplitudes(distribution, T, B, settings, dipole_moment_D, charge_area_A2, n_D, n_u):
    D_lo, D_hi = _window(distribution, settings.frequency_Hz)
    params, weights, p = ats_echo_nodes(D_lo, D_hi, distribution.D0_min_K, distribution.D0_max_K, n_D=n_D,
                                        n_D0=settings.n_D0, n_u=n_u, dipole_moment_D=dipole_moment_D)
    seq = settings.sequence(dipole_moment_D)
    return np.stack([echo_amplitude_vs_field("three_level", params, weights, p, B, seq, float(t),
                                             charge_area_A2=charge_area_A2) for t in T])


def echo_map(distribution, temperature_K, field_T, settings=EchoSettings(), *, density_per_g, dipole_moment_D,
             charge_area_A2, error_estimate=True):
    """``echo_amplitude`` (debye per gram) of the ATS ensemble on a (T, B) grid, with its error estimate.

    Parameters
    ----------
    distribution : tunnelsim.distributions.ATSDistribution
        Eq. 8 (its ``P_star``, cutoffs; ``D_max`` may be infinite).
    temperature_K, field_T : array_like, 1-D
    settings : EchoSettings, optional
    density_per_g : float
        ``n_ATS`` per gram.
    dipole_moment_D : float
        STM dipole moment of a nearest-neighbour pair of wells.
    charge_area_A2 : float
        ``(Q/e) S_Delta``.
    error_estimate : bool, optional
        The half-rule estimate of the module docstring (NaN without it).

    Returns
    -------
    values, errors : dict of str to numpy.ndarray, shape (nT, nB)
        Keyed by :data:`ECHO_OBSERVABLES`.
    """
    if getattr(distribution, "system_kind", None) != "three_level":
        raise ValueError("the echo observable needs the ATS (three_level) distribution")
    T = np.atleast_1d(np.asarray(temperature_K, dtype=float))
    B = np.atleast_1d(np.asarray(field_T, dtype=float))
    D_lo, D_hi = _window(distribution, settings.frequency_Hz)
    D0_ratio = distribution.D0_max_K / distribution.D0_min_K
    per_gram = (float(density_per_g) * distribution.amplitude * 2.0 * math.pi * math.log(D_hi / D_lo)
                * (math.log(D0_ratio) if D0_ratio > 1.0 else 1.0))
    full = _amplitudes(distribution, T, B, settings, dipole_moment_D, charge_area_A2, settings.n_D, settings.n_u)
    value = np.abs(full) * per_gram
    if error_estimate:
        half = _amplitudes(distribution, T, B, settings, dipole_moment_D, charge_area_A2,
                           max(settings.n_D // 2, 4), max(settings.n_u // 2, 4))
        error = np.abs(full - half) * per_gram
    else:
        error = np.full(value.shape, np.nan)
    return {"echo_amplitude": value}, {"echo_amplitude": error}
