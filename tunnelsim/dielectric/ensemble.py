"""Ensemble-averaged dielectric response: permittivity maps on a (temperature, field) grid.

``permittivity_map`` averages the single-system susceptibility of
:mod:`tunnelsim.dielectric.response` over a parameter distribution of
:mod:`tunnelsim.distributions` (quadrature or sampling, as :mod:`tunnelsim.ensemble` does) and
over orientations (:mod:`tunnelsim.orientations`), and converts it to ``Delta eps / eps_r``
(:func:`tunnelsim.units.susceptibility_to_permittivity`).

Orientations. The susceptibility is a quadratic form ``e^T X e`` in the electric-field direction
``e``, so the average over directions the magnetic field does not fix is exact in closed form:

* STM 2LS (no field coupling): ``<cos^2> = 1/3``, ``mu^2 = p^2/3``;
* 3-ring (dipoles in the loop plane, ``u = cos(theta)`` between ``B`` and the normal as in
  :class:`tunnelsim.systems.ThreeLevelSystem`): averaging the in-plane azimuth gives
  ``(1 - u^2)/2 Tr X`` for ``E || B`` and ``(1 + u^2)/4 Tr X`` for ``E`` uniform on the circle
  normal to ``B`` (both ``Tr X / 3`` averaged over ``u``); ``Tr X`` is invariant under the
  ``alpha`` symmetries the ATS quadrature uses;
* four wells: ``n^T X n`` or ``(Tr X - n^T X n)/2`` for the field direction ``n`` of the sphere rule.

Errors: quadrature -- the sum over axes of the change when that axis's node count (or the
orientation rule) is doubled, as :mod:`tunnelsim.ensemble`; sampling -- the standard error.
"""

from __future__ import annotations

import time

import numpy as np

from .. import hamiltonians, orientations as _orientations, units
from .._checks import as_positive_array, as_real_array, temperature_axis
from ..ensemble import AveragingSettings
from ..systems import SYSTEM_KINDS
from . import dipoles
from .response import DielectricSettings, matrix_elements, one_phonon_prefactor_per_s_K3, susceptibility_from_parts
from .response import two_level_susceptibility

__all__ = ["OBSERVABLES", "ring3_parts", "permittivity_map", "sum_maps"]

#: Observable name -> (units, long name); values are per volume of glass relative to eps_r.
OBSERVABLES = {
    "permittivity_resonant": ("1", "Delta eps'/eps_r, resonant part"),
    "permittivity_relaxation": ("1", "Delta eps'/eps_r, relaxation part"),
    "permittivity": ("1", "Delta eps'/eps_r, resonant + relaxation"),
    "loss_tangent_resonant": ("1", "tan delta, resonant absorption"),
    "loss_tangent_relaxation": ("1", "tan delta, relaxation absorption"),
    "loss_tangent": ("1", "tan delta = Delta eps''/eps_r, resonant + relaxation"),
}
_PARTS = ("re_res", "im_res", "re_rel", "im_rel")


def _observables_from_parts(parts):
    return {
        "permittivity_resonant": parts[..., 0],
        "permittivity_relaxation": parts[..., 2],
        "permittivity": parts[..., 0] + parts[..., 2],
        "loss_tangent_resonant": parts[..., 1],
        "loss_tangent_relaxation": parts[..., 3],
        "loss_tangent": parts[..., 1] + parts[..., 3],
    }


def ring3_parts(E, D0, phi):
    """Levels and ``M = A^T A``, ``A_km = |<k|m>|^2``, of Eq. 6, batched.

    Levels come from the closed-form kernel (:func:`tunnelsim.kernels.three_level_outer`), the
    occupations from the eigenvector-eigenvalue identity
    ``|<k|m>|^2 = det(lambda_m - H_k) / prod_{j != m} (lambda_m - lambda_j)`` (``H_k`` the 2x2
    minor without well ``k``); near-degenerate instances (gap below 1e-4 of the scale) are
    redone with :func:`numpy.linalg.eigh`.

    Parameters
    ----------
    E : array_like, shape (N, 3)
    D0 : array_like, shape (N,)
    phi : array_like, shape (K,)
        Phases of Eq. 7 (orientation nodes at one field).

    Returns
    -------
    levels : numpy.ndarray, shape (N, K, 3)
    M : numpy.ndarray, shape (N, K, 3, 3)
    """
    from .. import kernels

    E = np.asarray(E, dtype=float)
    D0 = np.asarray(D0, dtype=float)
    phi = np.atleast_1d(np.asarray(phi, dtype=float))
    lv = kernels.three_level_outer(E, D0, phi, np.ones_like(phi), couplings=False).levels  # (N, K, 3)
    Eb = E[:, None, :]
    num = np.empty(lv.shape + (3,))  # (N, K, m, k)
    for k in range(3):
        i, j = [x for x in range(3) if x != k]
        num[..., k] = (lv - Eb[..., i, None]) * (lv - Eb[..., j, None]) - (D0[:, None, None] ** 2)
    den = np.empty(lv.shape)
    for m in range(3):
        a, b = [x for x in range(3) if x != m]
        den[..., m] = (lv[..., m] - lv[..., a]) * (lv[..., m] - lv[..., b])
    scale = np.maximum(D0[:, None], np.abs(E).max(axis=-1)[:, None])
    gaps = np.minimum(lv[..., 1] - lv[..., 0], lv[..., 2] - lv[..., 1])
    bad = gaps < 1e-4 * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        A = np.swapaxes(num / den[..., None], -1, -2)  # (N, K, k, m)
    if np.any(bad):
        ii, kk = np.nonzero(bad)
        h = hamiltonians.three_level(E[ii], D0[ii], phi[kk])
        lv_b, vecs = np.linalg.eigh(h)
        A[ii, kk] = np.abs(vecs) ** 2
        lv = lv.copy()
        lv[ii, kk] = lv_b
    A = np.clip(A, 0.0, 1.0)
    M = np.einsum("...km,...kn->...mn", A, A)
    return lv, M


def _orientation_factor(u, field_direction):
    u = np.asarray(u, dtype=float)
    return (1.0 - u * u) / 2.0 if field_direction == "parallel" else (1.0 + u * u) / 4.0


def _node_parts(system_kind, params, weights, rule, T, field_T, settings, dipole_moment_D, charge_area_A2,
                chunk=4096):
    """Per-node contributions ``(N, n_T, 4)`` in D^2/K (weights included) at one field."""
    p = float(dipole_moment_D)
    N = len(weights)
    out = np.zeros((N, T.size, 4))
    if system_kind == "two_level":
        chi = two_level_susceptibility(params["delta"], params["delta0"], p * p / 3.0, T, settings)
        parts = np.stack([chi.resonant.real, chi.resonant.imag, chi.relaxation.real, chi.relaxation.imag], axis=-1)
        return parts * np.asarray(weights)[:, None, None]
    if system_kind == "three_level":
        from ._kernel import ring3_node_sums

        u = rule.nodes
        phi = units.phase_per_tesla(charge_area_A2, u) * float(field_T)
        g = rule.weights * _orientation_factor(u, settings.field_direction)
        A = one_phonon_prefactor_per_s_K3(settings)
        for start in range(0, N, chunk):
            sl = slice(start, min(start + chunk, N))
            lv, M = ring3_parts(params["E"][sl], params["D0"][sl], phi)
            out[sl] = ring3_node_sums(lv, M, weights[sl], g, T, settings.photon_energy_K, settings.linewidth_K,
                                      settings.omega_per_s, A, p)
        return out
    # four wells: generic eigh path
    n = rule.nodes  # (K, 3)
    comps = dipoles.dipole_components(dipoles.well_dipoles(dipoles.tetrahedron_positions(), p))  # (3, 4, 4)
    bb = n[:, :, None] * n[:, None, :]
    tensor = bb if settings.field_direction == "parallel" else 0.5 * (np.eye(3) - bb)
    phi_vec = n * (float(units.phase_per_tesla(charge_area_A2)) * float(field_T))
    step = max(1, chunk // max(1, len(n)))
    for start in range(0, N, step):
        sl = slice(start, min(start + step, N))
        h = hamiltonians.four_well(params["E"][sl][:, None, :], params["D0"][sl][:, None], phi_vec)
        lv, X, G, S2 = matrix_elements(h, comps, tensor)
        chi = susceptibility_from_parts(lv, X, G, S2, T, settings, p)
        parts = np.stack([chi.resonant.real, chi.resonant.imag, chi.relaxation.real, chi.relaxation.imag], -1)
        out[sl] = np.tensordot(rule.weights, parts, axes=([0], [1])) * weights[sl, None, None]
    return out


def _default_rule(system_kind, averaging):
    if system_kind == "three_level":
        return _orientations.planar_rule(averaging.orientation_nodes or 8)
    if system_kind == "four_well":
        return _orientations.sphere_rule(averaging.sphere_degree or 11)
    return None


def permittivity_map(system_kind, distribution, temperature_K, field_T, settings=DielectricSettings(), *,
                     density_per_g, dipole_moment_D, charge_area_A2=None, averaging=AveragingSettings(),
                     orientations=None, observables=tuple(OBSERVABLES), info=None):
    """Dielectric response of an ensemble per volume, ``Delta eps / eps_r``, on a (T, B) grid.

    Parameters
    ----------
    system_kind : {"two_level", "three_level", "four_well"}
        The model (STM 2LS, Eq. 6 ring, tetrahedral four wells).
    distribution : object
        A :mod:`tunnelsim.distributions` distribution for that kind (weights include ``P_bar`` / ``P*``).
    temperature_K : array_like, shape (n_T,)
    field_T : array_like, shape (n_B,)
        Magnetic field ``B`` in tesla (ignored by the 2LS).
    settings : DielectricSettings
        Frequency, linewidth, field direction, material (density, eps_r, phonons).
    density_per_g : float
        Systems per gram (``n_ATS``, or the STM's number when the distribution is normalised).
    dipole_moment_D : float
        STM dipole moment ``p`` in debye (:mod:`tunnelsim.dielectric.dipoles`).
    charge_area_A2 : float, optional
        ``(Q/e) S_Delta`` in Å^2 (ring) or ``(Q/e) S_1`` (four wells); required for them.
    averaging : tunnelsim.ensemble.AveragingSettings
        Quadrature / sampling settings, as for the magnetisation.
    orientations : tunnelsim.orientations.OrientationRule, optional
        Default: planar rule (8 nodes) or sphere rule (degree 11), or the counts in ``averaging``.
    observables : sequence of str
        Names from :data:`OBSERVABLES`.
    info : dict, optional
        Filled with how the result was obtained.

    Returns
    -------
    values, errors : dict of str to numpy.ndarray, shape (n_T, n_B)
        Dimensionless ``Delta eps'/eps_r`` and ``tan delta`` (see :data:`OBSERVABLES`).
    """
    if system_kind not in SYSTEM_KINDS:
        raise ValueError(f"system_kind must be one of {SYSTEM_KINDS}, got {system_kind!r}")
    if getattr(distribution, "system_kind", None) != system_kind:
        raise ValueError(f"distribution is for {getattr(distribution, 'system_kind', '?')} systems, not {system_kind}")
    if not isinstance(settings, DielectricSettings):
        raise ValueError(f"settings must be DielectricSettings, got {type(settings).__name__}")
    if not isinstance(averaging, AveragingSettings):
        raise ValueError(f"averaging must be AveragingSettings, got {type(averaging).__name__}")
    unknown = [name for name in observables if name not in OBSERVABLES]
    if unknown:
        raise ValueError(f"observables: unknown {unknown}; expected names from {sorted(OBSERVABLES)}")
    T = temperature_axis(temperature_K)
    B = np.atleast_1d(as_real_array(field_T, "field_T"))
    if B.ndim != 1 or np.any(B < 0):
        raise ValueError("field_T must be a 1-D array of field magnitudes >= 0")
    density = float(as_positive_array(density_per_g, "density_per_g"))
    as_positive_array(dipole_moment_D, "dipole_moment_D")
    if system_kind != "two_level":
        if charge_area_A2 is None:
            raise ValueError(f"charge_area_A2 is required for {system_kind}")
        as_positive_array(charge_area_A2, "charge_area_A2")
    rule = orientations if orientations is not None else _default_rule(system_kind, averaging)
    started = time.perf_counter()
    scale = max(float(T.max()), float(getattr(distribution, "D0_max_K", 0.0) or 0.0))
    if charge_area_A2 is not None and getattr(distribution, "D0_max_K", None) is not None:
        scale = max(scale, distribution.D0_max_K * float(units.phase_per_tesla(charge_area_A2)) * float(B.max()))
    plan = _plan(distribution, averaging, rule, scale)
    field_independent = system_kind == "two_level"
    results = {}
    for label, nodes, rule_used in plan:
        totals = np.zeros((T.size, B.size, 4))
        squares = np.zeros_like(totals)
        for j, b in enumerate(B):
            if field_independent and j > 0:
                totals[:, j], squares[:, j] = totals[:, 0], squares[:, 0]
                continue
            per_node = _node_parts(system_kind, nodes.params, np.asarray(nodes.weights), rule_used, T, b, settings,
                                   dipole_moment_D, charge_area_A2)
            totals[:, j] = per_node.sum(axis=0)
            squares[:, j] = (per_node**2).sum(axis=0)
        results[label] = (totals, squares, len(nodes))
    factor = float(units.susceptibility_to_permittivity(density, settings.mass_density_g_cm3, settings.eps_r))
    base, base_sq, n_base = results["base"]
    if averaging.method != "quadrature":
        err = np.sqrt(np.maximum((base_sq * n_base - base**2) / (n_base - 1), 0.0))
    elif averaging.error_estimate:
        err = sum(np.abs(res[0] - base) for label, res in results.items() if label != "base")
    else:
        err = np.full_like(base, np.nan)
    values = {k: v * factor for k, v in _observables_from_parts(base).items() if k in observables}
    err_parts = _observables_from_parts(err)
    err_parts["permittivity"] = err[..., 0] + err[..., 2]
    err_parts["loss_tangent"] = err[..., 1] + err[..., 3]
    errors = {k: v * abs(factor) for k, v in err_parts.items() if k in observables}
    if info is not None:
        info.update({
            "system": system_kind,
            "distribution": distribution.describe(),
            "n_parameter_nodes": int(n_base),
            "n_orientations": 0 if rule is None else int(len(rule.weights)),
            "field_direction": settings.field_direction,
            "frequency_Hz": settings.frequency_Hz,
            "elapsed_s": time.perf_counter() - started,
        })
    return values, errors


def _plan(distribution, averaging, rule, scale):
    """Rules to evaluate, base first (the plan of :mod:`tunnelsim.ensemble`)."""
    if averaging.method != "quadrature":
        nodes = distribution.sample(averaging.samples, averaging.seed, method=averaging.method, energy_scale_K=scale)
        return [("base", nodes, rule)]
    counts = distribution.node_counts(averaging.nodes, averaging.level, scale)
    base = distribution.quadrature(nodes=counts, energy_scale_K=scale)
    plan = [("base", base, rule)]
    if averaging.error_estimate:
        for axis, count in counts.items():
            plan.append((axis, distribution.quadrature(nodes={**counts, axis: 2 * count}, energy_scale_K=scale), rule))
        if rule is not None:
            plan.append(("orientation", base, _orientations.refine(rule)))
    return plan


def sum_maps(*maps):
    """Sum ``(values, errors)`` maps of several ensembles (e.g. STM background + ATS): errors add."""
    values, errors = {}, {}
    for vals, errs in maps:
        for k, v in vals.items():
            values[k] = values.get(k, 0.0) + v
            errors[k] = errors.get(k, 0.0) + errs[k]
    return values, errors
