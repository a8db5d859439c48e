"""Quadrature error estimates of ensemble averages: embedded Gauss-Kronrod sub-rules, node doubling.

:mod:`tunnelsim.ensemble` sums ``w_i omega_k O_ik`` over a tensor rule; this module estimates the
error of that sum (``AveragingSettings.error_estimate``). The error of a tensor rule is, to
leading order, the sum over its axes (every parameter axis of the distribution and the
orientation axes) of the error of that axis's 1-D rule, so both estimates are sums over axes of
per-axis estimates (a sum of magnitudes cannot cancel).

Embedded estimate (``"embedded"``, the default)
-----------------------------------------------
(Axes with null rules use the per-point decay rate of the next section instead of the
extrapolation described here, which remains for the axes without them.)

Every axis is a Gauss-Kronrod rule ``K`` of ``2 m + 1`` nodes (degree ``d_K = 3 m + 1``) carrying
two sub-rules on the same nodes, the ``m``-point Gauss rule ``G`` (``d_G = 2 m - 1``) and the
interpolatory rule ``L`` on the ``m + 1`` Kronrod-only nodes (``d_L = m``)
(:mod:`tunnelsim.distributions.rules`, :func:`tunnelsim.orientations.with_embedded`; the azimuth
of the product sphere rule is a trapezoid rule with sub-rules on every second and fourth point).
The value reported is the Kronrod tensor rule. One compiled pass evaluates every node once and
returns every weighted total the estimate needs -- the main rule, and per axis ``a`` the tensor
rule with ``a``'s factor replaced by ``G`` and by ``L`` -- as rows of a weight matrix
(:func:`tunnelsim.kernels.three_level.three_level_sums`,
:func:`tunnelsim.kernels.four_well.four_well_sums`; the numpy path for the other models): no
further spectra (only Lebedev orientation rules, which have no embedded partner, add two lower
Lebedev rules as extra nodes). The rules are tensor products, so every sub-rule (and null-rule)
row is the main weight times a factor of one axis's node position (``Embedded.index``): the
compiled pass accumulates the main rule's sum per position of each axis, one accumulation per
axis instead of one per row, and the rows' totals follow as ``sum_p f(p) S_a[p]``
(:func:`_factored_rows`; rows not of that form, such as the four-well chamber's ``G`` and ``L``,
stay rows). On the 64 x 64 BK7 map the default estimate costs about 1.3x the CPU time of one
pass without it (1.18x in spectra; ``benchmarks/error_estimate_honesty.md``).

Per axis, ``e_G = |Q_G - Q_K|`` is, to leading order, the error of the Gauss sub-rule (the
Kronrod value is far more accurate), and the question is how much smaller the Kronrod rule's own
error is. The integrands are analytic in a neighbourhood of each (mapped) axis; if that
neighbourhood contains the Bernstein ellipse ``E_rho``, a rule exact to degree ``d`` errs by
``~ C rho^-d``, so

    e_K ~ e_G rho^-(d_K - d_G),     d_K - d_G = m + 2 (m + 3 for odd m).

What is *not* usable is the classical reading of ``rho`` from the two sub-rules,
``rho^(d_G - d_L) = e_L / e_G``: on integrands with singularities near the axis (every ``D``
axis over many decades) the Gauss rule and the rule on the Kronrod-only nodes err by the same
amount to two digits (``e_L ~ e_G``, measured on the model integrands ``1/(1 + D^2/a^2)``,
``tanh(E/2T)/E`` and on every config of the honesty table), although ``K`` has converged by
three or four more orders -- which is why the first version overstated the error ~1000x. So
``rho`` comes from two other sources, and the larger is used:

* the axis's shape, ``Embedded.rate = ln rho_a``, from the analyticity the distribution
  guarantees (:mod:`tunnelsim.distributions.rules`): Gauss-Legendre in ``ln x`` (and the graded
  ``x = c sinh s``) over a length ``L`` with singularities no nearer than ``Im = pi/2`` gives
  ``rho_a = b + sqrt(1 + b^2)``, ``b = pi / L``; None for the rules without such a bound (the
  ``D`` tail with its endpoint singularity, the clustered angle rules, orientations);
* the Gauss sub-rule itself: ``e_G ~ C rho^-2m`` with ``C`` at most the integral's scale
  ``S_abs = sum_i |w_i O_i|``, so ``(e_G / S_abs)`` bounds ``rho^-2m`` from below; the
  extrapolation factor ``(e_G / S_abs)^p`` with ``p =`` :data:`EMBEDDED_POWER` below 1 is this
  reading hedged against ``C << S_abs`` (the role of QUADPACK's ``(200 e / resasc)^1.5``).

The per-axis estimate is ``s e_G max(F, min(1, (e_G / S_abs)^p, rho_a^-(d_K - d_G)))`` with the
safety factor ``s =`` :data:`EMBEDDED_SAFETY` and the floor ``F =`` :data:`EMBEDDED_FACTOR_MIN`.
The trapezoid azimuth of the product sphere rule is the exception: for a periodic analytic
integrand the errors of the 1/4, 1/2 and full point sets fall exactly geometrically, so there the
sub-rules do give the rate, ``e_K ~ e_G (e_G / e_L)^2``. The total over axes is floored at the
rounding of the sum itself, ``eps sqrt(n_terms) S_abs``. ``s``, ``p`` and ``F`` are the only
calibrated numbers, set with ``benchmarks/error_estimate_honesty.py`` alone (its table is in
``benchmarks/error_estimate_honesty.md``): the smallest safety for which the reported error
covers the true error (against a reference refined 4x per axis with more orientations) at
>= 95 % of the (T, B, observable) points of the shipped and varied configs.

Null rules: the decay rate per point (axes with ``Embedded.null``)
------------------------------------------------------------------
Every Gauss-Kronrod axis also carries null rules as further weight rows of the same pass
(:func:`tunnelsim.distributions.rules.kronrod_null_rules`): the weight vectors that read the
top 12 orthonormal Legendre coefficients ``c_2m, c_2m-1, ...`` of the integrand along the axis
(in the unmapped variable, the other axes summed with their main weights) from its ``2 m + 1``
node values; row ``k`` annihilates every polynomial of degree ``< k`` (Berntsen-Espelid). Pieces of
composite axes (the two halves of the ``alpha`` and four-well direction rules, the inner and
tail parts of ``D``) get their own rows. Per (T, B) point and observable,
:func:`null_rule_axis_error`:

* the envelope of consecutive pairs ``E_i = hypot(c_{2m-2i}, c_{2m-2i-1})`` (robust to the parity
  of symmetric integrands) is fitted by least squares in ``ln E`` with ``A r_fit^(2m - k)``;
* the decay per degree used is ``r = min(r_fit^p, 1/rho_a)`` with ``p =`` :data:`NULL_RATE_POWER`
  (< 1: a hedge towards slower decay, since the top coefficients are pre-asymptotic on
  integrands with near singularities) and ``rho_a`` the axis's guaranteed rate (above);
* the Kronrod error is ``s A sum_{k > d_K} |K[P~_k]| r^(k - 2m)``, ``s =`` :data:`NULL_SAFETY`:
  the error of ``K`` on a Legendre series with the extrapolated coefficients. The weights
  ``|K[P~_k]|`` (:func:`tunnelsim.distributions.rules.kronrod_error_functional`) are ``~ 1e-2`` just
  past ``d_K`` and grow to ``O(1)`` near ``4 m``; the earlier ``e_G rho^-(d_K - d_G)`` treated them
  as ``|G[P~_2m]| ~ 1.7``, which alone overstated by ``~ 30x``;
* fallback: where ``r >= `` :data:`NULL_RATE_CRITICAL` (no geometric decay yet) the Gauss sub-rule's
  error ``s |G[P~_2m]| A``, which the Kronrod value improves on; axes with fewer than four null
  rules (``m = 1``, three nodes: one pair, no decay to fit), the trapezoid azimuth, Lebedev and
  random rules keep the estimate above.

Planar orientation axis at large Aharonov-Bohm phase (three-well systems)
-------------------------------------------------------------------------
The orientation integrand of the three-well system is ``u^j G(omega u)`` with ``G`` ``2 pi``
periodic (Eq. 6, 7). Past ``omega ~ 2`` rad at ``u = 1`` its Legendre coefficients on the nine
nodes are pre-asymptotic (flat up to degree ``~ omega / 2``, then falling faster than
geometrically), so the null-rule reading above falls back to the Gauss error and overstated by
1e2-1e6 at high T and high field. There the error is read from the harmonics of ``G`` that the
node values resolve (:mod:`tunnelsim.harmonic_errors`; the node values follow from the main and
the ``2 m`` null-rule rows of the same pass): per-axis median overstatement 164 -> 6.8 over the
282 such (T, B, observable) points of the honesty table, coverage of the per-axis error 95.0 ->
94.7 %. ``embedded_errors(..., phase_rad=...)``; :func:`tunnelsim.ensemble.compute` passes the
phase for three-well ensembles.

Calibration (``benchmarks/error_estimate_honesty.py``, the same ten configs and 678 points, the
only input), on its per-point yardstick; a point counts as covered when the reported error is at
least the observed ``|value - reference|`` (the reference's rounding at the point floors only the
denominator of the overstatement). ``(p, s)`` over ``{0.75, 0.8, 0.85, 0.9, 0.95} x {1.25, 1.5,
1.75, 2, 2.5}`` with :data:`tunnelsim.harmonic_errors.HARMONIC_SAFETY` in ``{1.5, 2, 3}``, covered
/ median overstatement, then refined over ``p`` in ``0.8 ... 0.9`` and ``s`` in ``1.3 ... 1.75``:
``0.85, 1.5`` (harmonic safety 2, harmonic reading capped at ``2 |Q_G - Q_K|``): 96.5 % / 9.5
(chosen: ten points and 0.5 of the median from the targets); ``0.85, 1.4``: 95.7 % / 8.9;
``0.9, 1.75``: 97.3 % / 9.6; ``0.8, 1.5``: 96.8 % / 10.3 without the cap. Without the cap the
harmonic reading at low T and moderate phase reported up to ~7x the value itself (the tail sums
``|e_n|`` whose signed sum cancels), and ``0.85, 1.5`` read 96.6 % / 9.8; harmonic safety 1.5 and
3 move the median by -0.1 and +0.3. Before the harmonic reading, ``(0.8, 1.75)`` read 95.4 % /
13.7 (on the yardstick that also counted the unresolvable points as missed). Twelve null rules:
six pairs fit better than three (on an earlier yardstick, with six rules the same coverage needed
``s ~ 6`` and overstated ~50x). Tried and not kept: the envelope
as the maximum over sliding triples of consecutive coefficients instead of pairs (within the noise
of this calibration; the less hedged power it needs under-estimates the ``m = 3`` ``tanh``
integrand of ``tests/test_ensemble.py``); the slope of the top two pairs alone on the orientation
axis (11.5 at 95.1 %); the smaller of the Legendre and harmonic readings (94.8 % / 9.0 at the old
constants: the Legendre reading under-estimates at low T and medium phase, where the harmonic one
is conservative). What remains above 10 (``benchmarks/error_estimate_honesty.md``): the
trapezoid azimuth of the four-well sphere rule and the oscillating coefficients on ``D``.

Node doubling (``"doubling"``)
------------------------------
Gauss-Legendre rules (the values of earlier versions); the error is the sum over axes of the
change when that axis alone has its node count doubled, the value that of the coarse rule:
``2 n_axes + 1`` passes.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import orientations as _orientations
from .temperature_dependence import scale_system_nodes
from .thermo import thermodynamics

__all__ = [
    "EMBEDDED_FACTOR_MIN",
    "EMBEDDED_POWER",
    "EMBEDDED_SAFETY",
    "NULL_RATE_CRITICAL",
    "NULL_RATE_POWER",
    "NULL_SAFETY",
    "accumulate_embedded",
    "describe",
    "embedded_axis_error",
    "embedded_errors",
    "grid_pass_ratios",
    "grid_pass_sums",
    "null_rule_axis_error",
    "plan",
]

#: Safety factor of the embedded estimate (module docstring; set by the honesty table alone).
EMBEDDED_SAFETY = 2.0
#: Smallest extrapolation factor of the embedded estimate (module docstring; set by the honesty table).
EMBEDDED_FACTOR_MIN = 0.0
#: Power of ``e_G / sum |w O|`` in the rate read from the Gauss sub-rule (module docstring; set by the honesty table).
EMBEDDED_POWER = 0.5
#: Safety factor of the null-rule estimate (module docstring; set by the honesty table alone).
NULL_SAFETY = 1.5
#: Power of the observed decay per degree, ``r_fit^p`` (a hedge towards slower decay; set by the honesty table).
NULL_RATE_POWER = 0.85
#: Decay per degree at and above which the coefficients are not taken as geometric (the Gauss error is reported).
NULL_RATE_CRITICAL = 0.95


# --------------------------------------------------------------------------- the plan
def plan(distribution, settings, rule, scale):
    """The rules to evaluate, ``[(label, nodes, orientation_rule), ...]``, the base rule first.

    The embedded estimate is one entry: the Gauss-Kronrod rules with their sub-rules. The
    doubling estimate adds, for every parameter axis and for the orientations, the base rule
    with that one axis's node count doubled (``2 n_axes + 1`` rules instead of ``2^n_axes + 1``).
    """
    if settings.method != "quadrature":
        nodes = distribution.sample(settings.samples, settings.seed, method=settings.method, energy_scale_K=scale)
        return [("base", nodes, rule)]
    counts = distribution.node_counts(settings.nodes, settings.level, scale)
    if settings.error_estimate == "embedded":
        base = distribution.quadrature(nodes=counts, energy_scale_K=scale, embedded=True)
        return [("base", base, None if rule is None else _orientations.with_embedded(rule))]
    base = distribution.quadrature(nodes=counts, energy_scale_K=scale)
    out = [("base", base, rule)]
    if settings.error_estimate:
        for axis, count in counts.items():
            out.append((axis, distribution.quadrature(nodes={**counts, axis: 2 * count}, energy_scale_K=scale), rule))
        if rule is not None:
            out.append(("orientation", base, _orientations.refine(rule)))
    return out


# --------------------------------------------------------------------------- one pass, every weight row
def _node_rows(nodes):
    """``(labels, W)``: the main node weights, every axis's sub-rule weights, and last ``|w|``
    (the absolute row of the rounding floor), as the rows of ``W`` (R + 1, N)."""
    labels, rows = ["main"], [np.asarray(nodes.weights, dtype=float)]
    for axis, emb in (nodes.embedded or {}).items():
        for sub, w in emb.lower.items():
            labels.append((axis, sub))
            rows.append(np.asarray(w, dtype=float))
    rows.append(np.abs(rows[0]))
    return labels, np.stack(rows)


#: Largest ``|W_ri - W_0i f_r(p_i)| / max(|W_ri|, |W_0i f_r(p_i)|)`` accepted for a sub-rule row to be
#: summed per axis (:func:`_factored_rows`): the rows are products of the same factors in other orders.
_FACTOR_TOLERANCE = 64 * np.finfo(float).eps


def _factored_rows(nodes, W):
    """Which node rows of ``W`` (:func:`_node_rows`) follow from per-axis sums.

    A sub-rule row of a tensor rule is the main weights times a factor of one axis's node
    position, ``W_ri = W_0i f_r(p_a(i))`` (``Embedded.index``), so its total is
    ``sum_p f_r(p) S_a[p]`` with ``S_a[p]`` the main rule's sum over the nodes at position ``p``
    of axis ``a``: one accumulation per axis instead of one per row. The factors are read off the
    rows (``W_ri / W_0i``) and every row is checked against them (:data:`_FACTOR_TOLERANCE`);
    a row without positions, or not of this form (the four-well chamber's ``G`` and ``L``, the
    product sphere's sub-rules), stays a full row. With non-negative main weights the absolute
    row is the main row (the same sums bit for bit) and is dropped too.

    Returns
    -------
    explicit : list of int
        Rows of ``W`` still summed as rows (row 0, the main rule, first).
    bins : numpy.ndarray of int, shape (A, N)
        Per distinct position array, each node's bin (the axes' bins offset not to overlap).
    factors : (list of int, numpy.ndarray)
        The other sub-rule rows of ``W`` and the matrix ``F`` (rows, n_bins) of their factors
        over the bins: their totals are ``F @ S`` with ``S`` the per-bin sums.
    abs_is_main : bool
        The absolute row (the last) is the main row.
    """
    w = W[0]
    n_sub = W.shape[0] - 2
    abs_is_main = bool(np.all(w >= 0))
    nonzero = w != 0
    positions, offsets, factors = [], [], {}
    r = 1
    for emb in (nodes.embedded or {}).values():
        for key in emb.lower:
            row = r
            r += 1
            index = None if emb.index is None else emb.index.get(key)
            if index is None:
                continue
            p = np.asarray(index).ravel()
            if p.shape != w.shape or not np.issubdtype(p.dtype, np.integer) or p.min() < 0:
                continue
            f = np.zeros(int(p.max()) + 1)
            f[p[nonzero]] = W[row][nonzero] / w[nonzero]
            expected = w * f[p]
            scale = np.maximum(np.abs(W[row]), np.abs(expected))
            if np.any(np.abs(W[row] - expected) > _FACTOR_TOLERANCE * scale):
                continue
            for a, q in enumerate(positions):
                if q.shape == p.shape and np.array_equal(q, p):
                    break
            else:
                a = len(positions)
                positions.append(p)
                offsets.append(offsets[-1] + int(positions[-2].max()) + 1 if a else 0)
            factors[row] = (offsets[a], f)
    assert r == n_sub + 1
    explicit = [row for row in range(n_sub + 1) if row not in factors]
    if not abs_is_main:
        explicit.append(W.shape[0] - 1)
    bins = np.stack([q + o for q, o in zip(positions, offsets)]) if positions else np.zeros((0, w.size), dtype=np.int64)
    F = np.zeros((len(factors), int(bins.max()) + 1 if bins.size else 0))
    for j, (offset, f) in enumerate(factors.values()):
        F[j, offset: offset + f.size] = f
    return explicit, bins.astype(np.int64), (list(factors), F), abs_is_main


def _orientation_rows(system, rule):
    """``(labels, orientation nodes, Omega)`` with the rows of ``Omega`` (Q, K): main rule, then sub-rules.

    Antipodal pairs of a sphere rule are merged (a field along ``-n`` gives the same
    thermodynamics as along ``n``, see :meth:`tunnelsim.systems.FourWellSystem.thermal_sums`).
    """
    if rule is None:
        return ["main"], None, np.ones((1, 1))
    labels, rows = ["main"], [np.asarray(rule.weights, dtype=float)]
    for axis, emb in (rule.embedded or {}).items():
        for sub, w in emb.lower.items():
            labels.append((axis, sub))
            rows.append(np.asarray(w, dtype=float))
    Omega = np.stack(rows)
    orient_nodes = rule.nodes
    if system.orientation_kind == "sphere":
        from .systems import _antipodal_fold

        keep = _antipodal_fold(orient_nodes, Omega[0])[0]
        Omega = np.stack([_antipodal_fold(orient_nodes, row)[1] for row in Omega])
        orient_nodes = orient_nodes[keep]
    return labels, orient_nodes, np.ascontiguousarray(Omega)


#: Eq. 15/16 scaling of the observables (``E, D0 -> r E, r D0``, ``(Q/e) S -> r^2 (Q/e) S``): at
#: ``(T, B)`` the scaled ensemble equals the unscaled one at ``(T / r, r^2 B)`` times ``r^a``
#: (``F -> r F``; ``M = -dF/dB`` gains ``r^3``, ``dM/dB`` ``r^5``, ``C`` and ``S`` nothing).
_RATIO_POWER = {"magnetization": 3, "susceptibility": 5, "heat_capacity": 0, "entropy": 0}


def grid_pass_ratios(ensemble, T, B, names, rows_per_point, max_memory_bytes):
    """``r(T)`` per temperature when the whole (T, B) grid can be one compiled pass, else None.

    The pass applies with a temperature dependence (Eq. 15/16) on the compiled three- and
    four-well sums for the observables of :data:`_RATIO_POWER`, when its per-point sums (8 chunks
    x ``rows_per_point`` x observables x points) take at most a quarter of ``max_memory_bytes``.
    """
    system, td = ensemble.system, ensemble.temperature_dependence
    if (td is None or getattr(system, "solver", None) != "fast" or system.kind not in ("three_level", "four_well")
            or not all(name in _RATIO_POWER for name in names)
            or 8 * rows_per_point * len(names) * T.size * B.size * 8 > max_memory_bytes // 4):
        return None
    from .temperature_dependence import RATIO_FLOOR

    return np.array([max(float(td.ratio(t)), RATIO_FLOOR) for t in T])


def grid_pass_sums(system, params, W, orient_nodes, Omega, T, B, ratios, names, factored=None):
    """One compiled pass over the whole (T, B) grid (:func:`_fused_sums` with ``points``), scaled by
    ``r^a`` (:data:`_RATIO_POWER`): ``({name: rows (n_rows, nT, nB)}, {name: squares (nT, nB)})``."""
    sums, squares = _fused_sums(system, params, W, None, orient_nodes, Omega, T, list(names), factored,
                                points=(ratios, B), with_squares=True)
    out, out_squares = {}, {}
    for name in names:
        factor = (ratios ** _RATIO_POWER[name])[:, None]
        out[name] = sums[name].reshape(-1, T.size, B.size) * factor
        out_squares[name] = squares[name].reshape(T.size, B.size) * factor**2
    return out, out_squares


def _fused_sums(system, params, W, field_T, orient_nodes, Omega, T, names, factored=None, points=None,
                with_squares=False):
    """Weighted totals per observable from one compiled pass, or None (no compiled sums).

    Rows (shape ``(R + Q - 1, n_T)``): every node row of ``W`` with the main orientation row,
    then the main node row with every further orientation row of ``Omega``
    (:func:`tunnelsim.kernels.thermal._run_sums`); the same phases and bond tables as the
    models' ``thermal_sums`` (which take one weight vector). With ``factored``
    (:func:`_factored_rows`: ``(explicit, bins, factors, abs_is_main)``, ``bins`` of these
    nodes) only the explicit rows are summed as rows, the others follow from the per-axis
    sums of the main row; the rows returned are the same.

    ``points = (ratios, B)`` (three- and four-well systems, Eq. 15/16): the whole ``(T, B)`` grid in one
    pass, ``ratios`` the ``r(T)`` per temperature; each point is the unscaled system at
    ``(T / r, r^2 B)`` (:data:`_RATIO_POWER`; the factors ``r^a`` are left to the caller) and
    the last axis of the rows runs over the points, temperature-major. ``with_squares``: returns
    ``(totals, squares)``, the squares of the main rows' node contributions (point mode only;
    None otherwise).
    """
    if getattr(system, "solver", None) != "fast":
        return None
    from . import kernels
    from .units import phase_per_tesla

    n_rows = W.shape[0]
    explicit, bins, (factored_rows, F), abs_is_main = (factored if factored is not None
                                                      else (list(range(n_rows)), None, ([], None), False))
    W_used = np.ascontiguousarray(W if len(explicit) == n_rows else W[explicit])
    bins = None if bins is None or bins.shape[0] == 0 else bins
    Omega = Omega if Omega.shape[0] > 1 else Omega[0]
    if system.kind == "three_level" and points is not None:
        ratios, B = points
        dphi_dB = phase_per_tesla(system.charge_area_A2, orient_nodes)
        field_eff = (ratios[:, None] ** 2 * B[None, :]).ravel()
        phi = field_eff[:, None] * dphi_dB[None, :]
        totals, squares = kernels.three_level_sums(params["E"], params["D0"], W_used, phi,
                                                   np.broadcast_to(dphi_dB, phi.shape), Omega, np.repeat(T / ratios, B.size),
                                                   names, bins=bins, points=True)
    elif system.kind == "three_level":
        dphi_dB = phase_per_tesla(system.charge_area_A2, orient_nodes)
        totals, squares = kernels.three_level_sums(params["E"], params["D0"], W_used, dphi_dB * float(field_T), dphi_dB,
                                                   Omega, T, names, bins=bins, squares=False)
        squares = None
    elif system.kind == "four_well" and points is not None:
        ratios, B = points
        field_eff = (ratios[:, None] ** 2 * B[None, :]).ravel()
        totals, squares = kernels.four_well_sums(params["E"], params["D0"], W_used, system._table(field_eff, orient_nodes),
                                                 Omega, np.repeat(T / ratios, B.size), names, bins=bins, points=True)
    elif system.kind == "four_well":
        totals, squares = kernels.four_well_sums(params["E"], params["D0"], W_used, system._table(field_T, orient_nodes),
                                                 Omega, T, names, bins=bins, squares=False)
        squares = None
    else:
        return None
    if len(explicit) == n_rows:
        return (totals, squares) if with_squares else totals
    n_orient_rows = Omega.shape[0] - 1 if Omega.ndim == 2 else 0
    out = {}
    for name, rows in totals.items():
        rows = np.atleast_2d(rows)
        full = np.empty((n_rows + n_orient_rows, rows.shape[-1]))
        full[explicit] = rows[: len(explicit)]
        full[n_rows:] = rows[len(explicit): len(explicit) + n_orient_rows]
        if factored_rows:
            full[factored_rows] = F @ rows[len(explicit) + n_orient_rows:]
        if abs_is_main:
            full[n_rows - 1] = full[0]
        out[name] = full
    return (out, squares) if with_squares else out


def _numpy_sums(system, params, W, field_T, orient_nodes, Omega, T, names, need_chi):
    """As :func:`_fused_sums` from the spectrum and :func:`tunnelsim.thermo.thermodynamics`; the
    last node row of ``W`` is replaced by ``sum_i |w_i| |sum_k omega_k O_ik|`` (the rounding floor)."""
    spectrum = system.spectrum(params, field_T, orient_nodes, couplings=need_chi)
    if not need_chi:
        spectrum = dataclasses.replace(spectrum, coupling2=None)
    th = thermodynamics(spectrum, T)
    totals = {}
    for name in names:
        per_node = np.einsum("ckt,qk->cqt", getattr(th, name), Omega)  # (c, Q, n_T)
        rows = [W[:-1] @ per_node[:, 0], (np.abs(W[0]) @ np.abs(per_node[:, 0]))[None]]
        if Omega.shape[0] > 1:
            rows.append(np.einsum("c,cqt->qt", W[0], per_node[:, 1:]))
        totals[name] = np.concatenate(rows)
    return totals


def accumulate_embedded(ensemble, nodes, rule, T, B, wanted, max_memory_bytes, progress=None):
    """Sums of a rule with embedded sub-rules: every node evaluated once, every weight row summed.

    Returns ``(totals, squares)`` as :func:`tunnelsim.ensemble._accumulate`: ``totals[name]`` the
    main rule's sum, ``totals[(name, axis, sub)]`` that with ``axis``'s weights replaced by its
    sub-rule ``sub``'s, ``totals[(name, "abs")]`` the sum of ``|w_i O_i|`` (with the compiled
    sums, ``|sum_i |w_i| O_i|``: the models' observables keep their sign over the nodes, so
    this is the same but for the susceptibility near its sign change, where the floor is
    anyway far below the estimate), each of shape ``(nT, nB)``; ``squares`` zero.

    With a temperature dependence (Eq. 15/16) on the compiled three- and four-well sums the whole
    ``(T, B)`` grid is one call per chunk of nodes (:func:`_fused_sums` with ``points``, the
    scaling of :data:`_RATIO_POWER`), unless its per-point sums would take over a quarter of
    ``max_memory_bytes``; otherwise one call per ``(T, B)`` point.
    """
    system = ensemble.system
    node_labels, W_all = _node_rows(nodes)
    explicit, bins_all, factors, abs_is_main = _factored_rows(nodes, W_all)
    orient_labels, orient_nodes, Omega = _orientation_rows(system, rule)
    n_rows = len(node_labels)  # the absolute row follows the node rows
    td = ensemble.temperature_dependence
    temp_groups = [(slice(None), 1.0)] if td is None else [(slice(i, i + 1), float(td.ratio(t))) for i, t in enumerate(T)]
    field_independent = not system.field_dependent and td is None
    shape = (T.size, B.size)
    keys = list(wanted)
    for name in wanted:
        keys += [(name, *label) for label in node_labels[1:] + orient_labels[1:]]
        keys.append((name, "abs"))
    totals = {key: np.zeros(shape) for key in keys}
    squares = {name: np.zeros(shape) for name in wanted}
    n_orient = Omega.shape[1]
    need_chi = "susceptibility" in wanted
    # per node: the compiled sums keep O(n_T) per row; the numpy path the (K, n_T) thermodynamics
    n_levels = system.n_levels
    if getattr(system, "solver", None) == "fast" and system.kind in ("three_level", "four_well"):
        # the compiled sums store nothing per instance: chunks as in ensemble._accumulate's fused path
        chunk = max(1, int(max_memory_bytes // (n_orient * 8 * 8 * max(T.size, 8))))
    else:
        per_node = n_orient * (T.size if td is None else 1) * (n_levels * n_levels * 8 * 6) + W_all.shape[0] * 8
        chunk = max(1, min(int(max_memory_bytes // max(per_node, 1)), max(64, 65536 // n_orient)))
    n_nodes = len(nodes)
    # Eq. 15/16 on the compiled three- and four-well sums: the whole grid in one pass per chunk of nodes
    n_bins = int(bins_all.max()) + 1 if bins_all.size else 0
    ratios = grid_pass_ratios(ensemble, T, B, wanted, len(explicit) + n_bins + n_orient + 2, max_memory_bytes)
    if ratios is not None:
        chunk = max(1, int(max_memory_bytes // (n_orient * 8 * 8 * max(T.size * B.size, 8))))
    for start in range(0, n_nodes, chunk):
        stop = min(start + chunk, n_nodes)
        params = {k: np.asarray(v)[start:stop] for k, v in nodes.params.items()}
        W_chunk = W_all[:, start:stop]
        factored = (explicit, np.ascontiguousarray(bins_all[:, start:stop]), factors, abs_is_main)
        if ratios is not None:
            sums, _ = grid_pass_sums(system, params, W_chunk, orient_nodes, Omega, T, B, ratios, wanted, factored)
            for name in wanted:
                rows = sums[name]
                totals[name] += rows[0]
                totals[(name, "abs")] += np.abs(rows[n_rows])
                for r, label in enumerate(node_labels[1:], start=1):
                    totals[(name, *label)] += rows[r]
                for q, label in enumerate(orient_labels[1:], start=1):
                    totals[(name, *label)] += rows[n_rows + q]
            if progress is not None:
                progress.update((stop - start) * B.size)
            continue
        cached = None
        for j, field_T in enumerate(B):
            for t_index, ratio in temp_groups:
                if cached is not None:
                    sums = cached
                else:
                    sys_t, params_t = scale_system_nodes(system, params, ratio)
                    sums = _fused_sums(sys_t, params_t, W_chunk, field_T, orient_nodes, Omega, T[t_index], list(wanted),
                                       factored)
                    if sums is None:
                        sums = _numpy_sums(sys_t, params_t, W_chunk, field_T, orient_nodes, Omega, T[t_index],
                                           list(wanted), need_chi)
                    if field_independent:
                        cached = sums
                for name in wanted:
                    rows = sums[name]  # (R + 1 + Q - 1, n_T): node rows, the absolute row, orientation rows
                    totals[name][t_index, j] += rows[0]
                    totals[(name, "abs")][t_index, j] += np.abs(rows[n_rows])
                    for r, label in enumerate(node_labels[1:], start=1):
                        totals[(name, *label)][t_index, j] += rows[r]
                    for q, label in enumerate(orient_labels[1:], start=1):
                        totals[(name, *label)][t_index, j] += rows[n_rows + q]
            if progress is not None:
                progress.update(stop - start)
    return totals, squares


# --------------------------------------------------------------------------- the estimates
def _axis_info(plan_):
    """``{axis: Embedded}`` of the parameter and orientation axes of an embedded plan."""
    _, nodes, rule = plan_[0]
    info = dict(nodes.embedded or {})
    if rule is not None:
        info.update(rule.embedded or {})
    return info


def embedded_axis_error(e_G, e_L, degrees, rate=None, scale=None, periodic=False, safety=None, factor_min=None,
                        power=None):
    """Per-axis error of a Gauss-Kronrod value from its embedded sub-rules (module docstring).

    Parameters
    ----------
    e_G, e_L : numpy.ndarray or None
        ``|Q_G - Q_K|`` and ``|Q_L - Q_K|`` (``e_L`` None when there is no second sub-rule).
    degrees : tuple of int or None
        ``(d_K, d_G, d_L)``; None: no extrapolation.
    rate : float, optional
        ``ln rho`` the axis's analyticity guarantees (``Embedded.rate``); None: none known.
    scale : numpy.ndarray, optional
        Magnitude of the integral, ``sum_i |w_i O_i|``; None: no rate is read from ``e_G``.
    periodic : bool, optional
        A trapezoid rule with sub-rules on every second and fourth point (``Embedded.periodic``).
    safety, factor_min, power : float, optional
        Default :data:`EMBEDDED_SAFETY`, :data:`EMBEDDED_FACTOR_MIN`, :data:`EMBEDDED_POWER`.

    Returns
    -------
    numpy.ndarray
        ``safety e_G max(factor_min, f)``: for a periodic axis ``f = min(1, e_G / e_L)^2``; for a
        Gauss-Kronrod axis ``f = min(1, (e_G / scale)^power, rho_a^-(d_K - d_G))``; ``e_G`` alone
        without degrees.
    """
    safety = EMBEDDED_SAFETY if safety is None else safety
    factor_min = EMBEDDED_FACTOR_MIN if factor_min is None else factor_min
    power = EMBEDDED_POWER if power is None else power
    e_G = np.asarray(e_G, dtype=float)
    if degrees is None or degrees[0] <= degrees[1]:
        return e_G
    factor = np.ones(e_G.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        if periodic:
            if e_L is not None and degrees[1] > degrees[2]:
                kappa = (degrees[0] - degrees[1]) / (degrees[1] - degrees[2])
                e_L = np.asarray(e_L, dtype=float)
                factor = np.where(e_L > 0, np.minimum(1.0, e_G / np.where(e_L > 0, e_L, 1.0)), 1.0) ** kappa
        else:
            if scale is not None:
                scale = np.asarray(scale, dtype=float)
                factor = np.where(scale > 0, np.minimum(1.0, (e_G / np.where(scale > 0, scale, 1.0)) ** power), 1.0)
            if rate is not None:
                factor = np.minimum(factor, math.exp(-rate * (degrees[0] - degrees[1])))
    return safety * e_G * np.maximum(factor, factor_min)


def null_rule_axis_error(coefficients, indices, degrees, rate=None, safety=None, power=None, critical=None):
    """Error of one Gauss-Kronrod rule from its null rules, per point (module docstring).

    Parameters
    ----------
    coefficients : numpy.ndarray, shape (J, ...)
        Orthonormal Legendre coefficients ``c_k`` of the integrand along the axis, from the null
        rules (:func:`tunnelsim.distributions.rules.kronrod_null_rules`), for ``k = indices``.
    indices : sequence of int
        ``2 m, 2 m - 1, ...`` (descending, consecutive).
    degrees : tuple of int
        ``(d_K, d_G, d_L)`` of the rule (:func:`tunnelsim.distributions.rules.kronrod_degrees`).
    rate : float, optional
        ``ln rho`` the axis's analyticity guarantees (``Embedded.rate``): the decay per degree
        is taken no slower than ``1 / rho``.
    safety, power, critical : float, optional
        Default :data:`NULL_SAFETY`, :data:`NULL_RATE_POWER`, :data:`NULL_RATE_CRITICAL`.

    Returns
    -------
    numpy.ndarray
        ``safety * A * sum_{k > d_K} |K[P~_k]| r^(k - 2 m)`` where the envelope ``E_i =
        hypot(c_{2m-2i}, c_{2m-2i-1})`` of consecutive pairs is fitted (least squares in ``ln E``)
        by ``A r_fit^(2m - k)``, ``r = min(r_fit^power, 1/rho)``; where ``r >= critical`` (no
        geometric decay yet) the Gauss sub-rule's error ``safety * |G[P~_2m]| A`` instead.
    """
    from .distributions.rules import _gauss_coefficient_factor, kronrod_error_functional

    safety = NULL_SAFETY if safety is None else safety
    power = NULL_RATE_POWER if power is None else power
    critical = NULL_RATE_CRITICAL if critical is None else critical
    c = np.abs(np.asarray(coefficients, dtype=float))
    n_pairs = len(indices) // 2
    c = c[: 2 * n_pairs]
    k = np.asarray(indices[: 2 * n_pairs], dtype=float)
    m = (degrees[1] + 1) // 2
    envelope = np.hypot(c[0::2], c[1::2])  # (n_pairs, ...)
    k_pair = 0.5 * (k[0::2] + k[1::2])
    log_e = np.log(np.maximum(envelope, np.finfo(float).tiny))
    if n_pairs > 1:
        centred = k_pair - k_pair.mean()
        slope = np.tensordot(centred, log_e - log_e.mean(axis=0), axes=(0, 0)) / (centred @ centred)
        top = np.maximum(np.exp(log_e.mean(axis=0) + slope * (k[0] - k_pair.mean())), envelope[0] / math.sqrt(2.0))
        r = np.exp(power * slope)
    else:
        top = envelope[0] / math.sqrt(2.0)
        r = np.full(top.shape, np.inf)
    if rate is not None:
        r = np.minimum(r, math.exp(-rate))
    kappa = kronrod_error_functional(m)
    past = np.arange(degrees[0] + 1, kappa.size)
    r_used = np.minimum(r, critical)[..., None]
    tail = np.sum(kappa[past] * r_used ** (past - 2 * m), axis=-1)
    gauss = _gauss_coefficient_factor(m)
    top = np.where(np.any(envelope > 0, axis=0), top, 0.0)  # an integrand that is zero along the axis
    return safety * top * np.where(r < critical, tail, gauss)


def _null_parts(emb):
    """``{part suffix: [null-rule keys, row order]}`` of an axis (one part per Gauss-Kronrod piece)."""
    parts = {}
    for key in emb.lower:
        if key.startswith("N"):
            j = len(key[1:]) - len(key[1:].lstrip("0123456789"))
            parts.setdefault(key[1 + j:], []).append((int(key[1:1 + j]), key))
    return {part: [key for _, key in sorted(keys)] for part, keys in parts.items()}


def embedded_axis_errors(plan_, totals, name, phase_rad=None, **kwargs):
    """``{axis: per-axis error}`` of observable ``name`` (in the unscaled units of the totals).

    Axes with at least four null rules (two pairs, so that a decay can be fitted):
    :func:`null_rule_axis_error`, summed over the axis's parts (at most the top
    :data:`tunnelsim.distributions.rules.NULL_RULES` coefficients); the others (the 3-node Kronrod
    rules of ``m = 1``, the trapezoid azimuth, Lebedev, random): :func:`embedded_axis_error`.
    With ``phase_rad`` (the Aharonov-Bohm phase at ``u = 1``, three-well systems; per field column
    ``(nB,)`` or per point ``(nT, nB)``), the planar orientation axis's points at ``phase_rad >=``
    :data:`tunnelsim.harmonic_errors.HARMONIC_MIN_PHASE_RAD` use the harmonic reading of
    :mod:`tunnelsim.harmonic_errors` instead.
    """
    from .distributions.rules import NULL_RULES

    out = {}
    scale = totals[(name, "abs")]
    for axis, emb in _axis_info(plan_).items():
        if getattr(emb, "null", None) and len(emb.null) >= 4 and emb.degrees is not None:
            null_kwargs = {k: v for k, v in kwargs.items() if k in ("safety", "power", "critical")}
            out[axis] = sum(
                null_rule_axis_error(np.stack([totals[(name, axis, key)] for key in keys[:NULL_RULES]]),
                                     emb.null[:NULL_RULES], emb.degrees, getattr(emb, "rate", None), **null_kwargs)
                for keys in _null_parts(emb).values()
            )
            if axis == "orientation" and phase_rad is not None:
                out[axis] = _harmonic_orientation_error(plan_[0][2], emb, totals, name, phase_rad, out[axis])
            continue
        e_G = np.abs(totals[(name, axis, "G")] - totals[name])
        e_L = np.abs(totals[(name, axis, "L")] - totals[name]) if (name, axis, "L") in totals else None
        old_kwargs = {k: v for k, v in kwargs.items() if k not in ("critical",)}
        out[axis] = embedded_axis_error(e_G, e_L, emb.degrees, getattr(emb, "rate", None), scale,
                                        getattr(emb, "periodic", False), **old_kwargs)
    return out


def _harmonic_orientation_error(rule, emb, totals, name, phase_rad, legendre):
    """The planar orientation axis's error with the points at large phase read from the harmonics
    (:func:`tunnelsim.harmonic_errors.harmonic_axis_error`); ``legendre`` elsewhere. ``phase_rad``
    broadcasts against the totals ``(nT, nB)``: per field, or per point (Eq. 15/16 scale the area)."""
    from . import harmonic_errors as _harmonic

    legendre = np.asarray(legendre, dtype=float)
    phase_rad = np.broadcast_to(np.asarray(phase_rad, dtype=float), legendre.shape)
    keys = _null_parts(emb).get("")
    form = _harmonic.HARMONIC_FORMS.get(name)
    use = np.isfinite(phase_rad) & (phase_rad >= _harmonic.HARMONIC_MIN_PHASE_RAD)
    if (form is None or keys is None or len(keys) != len(rule.nodes) - 1 or len(rule.nodes) > _harmonic.HARMONIC_MAX_NODES
            or not np.any(use)):
        return legendre
    F = _harmonic.node_values(rule.weights, np.stack([emb.lower[k] for k in keys]), totals[name][use],
                              np.stack([totals[(name, "orientation", k)][use] for k in keys]))
    out = legendre.copy()
    harmonic = _harmonic.harmonic_axis_error(rule.nodes, rule.weights, emb.degrees[0], F, *form, phase_rad[use])
    # no larger than the Gauss sub-rule's own error |Q_G - Q_K| (times the same safety): the Kronrod
    # value is the better one, so its error does not exceed that of the rule embedded in it
    e_G = np.abs(totals[(name, "orientation", "G")] - totals[name])[use]
    out[use] = np.minimum(harmonic, _harmonic.HARMONIC_SAFETY * e_G)
    return out


def _n_terms(plan_):
    """Terms ``w_i omega_k O_ik`` of the main sum (nodes x orientations)."""
    _, nodes, rule = plan_[0]
    return len(nodes) * (1 if rule is None else int(np.count_nonzero(rule.weights)))


def embedded_errors(plan_, totals, name, phase_rad=None, **kwargs):
    """Error of observable ``name``: the sum over axes, floored at the rounding of the sum
    (``eps sqrt(n_terms) sum_i |w_i O_i|``, a random walk of roundings); ``phase_rad`` as
    :func:`embedded_axis_errors`."""
    error = np.sum(list(embedded_axis_errors(plan_, totals, name, phase_rad, **kwargs).values()), axis=0)
    floor = np.finfo(float).eps * math.sqrt(_n_terms(plan_)) * totals[(name, "abs")]
    return np.maximum(error, floor)


def doubling_errors(results, name):
    """Error of observable ``name`` by node doubling: the sum of ``|changes|`` over the refined rules."""
    total = results["base"][0][name]
    return np.sum([np.abs(res[0][name] - total) for label, res in results.items() if label != "base"], axis=0)


def _harmonic_note(plan_):
    """The harmonic reading's part of :func:`describe` (planar orientation rules only)."""
    rule = plan_[0][2]
    if rule is None or rule.kind != "planar" or "orientation" not in (rule.embedded or {}):
        return ""
    from . import harmonic_errors as _harmonic

    return (f"; three-well orientation axis at Aharonov-Bohm phase >= {_harmonic.HARMONIC_MIN_PHASE_RAD:g} rad: "
            f"harmonics of the phase, safety {_harmonic.HARMONIC_SAFETY:g}")


def describe(plan_, settings):
    """How the error was estimated, for the provenance of a result."""
    if settings.method != "quadrature":
        return "standard error"
    if settings.error_estimate == "embedded":
        return ("embedded Gauss-Kronrod rules per axis (sum over " + ", ".join(_axis_info(plan_))
                + f"; Legendre-coefficient decay from null rules per point, safety {NULL_SAFETY:g}; "
                + f"other axes extrapolated from their sub-rules, safety {EMBEDDED_SAFETY:g}"
                + _harmonic_note(plan_) + ")")
    if settings.error_estimate:
        return "node doubling per axis (sum of |changes| over " + ", ".join(label for label, _, _ in plan_[1:]) + ")"
    return "none"
