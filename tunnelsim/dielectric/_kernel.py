"""Compiled temperature sums of the three-well ring's dielectric response (fast path of the ensemble).

For the equilateral 3-ring every dipole quantity the response needs follows from the well
occupations ``A_km = |<k|m>|^2`` of the eigenstates: with the in-plane trace over field
directions, ``sum_a P_a,mn P_a,nm = c1 M_mn`` (``m != n``) and ``sum_a P_a,mm P_a,nn = c1 M_mn + c0``,
``M = A^T A``, ``c1 = 2 p^2``, ``c0 = -2 p^2 / 3`` (``d_k . d_l = (4 p^2/3) cos(2 pi (k - l)/3)``).
The formulas are those of :mod:`tunnelsim.dielectric.response`; tests compare the two paths.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..kernels._common import _JIT, _run_chunked


@numba.njit(**_JIT)
def _ring3_node_sums(levels, M, w, g, T, hf, gamma, omega, A, c1, c0, out, start, stop):
    """``out[i, t, :] = w_i sum_k g_k (Re res, Im res, Re rel, Im rel)`` for nodes ``start..stop``."""
    K = levels.shape[1]
    nT = T.shape[0]
    static_res = hf == 0.0 and gamma == 0.0
    G = np.empty((3, 3))
    L = np.empty((3, 3))
    C = np.empty((3, 3))
    p = np.empty(3)
    gm = np.empty(3)
    for i in range(start, stop):
        for k in range(K):
            E = levels[i, k]
            wk = w[i] * g[k]
            for m in range(3):
                for n in range(3):
                    G[m, n] = c1 * M[i, k, m, n] + c0
            for t in range(nT):
                beta = 1.0 / T[t]
                e1 = math.exp(-(E[1] - E[0]) * beta)
                e2 = math.exp(-(E[2] - E[0]) * beta)
                Z = 1.0 + e1 + e2
                p[0] = 1.0 / Z
                p[1] = e1 / Z
                p[2] = e2 / Z
                re_res = 0.0
                im_res = 0.0
                for m in range(3):
                    for n in range(m + 1, 3):
                        gap = E[n] - E[m]
                        if gap < 0.0:
                            gap = 0.0
                        x = gap * beta
                        X = c1 * M[i, k, m, n]
                        if static_res:
                            if x > 1e-3:
                                re_res += 2.0 * (p[m] - p[n]) / gap * X
                            else:
                                re_res += 2.0 * p[m] * (1.0 - 0.5 * x + x * x / 6.0) * beta * X
                        else:
                            dp = -p[m] * math.expm1(-x)
                            a = gap - hf
                            b = gap + hf
                            da = a * a + gamma * gamma
                            db = b * b + gamma * gamma
                            re_res += dp * X * (a / da + b / db)
                            im_res += dp * X * (gamma / da - gamma / db)
                second = 0.0
                mean = 0.0
                for m in range(3):
                    s = 0.0
                    for n in range(3):
                        s += G[m, n] * p[n]
                    gm[m] = s
                    mean += p[m] * s
                    second += p[m] * G[m, m]
                static = (second - mean) * beta
                re_rel = static
                im_rel = 0.0
                if omega > 0.0:
                    # symmetrised one-phonon rate matrix (response module docstring)
                    for m in range(3):
                        L[m, m] = 0.0
                    for m in range(3):
                        for n in range(m + 1, 3):
                            gap = abs(E[n] - E[m])
                            x = gap * beta
                            s2 = c1 * M[i, k, m, n] / (c1 / 2.0)  # |S_mn|^2 = sum_a |P_a,mn|^2 / p^2
                            if x > 1e-8:
                                down = A * gap**3 * s2 / -math.expm1(-x)
                                up = down * math.exp(-x)
                                geo = A * gap**3 * s2 / (2.0 * math.sinh(0.5 * x))
                            else:
                                down = A * gap * gap * s2 * T[t]
                                up = down
                                geo = down
                            # n lies above m: rate out of n is down, out of m is up
                            L[n, n] += down
                            L[m, m] += up
                            L[m, n] = -geo
                            L[n, m] = -geo
                    for m in range(3):
                        for n in range(3):
                            C[m, n] = math.sqrt(p[m] * p[n]) * (G[m, n] - gm[m] - gm[n] + mean)
                    # orthonormal basis (u1, u2) of the complement of v0 = sqrt(p), as scalars
                    q0 = math.sqrt(p[0])
                    q1 = math.sqrt(p[1])
                    q2 = math.sqrt(p[2])
                    # the level with the smallest population gives the best-conditioned axis (j = 2)
                    a0 = -q2 * q0
                    a1 = -q2 * q1
                    a2 = 1.0 - q2 * q2
                    na = math.sqrt(a0 * a0 + a1 * a1 + a2 * a2)
                    a0 /= na
                    a1 /= na
                    a2 /= na
                    b0 = q1 * a2 - q2 * a1
                    b1 = q2 * a0 - q0 * a2
                    b2 = q0 * a1 - q1 * a0
                    la0 = L[0, 0] * a0 + L[0, 1] * a1 + L[0, 2] * a2
                    la1 = L[1, 0] * a0 + L[1, 1] * a1 + L[1, 2] * a2
                    la2 = L[2, 0] * a0 + L[2, 1] * a1 + L[2, 2] * a2
                    lb0 = L[0, 0] * b0 + L[0, 1] * b1 + L[0, 2] * b2
                    lb1 = L[1, 0] * b0 + L[1, 1] * b1 + L[1, 2] * b2
                    lb2 = L[2, 0] * b0 + L[2, 1] * b1 + L[2, 2] * b2
                    l11 = a0 * la0 + a1 * la1 + a2 * la2
                    l12 = a0 * lb0 + a1 * lb1 + a2 * lb2
                    l22 = b0 * lb0 + b1 * lb1 + b2 * lb2
                    ca0 = C[0, 0] * a0 + C[0, 1] * a1 + C[0, 2] * a2
                    ca1 = C[1, 0] * a0 + C[1, 1] * a1 + C[1, 2] * a2
                    ca2 = C[2, 0] * a0 + C[2, 1] * a1 + C[2, 2] * a2
                    cb0 = C[0, 0] * b0 + C[0, 1] * b1 + C[0, 2] * b2
                    cb1 = C[1, 0] * b0 + C[1, 1] * b1 + C[1, 2] * b2
                    cb2 = C[2, 0] * b0 + C[2, 1] * b1 + C[2, 2] * b2
                    c11 = a0 * ca0 + a1 * ca1 + a2 * ca2
                    c12 = a0 * cb0 + a1 * cb1 + a2 * cb2
                    c22 = b0 * cb0 + b1 * cb1 + b2 * cb2
                    # R = (L2 - i omega)^-1 L2 ; chi = beta Tr(R C2)
                    a11 = complex(l11, -omega)
                    a22 = complex(l22, -omega)
                    det = a11 * a22 - l12 * l12
                    r11 = (a22 * l11 - l12 * l12) / det
                    r12 = (a22 * l12 - l12 * l22) / det
                    r21 = (-l12 * l11 + a11 * l12) / det
                    r22 = (-l12 * l12 + a11 * l22) / det
                    chi = (r11 * c11 + r12 * c12 + r21 * c12 + r22 * c22) * beta
                    re_rel = chi.real
                    im_rel = chi.imag
                out[i, t, 0] += wk * re_res
                out[i, t, 1] += wk * im_res
                out[i, t, 2] += wk * re_rel
                out[i, t, 3] += wk * im_rel


def ring3_node_sums(levels, M, weights, orientation_factors, temperature_K, hf_K, gamma_K, omega_per_s,
                    prefactor_per_s_K3, dipole_moment_D):
    """Per-node sums over orientations: array ``(N, n_T, 4)`` of (Re, Im) resonant and relaxation, D^2/K."""
    levels = np.ascontiguousarray(levels, dtype=float)
    M = np.ascontiguousarray(M, dtype=float)
    N = levels.shape[0]
    out = np.zeros((N, len(temperature_K), 4))
    p2 = float(dipole_moment_D) ** 2
    _run_chunked(_ring3_node_sums, N, levels, M, np.ascontiguousarray(weights, dtype=float),
                 np.ascontiguousarray(orientation_factors, dtype=float), np.ascontiguousarray(temperature_K, dtype=float),
                 float(hf_K), float(gamma_K), float(omega_per_s), float(prefactor_per_s_K3), 2.0 * p2, -2.0 * p2 / 3.0, out)
    return out
