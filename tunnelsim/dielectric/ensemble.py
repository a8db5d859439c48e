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

Speed: the 3-ring runs the compiled sums of :mod:`tunnelsim.dielectric._kernel` on the
closed-form levels; four wells take ``eigh`` matrix elements and the compiled sums for any ``n``.
:func:`ats_echo_nodes` builds the quadrature of an ATS ensemble for the echoes of
:mod:`tunnelsim.dielectric.echoes`.

Errors: quadrature -- by default the embedded Gauss-Kronrod estimate of
:mod:`tunnelsim.error_estimates` per part (resonant and relaxation, real and imaginary), every node
and orientation evaluated once (:mod:`tunnelsim.dielectric._embedded`); with ``error_estimate =
"doubling"`` the sum over axes of the change when that axis's node count (or the orientation rule)
is doubled; sampling -- the standard error.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .. import hamiltonians, orientations as _orientations, units
from .._checks import as_int, as_positive_array, as_real_array, temperature_axis
from ..ensemble import AveragingSettings
from ..systems import SYSTEM_KINDS
from . import dipoles
from .response import DielectricSettings, matrix_elements, one_phonon_prefactor_per_s_K3
from .response import two_level_susceptibility

__all__ = ["OBSERVABLES", "ats_echo_nodes", "ring3_parts", "permittivity_map", "sum_maps"]

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
    from ._kernel import ring3_occupations

    E = np.ascontiguousarray(E, dtype=float)
    D0 = np.ascontiguousarray(D0, dtype=float)
    phi = np.atleast_1d(np.asarray(phi, dtype=float))
    lv = kernels.three_level_outer(E, D0, phi, np.ones_like(phi), couplings=False).levels  # (N, K, 3)
    M, bad = ring3_occupations(E, D0, lv)
    if np.any(bad):
        ii, kk = np.nonzero(bad)
        h = hamiltonians.three_level(E[ii], D0[ii], phi[kk])
        lv_b, vecs = np.linalg.eigh(h)
        A = np.abs(vecs) ** 2
        M[ii, kk] = np.einsum("...km,...kn->...mn", A, A)
        lv = lv.copy()
        lv[ii, kk] = lv_b
    return lv, M


def _orientation_factor(u, field_direction):
    u = np.asarray(u, dtype=float)
    return (1.0 - u * u) / 2.0 if field_direction == "parallel" else (1.0 + u * u) / 4.0


def _two_level_parts(params, T, settings, dipole_moment_D):
    """STM 2LS contributions ``(N, n_T, 4)`` (D^2/K), unweighted; ``mu^2 = p^2/3`` (module docstring)."""
    p = float(dipole_moment_D)
    chi = two_level_susceptibility(params["delta"], params["delta0"], p * p / 3.0, T, settings)
    return np.stack([chi.resonant.real, chi.resonant.imag, chi.relaxation.real, chi.relaxation.imag], axis=-1)


def _ring_phases(rule, field_T, settings, charge_area_A2):
    """Eq. 7 phases of the ring at the orientation nodes and their direction factors, ``(K,)`` each."""
    u = rule.nodes
    return units.phase_per_tesla(charge_area_A2, u) * float(field_T), _orientation_factor(u, settings.field_direction)


def _four_well_elements(params, rule, field_T, settings, dipole_moment_D, charge_area_A2):
    """Levels and matrix elements ``(lv, X, G, S2)`` of the four wells, ``(N, K, ...)``, at the
    sphere rule's field directions (:func:`tunnelsim.dielectric.response.matrix_elements`)."""
    n = rule.nodes  # (K, 3)
    comps = dipoles.dipole_components(dipoles.well_dipoles(dipoles.tetrahedron_positions(), float(dipole_moment_D)))
    bb = n[:, :, None] * n[:, None, :]
    tensor = bb if settings.field_direction == "parallel" else 0.5 * (np.eye(3) - bb)
    phi_vec = n * (float(units.phase_per_tesla(charge_area_A2)) * float(field_T))
    h = hamiltonians.four_well(params["E"][:, None, :], params["D0"][:, None], phi_vec)
    return matrix_elements(h, comps, tensor)


def _node_parts(system_kind, params, weights, rule, T, field_T, settings, dipole_moment_D, charge_area_A2,
                chunk=32768, ring_chunk=32768):
    """Per-node contributions ``(N, n_T, 4)`` in D^2/K (weights included) at one field."""
    p = float(dipole_moment_D)
    N = len(weights)
    out = np.zeros((N, T.size, 4))
    if system_kind == "two_level":
        return _two_level_parts(params, T, settings, p) * np.asarray(weights)[:, None, None]
    A = one_phonon_prefactor_per_s_K3(settings)
    if system_kind == "three_level":
        from ._kernel import ring3_node_sums

        phi, factor = _ring_phases(rule, field_T, settings, charge_area_A2)
        g = rule.weights * factor
        for start in range(0, N, ring_chunk):
            sl = slice(start, min(start + ring_chunk, N))
            lv, M = ring3_parts(params["E"][sl], params["D0"][sl], phi)
            out[sl] = ring3_node_sums(lv, M, weights[sl], g, T, settings.photon_energy_K, settings.linewidth_K,
                                      settings.omega_per_s, A, p)
        return out
    # four wells: generic eigh path
    from ._kernel import levels_node_sums

    step = max(1, chunk // max(1, len(rule.nodes)))
    for start in range(0, N, step):
        sl = slice(start, min(start + step, N))
        chunk_params = {"E": params["E"][sl], "D0": params["D0"][sl]}
        lv, X, G, S2 = _four_well_elements(chunk_params, rule, field_T, settings, p, charge_area_A2)
        out[sl] = levels_node_sums(lv, X, G, S2, weights[sl], rule.weights, T, settings.photon_energy_K,
                                   settings.linewidth_K, settings.omega_per_s, A, p)
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
    factor = float(units.susceptibility_to_permittivity(density, settings.mass_density_g_cm3, settings.eps_r))
    if averaging.method == "quadrature" and averaging.error_estimate == "embedded":
        from ._embedded import embedded_parts_and_errors

        counts = distribution.node_counts(averaging.nodes, averaging.level, scale)
        nodes = distribution.quadrature(nodes=counts, energy_scale_K=scale, embedded=True)
        rule_used = None if rule is None else _orientations.with_embedded(rule)
        base, err = embedded_parts_and_errors(system_kind, nodes, rule_used, T, B, settings, dipole_moment_D,
                                              charge_area_A2)
        return _finish(base, err, factor, observables, info, system_kind, distribution, len(nodes), rule, settings,
                       started, "embedded Gauss-Kronrod rules per axis (as the magnetisation's), per part")
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
    base, base_sq, n_base = results["base"]
    if averaging.method != "quadrature":
        err, how = np.sqrt(np.maximum((base_sq * n_base - base**2) / (n_base - 1), 0.0)), "standard error"
    elif averaging.error_estimate:
        err = sum(np.abs(res[0] - base) for label, res in results.items() if label != "base")
        how = "node doubling per axis (sum of |changes|)"
    else:
        err, how = np.full_like(base, np.nan), "none"
    return _finish(base, err, factor, observables, info, system_kind, distribution, n_base, rule, settings, started,
                   how)


def _finish(base, err, factor, observables, info, system_kind, distribution, n_base, rule, settings, started, how):
    """Observables and their errors from the parts ``(n_T, n_B, 4)``; ``info`` filled."""
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
            "error_estimate": how,
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


# --------------------------------------------------------------------------- echo ensembles
def _composite_gauss(lo, hi, n, order):
    """Composite Gauss-Legendre rule on ``[lo, hi]``: ``n / order`` equal panels of ``order`` nodes."""
    panels = max(1, n // order)
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(lo, hi, panels + 1)
    half = 0.5 * np.diff(edges)
    nodes = (0.5 * (edges[:-1] + edges[1:]))[:, None] + half[:, None] * x
    return nodes.ravel(), (half[:, None] * w).ravel()


def ats_echo_nodes(D_min_K, D_max_K, D0_min_K, D0_max_K=None, *, n_D=128, n_D0=4, n_u=256, n_angle=1,
                   order=4, dipole_moment_D=1.0):
    """Quadrature nodes of an ATS 3LS ensemble for an echo against ``B``
    (:func:`~tunnelsim.dielectric.echoes.echo_amplitude_vs_field`).

    Eq. 8, ``P* dalpha dD/D dD0/D0``, times uniform orientations, ``du`` on ``u = cos(theta)`` in
    ``[0, 1]`` (the echo is even in ``u``: the in-plane dipoles do not see the sign of the normal).
    Composite Gauss-Legendre rules (``order`` nodes per panel, equal panels) on ``ln D``,
    ``ln D0`` and ``u``; the asymmetry angle ``alpha`` on ``n_angle`` equally spaced nodes with
    the in-plane azimuth of the field tied to it, ``beta = alpha + pi/4`` (a lattice on the
    ``(alpha, beta)`` torus, as in ``benchmarks/echoes.py``). The electric field is parallel
    to ``B``; the well dipoles follow :func:`tunnelsim.dielectric.dipoles.well_dipoles`.

    Node counts. The resonance is narrow: relative width about ``f_Rabi / f`` in the gap. At
    ``B = 0`` it sits at one ``D`` (``n_D`` must resolve it in ``ln D``); for ``B`` above about
    ``h f / ((2/sqrt 3) D0 (2 pi (Q/e) S / phi0))`` every ATS with ``D << D0 phi u`` has the lower gap
    ``(2/sqrt 3) D0 phi u``, so the resonant systems lie on a thin shell in ``u`` whose width
    shrinks as ``1/B``, and ``n_u`` must resolve it at the largest field. Measured on the
    ``benchmarks/echoes.py`` (e1) case (1 GHz, 20 MHz Rabi frequency for 1 D, D0 = 9.4 K,
    (Q/e) S = 30000 A^2, D = 26.7-100 mK, 0-50 mT, ``order = 4``), error in units of max|A|
    against ``n_D = 256``, ``n_u = 2048``:

    ========  =========  =========  =========  =========  =========
    n_D       n_u = 16   n_u = 64   n_u = 128  n_u = 256  n_u = 512
    ========  =========  =========  =========  =========  =========
    32        0.39       0.23       0.23       0.23       0.23
    64        0.42       0.049      0.025      0.025      0.025
    128       0.42       0.049      0.012      3.6e-4     1.9e-4
    ========  =========  =========  =========  =========  =========

    The defaults (``n_D = 128``, ``n_u = 256``: 32768 nodes at fixed ``D0``) leave 3.6e-4; at
    ``n_u = 16`` the curve has spurious peaks (max|A| 8-19 % high). ``n_D0 = 4`` (one panel) leaves
    1.4e-5 for Table 3's D0 = 9.06-9.75 K (against 16 nodes; a fixed D0 = 9.4 K differs by 7e-4).
    Doubling ``n_D`` and ``n_u`` changes the result by about its error (the table within a factor
    1.6), so check a new parameter set that way. Larger fields, a smaller ``f_Rabi / f`` or a
    smaller ``D_min`` need more nodes.

    Parameters
    ----------
    D_min_K, D_max_K : float
        Range of ``D`` in K, ``0 < D_min < D_max``.
    D0_min_K : float
        Lower ``D0`` in K (the only one when ``D0_max_K`` is None or equal).
    D0_max_K : float, optional
        Upper ``D0`` in K.
    n_D, n_D0, n_u : int, optional
        Nodes in ``ln D``, ``ln D0`` (one node when ``D0`` is fixed) and ``u``; rounded down to
        a multiple of ``order`` (at least one panel).
    n_angle : int, optional
        Nodes in ``alpha`` (and ``beta``).
    order : int, optional
        Gauss-Legendre nodes per panel.
    dipole_moment_D : float, optional
        STM dipole moment ``p`` of a nearest-neighbour pair.

    Returns
    -------
    params : dict
        ``E`` (N, 3) and ``D0`` (N,) in K, ``cos_theta`` (N,), as
        :func:`~tunnelsim.dielectric.echoes.echo_amplitude_vs_field` takes them.
    weights : numpy.ndarray, shape (N,)
        Normalised to sum 1 over the window (multiply by the number of systems in it).
    dipole_D : numpy.ndarray, shape (N, 3, 3)
        Dipole operators along the field, well basis.
    """
    D_min, D_max, D0_min = (float(as_positive_array(x, name)) for x, name in
                            ((D_min_K, "D_min_K"), (D_max_K, "D_max_K"), (D0_min_K, "D0_min_K")))
    D0_max = D0_min if D0_max_K is None else float(as_positive_array(D0_max_K, "D0_max_K"))
    if not D_min < D_max:
        raise ValueError(f"D_min_K must be < D_max_K, got {D_min!r} and {D_max!r}")
    if D0_max < D0_min:
        raise ValueError(f"D0_max_K must be >= D0_min_K, got {D0_max!r} < {D0_min!r}")
    order = as_int(order, "order", 1)
    n_D, n_u, n_angle = (as_int(x, name, 1) for x, name in ((n_D, "n_D"), (n_u, "n_u"), (n_angle, "n_angle")))
    lnD, wD = _composite_gauss(math.log(D_min), math.log(D_max), n_D, order)
    if D0_max > D0_min:
        lnD0, wD0 = _composite_gauss(math.log(D0_min), math.log(D0_max), as_int(n_D0, "n_D0", 1), order)
    else:
        lnD0, wD0 = np.array([math.log(D0_min)]), np.array([1.0])
    u, wu = _composite_gauss(0.0, 1.0, n_u, order)
    alpha = 2.0 * math.pi * (np.arange(n_angle) + 0.5) / n_angle
    grids = np.meshgrid(lnD, lnD0, u, alpha, indexing="ij")
    weight_grids = np.meshgrid(wD, wD0, wu, np.full(n_angle, 1.0 / n_angle), indexing="ij")
    gD, gD0, gu, ga = (np.exp(grids[0]).ravel(), np.exp(grids[1]).ravel(), grids[2].ravel(), grids[3].ravel())
    weights = np.prod([g.ravel() for g in weight_grids], axis=0)
    s = np.sqrt(1.0 - gu**2)
    beta = ga + math.pi / 4.0
    direction = np.stack([s * np.cos(beta), s * np.sin(beta), gu], axis=-1)
    p = dipoles.dipole_operator(dipoles.well_dipoles(dipoles.ring_positions(3), dipole_moment_D), direction)
    params = {"E": hamiltonians.asymmetries_from_polar(gD, ga), "D0": gD0, "cos_theta": gu}
    return params, weights / weights.sum(), p
