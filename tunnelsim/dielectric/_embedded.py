"""Embedded Gauss-Kronrod error estimate of dielectric maps: every node and orientation evaluated once.

:func:`tunnelsim.dielectric.ensemble.permittivity_map` with ``error_estimate = "embedded"`` (the
default) evaluates the Gauss-Kronrod rules of the distribution and the orientations once, keeps
the per-node and per-orientation contributions of each field, and forms from them every weighted
total the estimate of :mod:`tunnelsim.error_estimates` reads: the main rule, each axis's sub-rules
and null rules (node rows of the tensor rule from per-axis bin sums,
:func:`tunnelsim.error_estimates._factored_rows`), each orientation sub-rule, and the sum of
``|w_i O_i|``. The four parts (resonant and relaxation, real and imaginary) are estimated
separately, as observables ``"p0" ... "p3"``; node doubling (``error_estimate = "doubling"``)
took about five passes.

:func:`totals_from_parts` takes any per-node, per-orientation contributions; the ETM map of
:mod:`tunnelsim.dielectric.etm` uses it too, so that the exact and ETM maps share one rule. Known
limit: on the ETM's effective two-level integrand the orientation axis's Legendre reading can
under-estimate (BK7 products, 50 mK, 0.1 T: reported 6e-9 where a 32-orientation rule moves the
resonant part by 4e-8, 1.4e-4 of the value); node doubling (``error_estimate = "doubling"``) reads it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from .. import error_estimates as _errors
from .response import one_phonon_prefactor_per_s_K3

PART_NAMES = ("p0", "p1", "p2", "p3")

#: Bytes of per-node, per-orientation contributions held at once.
_CHUNK_BYTES = 64 * 2**20


def node_orientation_parts(system_kind, params, rule, T, field_T, settings, dipole_moment_D, charge_area_A2):
    """Contributions ``c_ik`` ``(N, K, n_T, 4)`` (D^2/K) of every node at every orientation, unweighted.

    The direction factor of the electric field is included (three-ring: ``(1 - u^2)/2`` or
    ``(1 + u^2)/4``; four wells: in the tensor), the orientation weight is not; ``K = 1`` for the
    two-level system. ``sum_k omega_k c_ik`` is the part of node ``i`` that
    ``tunnelsim.dielectric.ensemble._node_parts`` returns (with ``w_i = 1``).
    """
    from ._kernel import levels_node_sums, ring3_node_sums
    from .ensemble import _four_well_elements, _ring_phases, _two_level_parts, ring3_parts

    p = float(dipole_moment_D)
    if system_kind == "two_level":
        return _two_level_parts(params, T, settings, p)[:, None]
    A = one_phonon_prefactor_per_s_K3(settings)
    if system_kind == "three_level":
        phi, factor = _ring_phases(rule, field_T, settings, charge_area_A2)
        lv, M = ring3_parts(params["E"], params["D0"], phi)
        N, K = lv.shape[:2]
        out = ring3_node_sums(lv.reshape(N * K, 1, 3), M.reshape(N * K, 1, 3, 3), np.ones(N * K), np.ones(1), T,
                              settings.photon_energy_K, settings.linewidth_K, settings.omega_per_s, A, p)
        return out.reshape(N, K, T.size, 4) * factor[None, :, None, None]
    lv, X, G, S2 = _four_well_elements(params, rule, field_T, settings, p, charge_area_A2)
    N, K, m = lv.shape
    out = levels_node_sums(lv.reshape(N * K, 1, m), X.reshape(N * K, 1, m, m), G.reshape(N * K, 1, m, m),
                           S2.reshape(N * K, 1, m, m), np.ones(N * K), np.ones(1), T, settings.photon_energy_K,
                           settings.linewidth_K, settings.omega_per_s, A, p)
    return out.reshape(N, K, T.size, 4)


def _orientation_rows(rule):
    """``(labels, Omega)``: the main orientation weights and every sub-rule's (``[1]`` without a rule)."""
    if rule is None:
        return ["main"], np.ones((1, 1))
    labels, rows = ["main"], [np.asarray(rule.weights, dtype=float)]
    for axis, emb in (rule.embedded or {}).items():
        for sub, w in emb.lower.items():
            labels.append((axis, sub))
            rows.append(np.asarray(w, dtype=float))
    return labels, np.stack(rows)


def embedded_totals(system_kind, nodes, rule, T, B, settings, dipole_moment_D, charge_area_A2):
    """Every weighted total of the embedded estimate, ``{(part, ...): (n_T, n_B)}`` (module docstring).

    Keys as :func:`tunnelsim.error_estimates.accumulate_embedded` with the parts ``"p0" ... "p3"``
    as observables: ``part``, ``(part, axis, sub)`` for node and orientation sub-rules, ``(part, "abs")``.
    """
    def parts(params, field_T):
        return node_orientation_parts(system_kind, params, rule, T, field_T, settings, dipole_moment_D,
                                      charge_area_A2)

    return totals_from_parts(parts, nodes, rule, T, B, field_independent=system_kind == "two_level")


def totals_from_parts(parts, nodes, rule, T, B, field_independent=False):
    """:func:`embedded_totals` for any contributions ``parts(params, field_T) -> (n, K, n_T, 4)``
    (unweighted, per node and orientation; also the ETM's, :mod:`tunnelsim.dielectric.etm`)."""
    node_labels, W = _errors._node_rows(nodes)
    explicit, bins, (factored_rows, F), _ = _errors._factored_rows(nodes, W)
    explicit = [r for r in explicit if r != W.shape[0] - 1]  # the absolute row is formed below
    orient_labels, Omega = _orientation_rows(rule)
    N, n_T = len(nodes), T.size
    one_hots = [scipy.sparse.csr_matrix((np.ones(N), (b, np.arange(N))), shape=(F.shape[1], N)) for b in bins]
    totals = {}
    for part in PART_NAMES:
        for label in ["main"] + node_labels[1:] + orient_labels[1:] + ["abs"]:
            key = part if label == "main" else ((part, label) if label == "abs" else (part, *label))
            totals[key] = np.zeros((n_T, B.size))
    K = Omega.shape[1]
    step = max(1, int(_CHUNK_BYTES // (K * n_T * 4 * 8)))
    w0 = W[0]
    for j, b in enumerate(B):
        if field_independent and j > 0:
            for key in totals:
                totals[key][:, j] = totals[key][:, 0]
            continue
        node_rows = np.zeros((W.shape[0], n_T, 4))
        bin_sums = np.zeros((F.shape[1], n_T * 4))
        orient = np.zeros((K, n_T, 4))
        for start in range(0, N, step):
            sl = slice(start, min(start + step, N))
            params = {k: np.asarray(v)[sl] for k, v in nodes.params.items()}
            c = parts(params, b)
            main = np.einsum("k,iktp->itp", Omega[0], c)  # (n, n_T, 4): each node under the main orientation rule
            node_rows[explicit] += np.einsum("ri,itp->rtp", W[explicit][:, sl], main)
            node_rows[-1] += np.einsum("i,itp->tp", np.abs(w0[sl]), np.abs(main))
            weighted = (w0[sl][:, None] * main.reshape(main.shape[0], -1))
            for one_hot in one_hots:
                bin_sums += one_hot[:, sl] @ weighted
            orient += np.einsum("i,iktp->ktp", w0[sl], c)
        if factored_rows:
            node_rows[factored_rows] = (F @ bin_sums).reshape(len(factored_rows), n_T, 4)
        orient_rows = np.einsum("qk,ktp->qtp", Omega[1:], orient)
        for p, part in enumerate(PART_NAMES):
            totals[part][:, j] = node_rows[0, :, p]
            totals[(part, "abs")][:, j] = node_rows[-1, :, p]
            for r, label in enumerate(node_labels[1:], start=1):
                totals[(part, *label)][:, j] = node_rows[r, :, p]
            for q, label in enumerate(orient_labels[1:]):
                totals[(part, *label)][:, j] = orient_rows[q, :, p]
    return totals


def embedded_parts_and_errors(system_kind, nodes, rule, T, B, settings, dipole_moment_D, charge_area_A2):
    """``(parts, errors)`` of shape ``(n_T, n_B, 4)``: the Kronrod values and their embedded errors."""
    totals = embedded_totals(system_kind, nodes, rule, T, B, settings, dipole_moment_D, charge_area_A2)
    return values_and_errors(totals, nodes, rule)


def values_and_errors(totals, nodes, rule):
    """``(parts, errors)`` of shape ``(n_T, n_B, 4)`` from the totals of :func:`totals_from_parts`."""
    plan = [("base", nodes, rule)]
    values = np.stack([totals[part] for part in PART_NAMES], axis=-1)
    errors = np.stack([_errors.embedded_errors(plan, totals, part) for part in PART_NAMES], axis=-1)
    return values, errors
