"""Compiled temperature sums of the three-well ring's dielectric response (fast path of the ensemble).

For the equilateral 3-ring every dipole quantity the response needs follows from the well
occupations ``A_km = |<k|m>|^2`` of the eigenstates: with the in-plane trace over field
directions, ``sum_a P_a,mn P_a,nm = c1 M_mn`` (``m != n``) and ``sum_a P_a,mm P_a,nn = c1 M_mn + c0``,
``M = A^T A``, ``c1 = 2 p^2``, ``c0 = -2 p^2 / 3`` (``d_k . d_l = (4 p^2/3) cos(2 pi (k - l)/3)``).
The formulas are those of :mod:`tunnelsim.dielectric.response`; tests compare the two paths.

Layout and speed
----------------
* :func:`ring3_occupations` -- ``M`` from the eigenvector-eigenvalue identity, one compiled pass
  (the ensemble redoes the few near-degenerate instances it flags with ``eigh``).
* :func:`ring3_node_sums` -- per node ``i`` and orientation ``k`` the temperature-independent
  parts (gaps, ``c1 M``, squared differences of diagonal dipoles, rate prefactors) are formed
  once; the loops over temperatures have no library calls and no data-dependent control flow
  (selects only), so LLVM runs them on SIMD lanes. The three Boltzmann factors
  ``exp(-E_nm / k_B T)`` are the only transcendental functions
  (:func:`tunnelsim.kernels._common._exp_neg`, within 1 ulp); ``1 - exp(-x)`` is ``1 - e`` for
  ``x >= 1/4`` and a degree-12 Taylor polynomial below (relative error < 1e-15 everywhere), so the
  one-phonon rates are ``down = A E^3 |S|^2 / (1 - e^-x)``, ``up = down e^-x``.
* Fluctuations without cancellation: ``<P_nn^2> - <P_nn>^2 = sum_{m<n} p_m p_n (P_mm - P_nn)^2``
  (``(P_mm - P_nn)^2`` summed over in-plane directions is ``c1 (M_mm + M_nn - 2 M_mn)``), accurate
  when the excited levels are frozen out, where the difference of the two averages is not.
* Relaxation modes without a basis: the symmetrised rate matrix ``L`` and
  ``C = sqrt(p) (P - <P>)(P - <P>) sqrt(p)`` both vanish on ``sqrt(p)``, so on its complement
  ``beta Tr[(L2 - i omega)^-1 L2 C2] = beta (det L2 Tr C - i omega Tr LC) / (det L2 - omega^2 - i omega Tr L)``,
  with ``det L2`` the sum of the nine spanning-tree products of rates (matrix-tree theorem; no
  cancellation), ``Tr C`` the variance above and ``Tr LC = sum_{m<n} p_m up_mn (P_mm - P_nn)^2``
  (the Dirichlet form of the detailed-balance rates).
* :func:`levels_node_sums` -- the same sums for any number of levels from the output of
  :func:`tunnelsim.dielectric.response.matrix_elements` (the four-well path): the numpy formulas,
  the fluctuation term as above, the relaxation by a complex LU solve of ``(L - i omega) Y = L C``.
* Nodes are split over threads (:func:`tunnelsim.kernels._common._run_chunked`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..kernels._common import _JIT, _exp_neg, _run_chunked

#: ``x`` below which ``1 - exp(-x)`` is taken from its Taylor series.
_SERIES_BELOW = 0.25


@numba.njit(inline="always", **_JIT)
def _one_minus_exp(x, e):
    """``1 - exp(-x) = -expm1(-x)`` for ``x >= 0`` given ``e = exp(-x)``, branch-free (select)."""
    s = 1.0 / 479001600.0
    s = s * (-x) + 1.0 / 39916800.0
    s = s * (-x) + 1.0 / 3628800.0
    s = s * (-x) + 1.0 / 362880.0
    s = s * (-x) + 1.0 / 40320.0
    s = s * (-x) + 1.0 / 5040.0
    s = s * (-x) + 1.0 / 720.0
    s = s * (-x) + 1.0 / 120.0
    s = s * (-x) + 1.0 / 24.0
    s = s * (-x) + 1.0 / 6.0
    s = s * (-x) + 0.5
    s = s * (-x) + 1.0
    series = x * s
    return series if x < _SERIES_BELOW else 1.0 - e


@numba.njit(**_JIT)
def _ring3_occupations(E, D0, levels, M, bad, start, stop):
    """``M[i, k] = A^T A``, ``A_km = |<k|m>|^2`` by the eigenvector-eigenvalue identity; flags small gaps."""
    K = levels.shape[1]
    A = np.empty((3, 3))
    for i in range(start, stop):
        e0, e1, e2 = E[i, 0], E[i, 1], E[i, 2]
        d2 = D0[i] * D0[i]
        scale = max(D0[i], max(abs(e0), max(abs(e1), abs(e2))))
        for k in range(K):
            l0, l1, l2 = levels[i, k, 0], levels[i, k, 1], levels[i, k, 2]
            bad[i, k] = min(l1 - l0, l2 - l1) < 1e-4 * scale
            den0 = (l0 - l1) * (l0 - l2)
            den1 = (l1 - l0) * (l1 - l2)
            den2 = (l2 - l0) * (l2 - l1)
            for m in range(3):
                lm = levels[i, k, m]
                den = den0 if m == 0 else (den1 if m == 1 else den2)
                # |<k|m>|^2 = det(lambda_m - H_k) / prod_{j != m} (lambda_m - lambda_j), H_k without well k
                A[0, m] = ((lm - e1) * (lm - e2) - d2) / den
                A[1, m] = ((lm - e0) * (lm - e2) - d2) / den
                A[2, m] = ((lm - e0) * (lm - e1) - d2) / den
            for a in range(3):
                for m in range(3):
                    v = A[a, m]
                    A[a, m] = 0.0 if not v >= 0.0 else (1.0 if v > 1.0 else v)
            for m in range(3):
                for n in range(3):
                    M[i, k, m, n] = A[0, m] * A[0, n] + A[1, m] * A[1, n] + A[2, m] * A[2, n]


def ring3_occupations(E, D0, levels):
    """``M = A^T A`` of the ring's occupations and a flag for gaps below 1e-4 of the scale.

    Parameters
    ----------
    E : numpy.ndarray, shape (N, 3)
    D0 : numpy.ndarray, shape (N,)
    levels : numpy.ndarray, shape (N, K, 3)
        Ascending levels of Eq. 6 at ``K`` phases.

    Returns
    -------
    M : numpy.ndarray, shape (N, K, 3, 3)
    bad : numpy.ndarray of bool, shape (N, K)
        Instances whose occupations the identity cannot give accurately (to be redone by ``eigh``).
    """
    E = np.ascontiguousarray(E, dtype=float)
    D0 = np.ascontiguousarray(D0, dtype=float)
    levels = np.ascontiguousarray(levels, dtype=float)
    N, K = levels.shape[:2]
    M = np.empty((N, K, 3, 3))
    bad = np.zeros((N, K), dtype=np.bool_)
    _run_chunked(_ring3_occupations, N, E, D0, levels, M, bad)
    return M, bad


@numba.njit(**_JIT)
def _ring3_node_sums(levels, M, w, g, T, beta, hf, gamma, omega, A, c1, out, start, stop):
    """``out[i, t, :] = w_i sum_k g_k (Re res, Im res, Re rel, Im rel)`` for nodes ``start..stop``.

    Per node and orientation, three passes over the temperatures (each simple enough for LLVM's
    loop vectoriser): Boltzmann factors and populations; the resonant part and the static
    fluctuation term; at ``omega > 0`` the relaxation modes.
    """
    K = levels.shape[1]
    nT = T.shape[0]
    static_res = hf == 0.0 and gamma == 0.0
    dynamic = omega > 0.0
    gamma2 = gamma * gamma
    omega2 = omega * omega
    acc = np.zeros((4, nT))
    # rows: e01 e02 e12, p0 p1 p2, 1-e01 1-e02 1-e12
    sc = np.empty((9, nT))
    for i in range(start, stop):
        acc[:, :] = 0.0
        for k in range(K):
            E0 = levels[i, k, 0]
            E1 = levels[i, k, 1]
            E2 = levels[i, k, 2]
            wk = w[i] * g[k]
            # raw differences for the populations (ascending levels: >= 0), clipped ones for the pairs
            d01 = E1 - E0
            d02 = E2 - E0
            d12 = E2 - E1
            g01 = max(d01, 0.0)
            g02 = max(d02, 0.0)
            g12 = max(d12, 0.0)
            X01 = c1 * M[i, k, 0, 1]
            X02 = c1 * M[i, k, 0, 2]
            X12 = c1 * M[i, k, 1, 2]
            # G_mm + G_nn - 2 G_mn = c1 sum_k (A_km - A_kn)^2 >= 0: squared difference of the diagonal dipoles
            V01 = c1 * (M[i, k, 0, 0] + M[i, k, 1, 1] - 2.0 * M[i, k, 0, 1])
            V02 = c1 * (M[i, k, 0, 0] + M[i, k, 2, 2] - 2.0 * M[i, k, 0, 2])
            V12 = c1 * (M[i, k, 1, 1] + M[i, k, 2, 2] - 2.0 * M[i, k, 1, 2])
            for t in range(nT):
                bt = beta[t]
                x01 = d01 * bt
                x02 = d02 * bt
                x12 = d12 * bt
                e01 = _exp_neg(x01)
                e02 = _exp_neg(x02)
                e12 = _exp_neg(x12)
                Z = 1.0 + e01 + e02
                sc[0, t] = e01
                sc[1, t] = e02
                sc[2, t] = e12
                sc[3, t] = 1.0 / Z
                sc[4, t] = e01 / Z
                sc[5, t] = e02 / Z
                sc[6, t] = _one_minus_exp(x01, e01)
                sc[7, t] = _one_minus_exp(x02, e02)
                sc[8, t] = _one_minus_exp(x12, e12)
            if static_res:
                for t in range(nT):
                    bt = beta[t]
                    p0 = sc[3, t]
                    p1 = sc[4, t]
                    p2 = sc[5, t]
                    y01 = g01 * bt
                    y02 = g02 * bt
                    y12 = g12 * bt
                    t01 = 2.0 * (p0 - p1) / g01 if y01 > 1e-3 else 2.0 * p0 * (1.0 - 0.5 * y01 + y01 * y01 / 6.0) * bt
                    t02 = 2.0 * (p0 - p2) / g02 if y02 > 1e-3 else 2.0 * p0 * (1.0 - 0.5 * y02 + y02 * y02 / 6.0) * bt
                    t12 = 2.0 * (p1 - p2) / g12 if y12 > 1e-3 else 2.0 * p1 * (1.0 - 0.5 * y12 + y12 * y12 / 6.0) * bt
                    acc[0, t] += wk * (t01 * X01 + t02 * X02 + t12 * X12)
            else:
                # resonant Lorentzians (temperature independent) times p_m - p_n = p_m (1 - e^-x)
                a01 = g01 - hf
                b01 = g01 + hf
                a02 = g02 - hf
                b02 = g02 + hf
                a12 = g12 - hf
                b12 = g12 + hf
                da01 = a01 * a01 + gamma2
                db01 = b01 * b01 + gamma2
                da02 = a02 * a02 + gamma2
                db02 = b02 * b02 + gamma2
                da12 = a12 * a12 + gamma2
                db12 = b12 * b12 + gamma2
                re01 = wk * X01 * (a01 / da01 + b01 / db01)
                re02 = wk * X02 * (a02 / da02 + b02 / db02)
                re12 = wk * X12 * (a12 / da12 + b12 / db12)
                im01 = wk * X01 * (gamma / da01 - gamma / db01)
                im02 = wk * X02 * (gamma / da02 - gamma / db02)
                im12 = wk * X12 * (gamma / da12 - gamma / db12)
                for t in range(nT):
                    dp01 = sc[3, t] * sc[6, t]
                    dp02 = sc[3, t] * sc[7, t]
                    dp12 = sc[4, t] * sc[8, t]
                    acc[0, t] += dp01 * re01 + dp02 * re02 + dp12 * re12
                    acc[1, t] += dp01 * im01 + dp02 * im02 + dp12 * im12
            if not dynamic:
                for t in range(nT):
                    p0 = sc[3, t]
                    p1 = sc[4, t]
                    p2 = sc[5, t]
                    # <P_nn^2> - <P_nn>^2 = sum_{m<n} p_m p_n (P_mm - P_nn)^2, free of cancellation
                    variance = p0 * p1 * V01 + p0 * p2 * V02 + p1 * p2 * V12
                    acc[2, t] += wk * (variance * beta[t])
                continue
            # |S_mn|^2 A E_nm^3 of the one-phonon rates (response module docstring), and the
            # small-gap limit A E_nm^2 |S_mn|^2 k_B T
            s01 = A * g01 * g01 * g01 * (2.0 * M[i, k, 0, 1])
            s02 = A * g02 * g02 * g02 * (2.0 * M[i, k, 0, 2])
            s12 = A * g12 * g12 * g12 * (2.0 * M[i, k, 1, 2])
            r01 = A * g01 * g01 * (2.0 * M[i, k, 0, 1])
            r02 = A * g02 * g02 * (2.0 * M[i, k, 0, 2])
            r12 = A * g12 * g12 * (2.0 * M[i, k, 1, 2])
            for t in range(nT):
                bt = beta[t]
                T_t = T[t]
                p0 = sc[3, t]
                p1 = sc[4, t]
                p2 = sc[5, t]
                # one-phonon rates down and up each gap; below x = 1e-8 their common limit
                x01 = d01 * bt
                x02 = d02 * bt
                x12 = d12 * bt
                small01 = x01 <= 1e-8
                small02 = x02 <= 1e-8
                small12 = x12 <= 1e-8
                dn01 = r01 * T_t if small01 else s01 / sc[6, t]
                dn02 = r02 * T_t if small02 else s02 / sc[7, t]
                dn12 = r12 * T_t if small12 else s12 / sc[8, t]
                up01 = dn01 if small01 else dn01 * sc[0, t]
                up02 = dn02 if small02 else dn02 * sc[1, t]
                up12 = dn12 if small12 else dn12 * sc[2, t]
                # flux p_m up_mn = p_n down_mn = -sqrt(p_m p_n) L_mn (limit: down p_m (1 - x/2))
                f01 = dn01 * p0 * (1.0 - 0.5 * x01) if small01 else dn01 * p1
                f02 = dn02 * p0 * (1.0 - 0.5 * x02) if small02 else dn02 * p2
                f12 = dn12 * p1 * (1.0 - 0.5 * x12) if small12 else dn12 * p2
                # L and C vanish on sqrt(p), so on its complement: det L2 (matrix-tree theorem, a sum of
                # positive terms), Tr L2 = Tr L, Tr C2 = the variance, Tr L2 C2 = sum_{m<n} flux_mn V_mn
                det = (dn01 * dn02 + up12 * dn02 + dn12 * dn01 + up01 * dn12 + up02 * dn12 + dn02 * up01
                       + up02 * up12 + up01 * up12 + dn01 * up02)
                trL = up01 + up02 + dn01 + up12 + dn02 + dn12
                trC = p0 * p1 * V01 + p0 * p2 * V02 + p1 * p2 * V12
                trLC = f01 * V01 + f02 * V02 + f12 * V12
                # beta Tr[(L2 - i omega)^-1 L2 C2] = beta (det Tr C - i omega Tr LC) / (det - omega^2 - i omega Tr L)
                num_re = det * trC
                num_im = -omega * trLC
                den_re = det - omega2
                den_im = -omega * trL
                inv = wk * bt / (den_re * den_re + den_im * den_im)
                acc[2, t] += (num_re * den_re + num_im * den_im) * inv
                acc[3, t] += (num_im * den_re - num_re * den_im) * inv
        for t in range(nT):
            for j in range(4):
                out[i, t, j] += acc[j, t]


def ring3_node_sums(levels, M, weights, orientation_factors, temperature_K, hf_K, gamma_K, omega_per_s,
                    prefactor_per_s_K3, dipole_moment_D):
    """Per-node sums over orientations: array ``(N, n_T, 4)`` of (Re, Im) resonant and relaxation, D^2/K.

    Parameters
    ----------
    levels : numpy.ndarray, shape (N, K, 3)
        Ascending levels (K) at the ``K`` orientation nodes.
    M : numpy.ndarray, shape (N, K, 3, 3)
        ``A^T A`` of the occupations (:func:`ring3_occupations`).
    weights : numpy.ndarray, shape (N,)
    orientation_factors : numpy.ndarray, shape (K,)
        Orientation weight times the azimuth-averaged direction factor.
    temperature_K : numpy.ndarray, shape (n_T,)
    hf_K, gamma_K : float
        Photon energy and Lorentzian half width, K.
    omega_per_s : float
        ``2 pi f``; 0 gives the static relaxation term.
    prefactor_per_s_K3 : float
        One-phonon ``A`` (:func:`tunnelsim.dielectric.response.one_phonon_prefactor_per_s_K3`).
    dipole_moment_D : float
        STM dipole moment ``p``.

    Returns
    -------
    numpy.ndarray, shape (N, n_T, 4)
    """
    levels = np.ascontiguousarray(levels, dtype=float)
    M = np.ascontiguousarray(M, dtype=float)
    T = np.ascontiguousarray(temperature_K, dtype=float)
    N, K = levels.shape[:2]
    out = np.zeros((N, T.size, 4))
    p2 = float(dipole_moment_D) ** 2
    # each node costs K * n_T inner iterations: split over threads from a few thousand iterations on
    n_chunks = min(numba.get_num_threads(), max(1, N * K * T.size // 20000))
    _run_chunked(_ring3_node_sums, N, levels, M, np.ascontiguousarray(weights, dtype=float),
                 np.ascontiguousarray(orientation_factors, dtype=float), T, 1.0 / T,
                 float(hf_K), float(gamma_K), float(omega_per_s), float(prefactor_per_s_K3), 2.0 * p2, out,
                 n_chunks=n_chunks)
    return out



# --------------------------------------------------------------------------- any number of levels
@numba.njit(**_JIT)
def _levels_node_sums(levels, X, G, S2, w, g, T, beta, hf, gamma, omega, A, inv_p2, out, start, stop):
    """As :func:`_ring3_node_sums` for any ``n`` from levels and matrix elements of ``matrix_elements``:
    the formulas of :func:`tunnelsim.dielectric.response.susceptibility_from_parts`, the fluctuation
    term as ``sum_{m<n} p_m p_n (G_mm + G_nn - 2 G_mn)``, the relaxation by a complex LU solve of
    ``(L - i omega) Y = L C`` (partial pivoting), ``chi = beta Tr Y``."""
    K = levels.shape[1]
    n = levels.shape[2]
    nT = T.shape[0]
    static_res = hf == 0.0 and gamma == 0.0
    p = np.empty(n)
    gm = np.empty(n)
    L = np.empty((n, n))
    C = np.empty((n, n))
    Mc = np.empty((n, n), dtype=np.complex128)
    Y = np.empty((n, n), dtype=np.complex128)
    for i in range(start, stop):
        for k in range(K):
            E = levels[i, k]
            wk = w[i] * g[k]
            for t in range(nT):
                bt = beta[t]
                z = 0.0
                for m in range(n):
                    p[m] = math.exp(-(E[m] - E[0]) * bt)
                    z += p[m]
                for m in range(n):
                    p[m] /= z
                re_res = 0.0
                im_res = 0.0
                var = 0.0
                for m in range(n):
                    for q in range(m + 1, n):
                        var += p[m] * p[q] * (G[i, k, m, m] + G[i, k, q, q] - 2.0 * G[i, k, m, q])
                        gap = max(E[q] - E[m], 0.0)
                        x = gap * bt
                        om = -math.expm1(-x)
                        if static_res:
                            ratio = om / x if x > 1e-8 else 1.0
                            re_res += 2.0 * p[m] * ratio * bt * X[i, k, m, q]
                        else:
                            a = gap - hf
                            b = gap + hf
                            da = a * a + gamma * gamma
                            db = b * b + gamma * gamma
                            dp = p[m] * om * X[i, k, m, q]
                            re_res += dp * (a / da + b / db)
                            im_res += dp * (gamma / da - gamma / db)
                re_rel = var * bt
                im_rel = 0.0
                if omega > 0.0:
                    for m in range(n):
                        L[m, m] = 0.0
                    for m in range(n):
                        for q in range(n):
                            if q == m:
                                continue
                            gap = abs(E[m] - E[q])
                            x = gap * bt
                            s2 = S2[i, k, m, q] * inv_p2
                            if x > 0.0:
                                down = A * gap**3 * s2 / -math.expm1(-x)
                                geo = A * gap**3 * s2 / (2.0 * math.sinh(x / 2.0))
                                rate = down if E[m] > E[q] else down * math.exp(-x)
                            else:
                                down = A * gap * gap * s2 * T[t]
                                geo = down
                                rate = down
                            L[m, m] += rate
                            L[m, q] = -geo
                    mean = 0.0
                    for m in range(n):
                        s = 0.0
                        for q in range(n):
                            s += G[i, k, m, q] * p[q]
                        gm[m] = s
                        mean += p[m] * s
                    for m in range(n):
                        for q in range(n):
                            C[m, q] = math.sqrt(p[m] * p[q]) * (G[i, k, m, q] - gm[m] - gm[q] + mean)
                    for m in range(n):
                        for q in range(n):
                            Mc[m, q] = complex(L[m, q], -omega if m == q else 0.0)
                            s = 0.0
                            for r in range(n):
                                s += L[m, r] * C[r, q]
                            Y[m, q] = s
                    # Gaussian elimination with partial pivoting on (L - i omega) Y = L C
                    for col in range(n):
                        piv = col
                        best = abs(Mc[col, col])
                        for r in range(col + 1, n):
                            if abs(Mc[r, col]) > best:
                                best = abs(Mc[r, col])
                                piv = r
                        if piv != col:
                            for c in range(n):
                                Mc[col, c], Mc[piv, c] = Mc[piv, c], Mc[col, c]
                                Y[col, c], Y[piv, c] = Y[piv, c], Y[col, c]
                        for r in range(col + 1, n):
                            f = Mc[r, col] / Mc[col, col]
                            for c in range(col, n):
                                Mc[r, c] -= f * Mc[col, c]
                            for c in range(n):
                                Y[r, c] -= f * Y[col, c]
                    for col in range(n - 1, -1, -1):
                        for c in range(n):
                            s = Y[col, c]
                            for r in range(col + 1, n):
                                s -= Mc[col, r] * Y[r, c]
                            Y[col, c] = s / Mc[col, col]
                    tr = 0j
                    for m in range(n):
                        tr += Y[m, m]
                    re_rel = tr.real * bt
                    im_rel = tr.imag * bt
                out[i, t, 0] += wk * re_res
                out[i, t, 1] += wk * im_res
                out[i, t, 2] += wk * re_rel
                out[i, t, 3] += wk * im_rel


def levels_node_sums(levels, X, G, S2, weights, orientation_weights, temperature_K, hf_K, gamma_K, omega_per_s,
                     prefactor_per_s_K3, dipole_moment_D):
    """Per-node sums over orientations ``(N, n_T, 4)`` (D^2/K) from ``matrix_elements`` output of shape
    ``(N, K, n)`` and ``(N, K, n, n)`` (the four-well path of the ensemble; arguments as :func:`ring3_node_sums`)."""
    T = np.ascontiguousarray(temperature_K, dtype=float)
    levels = np.ascontiguousarray(levels, dtype=float)
    N, K = levels.shape[:2]
    out = np.zeros((N, T.size, 4))
    n_chunks = min(numba.get_num_threads(), max(1, N * K * T.size // 20000))
    _run_chunked(_levels_node_sums, N, levels, *(np.ascontiguousarray(a, dtype=float) for a in (X, G, S2)),
                 np.ascontiguousarray(weights, dtype=float), np.ascontiguousarray(orientation_weights, dtype=float),
                 T, 1.0 / T, float(hf_K), float(gamma_K), float(omega_per_s), float(prefactor_per_s_K3),
                 1.0 / float(dipole_moment_D) ** 2, out, n_chunks=n_chunks)
    return out
