"""The ETM's analytic dielectric prediction: the ATS as effective two-level systems (Section B).

The ETM replaces each ATS by the doublet of its two lowest levels, an effective 2LS
(physics.md sections 2 and 5). Projecting Eq. 6 on the doublet of ``H(E = 0, phi = 0)`` gives
``H_eff = (1/2) b . sigma`` with the Bloch vector ``b = (eps, w)``: ``eps`` the asymmetry vector in the
plane ``E1 + E2 + E3 = 0`` and ``w`` the chiral (Aharonov-Bohm) splitting. Two gap mappings:

* ``"derived"`` (default): ``|eps| = sqrt(2/3) D``, ``w = (2/sqrt 3) D0 phi``, i.e.
  ``E^2 = (2/3) D^2 + (4/3) D0^2 phi^2`` -- the leading order of the exact doublet (physics.md 2);
* ``"seed"``: ``E^2 = D^2 + D0^2 phi^2`` (the seed's ``E = sqrt(D^2 + D0^2 phi^2)``, Section B),
  with every length in asymmetry space scaled by ``sqrt(3/2)``.

The dipole operator of the ring (:mod:`~tunnelsim.dielectric.dipoles`) projects on the doublet
as the asymmetries do: ``-F P -> -(F/2) m . sigma`` with ``m`` in the asymmetry plane,
``|m| = (2 p / sqrt 3) |e_plane|`` (``"derived"``; ``sqrt 2 p |e_plane|`` for ``"seed"``). Unlike an STM
2LS, ``m`` is a 2-vector: averaging its angle to ``eps`` (uniform ``alpha``),
``m_par^2 = |m|^2 eps^2 / (2 E^2)`` and ``m_perp^2 = |m|^2 - m_par^2``, and

* resonant (static): ``m_perp^2 tanh(E/2k_BT) / (2E)`` (Lorentzian Kubo form at ``f > 0``);
* relaxation: ``m_par^2 sech^2(E/2k_BT) / (4 k_B T (1 - i omega tau))``,
  ``1/tau = A s2 E^3 coth(E/2k_BT)``, ``s2 = (2 - eps^2/E^2)/3`` the isotropic elastic element
  (:mod:`~tunnelsim.dielectric.response`). For an STM 2LS (``b = (Delta0, 0, Delta)``,
  ``m = 2 mu z``) these are the formulas of :func:`~tunnelsim.dielectric.response.two_level_susceptibility`.

``|e_plane|^2`` is ``1 - u^2`` for ``E || B`` and ``(1 + u^2)/2`` on average for ``E`` normal to ``B``
(``u = cos(theta)`` between ``B`` and the loop normal, as in :mod:`tunnelsim.dielectric.ensemble`).
"""

from __future__ import annotations

import numpy as np

from .. import orientations as _orientations, units
from .._checks import as_positive_array, temperature_axis
from ..ensemble import AveragingSettings
from .ensemble import OBSERVABLES, _observables_from_parts, _plan
from .response import DielectricSettings, Susceptibility, one_phonon_prefactor_per_s_K3

__all__ = ["ETM_MAPPINGS", "etm_error_map", "etm_susceptibility", "permittivity_map_etm"]

#: Gap mappings of the effective 2LS: the derived leading order, or the seed's ``sqrt(D^2 + D0^2 phi^2)``.
ETM_MAPPINGS = ("derived", "seed")


def etm_susceptibility(D_K, D0_K, phi, plane_fraction, temperature_K, settings, dipole_moment_D, mapping="derived"):
    """Susceptibility (D^2/K) of the ETM's effective 2LS, shape ``broadcast(...) + (n_T,)``.

    Parameters
    ----------
    D_K, D0_K : array_like
        ``D = sqrt(E1^2 + E2^2 + E3^2)`` and ``D0`` of Eq. 6, in K.
    phi : array_like
        Aharonov-Bohm phase of Eq. 7 (``u`` included).
    plane_fraction : array_like
        ``|e_plane|^2``, the square of the field's component in the loop plane (module docstring).
    temperature_K : array_like, shape (n_T,)
    settings : DielectricSettings
    dipole_moment_D : float
        STM dipole moment ``p`` of the ring's nearest-neighbour wells.
    mapping : {"derived", "seed"}

    Returns
    -------
    Susceptibility
    """
    if mapping not in ETM_MAPPINGS:
        raise ValueError(f"mapping must be one of {ETM_MAPPINGS}, got {mapping!r}")
    T = temperature_axis(temperature_K)
    D = np.asarray(D_K, dtype=float)[..., None]
    D0 = np.asarray(D0_K, dtype=float)[..., None]
    phi = np.asarray(phi, dtype=float)[..., None]
    frac = np.asarray(plane_fraction, dtype=float)[..., None]
    p = float(dipole_moment_D)
    if mapping == "derived":
        eps2, w2, m2 = (2.0 / 3.0) * D**2, (4.0 / 3.0) * (D0 * phi) ** 2, (4.0 / 3.0) * p * p * frac
    else:
        eps2, w2, m2 = D**2, (D0 * phi) ** 2, 2.0 * p * p * frac
    E2 = eps2 + w2
    E = np.sqrt(E2)
    m_par2 = m2 * eps2 / (2.0 * E2)
    m_perp2 = m2 - m_par2
    th = np.tanh(E / (2.0 * T))
    hf, gamma = settings.photon_energy_K, settings.linewidth_K
    if hf == 0.0 and gamma == 0.0:
        resonant = m_perp2 * th / (2.0 * E) + 0j
    else:
        # (p0 - p1) |P01|^2 [1/(E - hf - iG) + 1/(E + hf + iG)], |P01|^2 = m_perp^2 / 4
        resonant = 0.25 * m_perp2 * th * (1.0 / (E - hf - 1j * gamma) + 1.0 / (E + hf + 1j * gamma))
    static = m_par2 * (1.0 - th**2) / (4.0 * T)
    omega = settings.omega_per_s
    if omega == 0.0:
        relaxation = static + 0j
    else:
        s2 = (2.0 - eps2 / E2) / 3.0
        rate = one_phonon_prefactor_per_s_K3(settings) * s2 * E**3 / th
        relaxation = static / (1.0 - 1j * omega / rate)
    return Susceptibility(resonant=resonant, relaxation=relaxation, relaxation_static=static)


def permittivity_map_etm(distribution, temperature_K, field_T, settings=DielectricSettings(), *, density_per_g,
                         dipole_moment_D, charge_area_A2, mapping="derived", averaging=AveragingSettings(),
                         orientations=None, observables=tuple(OBSERVABLES)):
    """The ETM's ``Delta eps/eps_r`` and ``tan delta`` on a (T, B) grid, beside the exact
    :func:`~tunnelsim.dielectric.ensemble.permittivity_map` of ``"three_level"``.

    Same arguments and return value as that function (``distribution`` an
    :class:`~tunnelsim.distributions.ATSDistribution`); the effective 2LS of
    :func:`etm_susceptibility` replaces the exact spectrum, averaged with the same quadrature
    (by default the embedded Gauss-Kronrod rule and its estimate, :mod:`tunnelsim.dielectric._embedded`;
    on this integrand the orientation axis's reading can under-estimate, see there).
    """
    if getattr(distribution, "system_kind", None) != "three_level":
        raise ValueError("distribution must be a three_level (ATS) distribution")
    T = temperature_axis(temperature_K)
    B = np.atleast_1d(np.asarray(field_T, dtype=float))
    density = float(as_positive_array(density_per_g, "density_per_g"))
    rule = orientations if orientations is not None else _orientations.planar_rule(averaging.orientation_nodes or 8)
    scale = max(float(T.max()), distribution.D0_max_K * float(units.phase_per_tesla(charge_area_A2)) * float(B.max()))
    factor = float(units.susceptibility_to_permittivity(density, settings.mass_density_g_cm3, settings.eps_r))

    def node_orientation_parts(params, b, uu):
        """ETM contributions ``(N, K, n_T, 4)`` of every node at every orientation ``uu``, unweighted."""
        ff = 1.0 - uu * uu if settings.field_direction == "parallel" else 0.5 * (1.0 + uu * uu)
        phi = units.phase_per_tesla(charge_area_A2, uu) * b  # (K,)
        chi = etm_susceptibility(params["D"][:, None], params["D0"][:, None], phi[None, :], ff[None, :], T, settings,
                                 dipole_moment_D, mapping)
        return np.stack([chi.resonant.real, chi.resonant.imag, chi.relaxation.real, chi.relaxation.imag], -1)

    if averaging.method == "quadrature" and averaging.error_estimate == "embedded":
        # the exact map's rule (tunnelsim.dielectric._embedded), so that the two compare on one quadrature
        from ._embedded import totals_from_parts, values_and_errors

        counts = distribution.node_counts(averaging.nodes, averaging.level, scale)
        nodes = distribution.quadrature(nodes=counts, energy_scale_K=scale, embedded=True)
        rule_used = _orientations.with_embedded(rule)
        totals = totals_from_parts(lambda params, b: node_orientation_parts(params, b, rule_used.nodes), nodes,
                                   rule_used, T, B)
        base, err = values_and_errors(totals, nodes, rule_used)
        values = {k: v * factor for k, v in _observables_from_parts(base).items() if k in observables}
        errors = {k: v * factor for k, v in _observables_from_parts(err).items() if k in observables}
        return values, errors
    plan = _plan(distribution, averaging, rule, scale)
    results = {}
    for label, nodes, rule_used in plan:
        totals = np.zeros((T.size, B.size, 4))
        for j, b in enumerate(B):
            parts = node_orientation_parts(nodes.params, b, rule_used.nodes)
            per_node = np.tensordot(rule_used.weights, parts, axes=([0], [1]))  # (N, nT, 4)
            totals[:, j] = np.tensordot(np.asarray(nodes.weights), per_node, axes=([0], [0]))
        results[label] = totals
    base = results["base"]
    values = {k: v * factor for k, v in _observables_from_parts(base).items() if k in observables}
    if len(results) == 1:  # no refined rule in the plan (no error estimate, or sampling): no estimate
        return values, {k: np.full_like(v, np.nan) for k, v in values.items()}
    err = sum((np.abs(r - base) for k, r in results.items() if k != "base"), np.zeros_like(base))
    errors = {k: v * factor for k, v in _observables_from_parts(err).items() if k in observables}
    return values, errors


def etm_error_map(exact_values, etm_values, floor=0.0):
    """Relative error of the ETM against the exact ensemble, per observable, ``(etm - exact)/|exact|``.

    As :mod:`tunnelsim.validation` does for the magnetisation. ``floor`` (same units) is added to
    ``|exact|`` to keep the ratio finite where the exact value vanishes.
    """
    out = {}
    for name, exact in exact_values.items():
        if name in etm_values:
            exact = np.asarray(exact, dtype=float)
            out[name] = (np.asarray(etm_values[name]) - exact) / (np.abs(exact) + float(floor))
    return out
