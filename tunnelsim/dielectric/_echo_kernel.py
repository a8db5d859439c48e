"""Compiled rotating-wave two-pulse echo of the three-well ring (fast path of the echo ensemble).

:func:`ring3_rwa_echo` runs, per instance (system and field), the propagation of
:func:`tunnelsim.dielectric.echoes.echo_amplitude` with ``method="rwa"`` for Eq. 6, all in
registers:

* levels: the closed form of :func:`tunnelsim.kernels.three_level_spectrum` (computed by the caller);
* eigenvectors: cofactors of ``H - lambda`` (cross products of two rows) for the isolated level
  and one level of the close pair, the third as the conjugated cross product of the two
  (:func:`_ring_eigenvectors`); instances with a gap below ``1e-4`` of the scale
  ``max(D0, |E_k|)`` use ``numpy.linalg.eigh``, as :func:`tunnelsim.dielectric.ensemble.ring3_parts`;
* pulses: the rotating-frame Hamiltonian couples the levels whose carrier manifolds differ by one;
  with at most one such pair (every ATS with ``3 D0 >> h f``) ``exp(-i H_R t)`` is a phase and a 2x2
  exponential in closed form, with two (ladders, V and Lambda shapes) ``eigh`` of ``H_R`` once per
  instance (:func:`_rwa_propagator`);
* free periods, the echo pathway, ``T2`` and the read-out as in :mod:`tunnelsim.dielectric.echoes`,
  from a short programme of operations the caller builds from the sequence.

The echo amplitude does not depend on the phases of the eigenvectors, so the results equal those of
the ``eigh`` path to rounding (tests: 1e-10 of the ensemble amplitude).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..kernels._common import _JIT, _run_chunked
from ..units import DEBYE_V_PER_M_K, H_PLANCK_J_S, HBAR_J_S, K_B_J_PER_K

#: Operations of an echo programme (:func:`ring3_rwa_echo`).
OP_FREE, OP_PULSE, OP_SELECT = 0, 1, 2


@numba.njit(**_JIT)
def _ring_eigenvectors(E0, E1, E2, hop, lv, V):
    """Columns of ``V``: eigenvectors of Eq. 6 for the ascending levels ``lv`` (cofactors).

    The level farther from the other two gets the cross product of two rows of ``H - lambda``
    (the largest of the three), one level of the close pair likewise, projected orthogonal to
    the first; the third is the conjugated cross product of the two, so ``V`` is unitary to
    rounding. Errors are those of ``eigh`` (rounding times scale over gap); the caller redoes
    gaps below 1e-4 of the scale with ``eigh``.
    """
    hc = hop.conjugate()
    iso = 2 if lv[1] - lv[0] <= lv[2] - lv[1] else 0
    pair = 0 if iso == 2 else 1
    for col in (iso, pair):
        lam = lv[col]
        r00, r01, r02 = complex(E0 - lam, 0.0), hop, hc
        r10, r11, r12 = hc, complex(E1 - lam, 0.0), hop
        r20, r21, r22 = hop, hc, complex(E2 - lam, 0.0)
        best = -1.0
        v0 = v1 = v2 = 0j
        for a in range(3):
            if a == 0:
                c0, c1, c2 = r01 * r12 - r02 * r11, r02 * r10 - r00 * r12, r00 * r11 - r01 * r10
            elif a == 1:
                c0, c1, c2 = r01 * r22 - r02 * r21, r02 * r20 - r00 * r22, r00 * r21 - r01 * r20
            else:
                c0, c1, c2 = r11 * r22 - r12 * r21, r12 * r20 - r10 * r22, r10 * r21 - r11 * r20
            norm = c0.real**2 + c0.imag**2 + c1.real**2 + c1.imag**2 + c2.real**2 + c2.imag**2
            if norm > best:
                best = norm
                v0, v1, v2 = c0, c1, c2
        if col == pair:  # project out the isolated vector
            dot = V[0, iso].conjugate() * v0 + V[1, iso].conjugate() * v1 + V[2, iso].conjugate() * v2
            v0 -= dot * V[0, iso]
            v1 -= dot * V[1, iso]
            v2 -= dot * V[2, iso]
            best = v0.real**2 + v0.imag**2 + v1.real**2 + v1.imag**2 + v2.real**2 + v2.imag**2
        s = 1.0 / math.sqrt(best)
        V[0, col] = v0 * s
        V[1, col] = v1 * s
        V[2, col] = v2 * s
    a0, a1, a2 = V[0, iso], V[1, iso], V[2, iso]
    b0, b1, b2 = V[0, pair], V[1, pair], V[2, pair]
    third = 3 - iso - pair
    V[0, third] = (a1 * b2 - a2 * b1).conjugate()
    V[1, third] = (a2 * b0 - a0 * b2).conjugate()
    V[2, third] = (a0 * b1 - a1 * b0).conjugate()


@numba.njit(**_JIT)
def _rwa_propagator(lv, n, Pe, drive, carrier, t, U, have_eig, w_eig, q_eig):
    """``U = exp(-i H_R t)``, ``H_R = diag(E_k - n_k hbar omega) - (F0/2) sum_{|n_k - n_l| = 1} P_kl |k><l|``.

    Uncoupled levels are phases; one coupled pair is the 2x2 exponential in closed form
    (``exp(-i t (m + d.sigma)) = e^{-i m t} (cos|d|t - i sin|d|t d.sigma/|d|)``); two coupled pairs
    (ladders, V and Lambda shapes) use ``eigh`` once per instance (``have_eig``).
    """
    pairs = 0
    pa = 0
    pb = 1
    for a in range(3):
        for b in range(a + 1, 3):
            if abs(n[a] - n[b]) == 1:
                pairs += 1
                pa = a
                pb = b
    for a in range(3):
        for b in range(3):
            U[a, b] = 0j
    if pairs >= 2:
        if not have_eig[0]:
            h = np.zeros((3, 3), dtype=np.complex128)
            for a in range(3):
                h[a, a] = lv[a] - n[a] * carrier
                for b in range(3):
                    if abs(n[a] - n[b]) == 1:
                        h[a, b] = -0.5 * drive * Pe[a, b]
            w, q = np.linalg.eigh(h)
            w_eig[:] = w
            q_eig[:, :] = q
            have_eig[0] = True
        for a in range(3):
            for b in range(3):
                s = 0j
                for m in range(3):
                    x = w_eig[m] * t
                    s += q_eig[a, m] * complex(math.cos(x), -math.sin(x)) * q_eig[b, m].conjugate()
                U[a, b] = s
        return
    for a in range(3):
        x = (lv[a] - n[a] * carrier) * t
        U[a, a] = complex(math.cos(x), -math.sin(x))
    if pairs == 1:
        ha = lv[pa] - n[pa] * carrier
        hb = lv[pb] - n[pb] * carrier
        off = -0.5 * drive * Pe[pa, pb]
        mid = 0.5 * (ha + hb)
        dz = 0.5 * (ha - hb)
        rabi = math.sqrt(dz * dz + off.real**2 + off.imag**2)
        c = math.cos(rabi * t)
        sinc = math.sin(rabi * t) / rabi if rabi > 0.0 else t
        ph = complex(math.cos(mid * t), -math.sin(mid * t))
        U[pa, pa] = ph * complex(c, -sinc * dz)
        U[pb, pb] = ph * complex(c, sinc * dz)
        U[pa, pb] = ph * (-1j * sinc) * off
        U[pb, pa] = ph * (-1j * sinc) * off.conjugate()


@numba.njit(**_JIT)
def _ring3_rwa_echo(E, D0, phi, levels, P, system, weights, T, carrier, drive, ops, op_time, op_a, op_b,
                    detect_angle, tolerance, out, start, stop):
    """Echo amplitude (times the weight) of instances ``start..stop`` (:func:`ring3_rwa_echo`)."""
    V = np.empty((3, 3), dtype=np.complex128)
    Pe = np.empty((3, 3), dtype=np.complex128)
    tmp = np.empty((3, 3), dtype=np.complex128)
    rho = np.empty((3, 3), dtype=np.complex128)
    U = np.empty((3, 3), dtype=np.complex128)
    lv = np.empty(3)
    boltz = np.empty(3)
    left = np.empty(3, dtype=np.complex128)
    right = np.empty(3, dtype=np.complex128)
    n = np.empty(3, dtype=np.int64)
    w_eig = np.empty(3)
    q_eig = np.empty((3, 3), dtype=np.complex128)
    have_eig = np.zeros(1, dtype=np.bool_)
    det_phase = complex(math.cos(detect_angle), math.sin(detect_angle))
    for idx in range(start, stop):
        i = system[idx]
        E0, E1, E2 = E[i, 0], E[i, 1], E[i, 2]
        hop = D0[i] * complex(math.cos(phi[idx] / 3.0), math.sin(phi[idx] / 3.0))
        for a in range(3):
            lv[a] = levels[idx, a]
        scale = max(D0[i], max(abs(E0), max(abs(E1), abs(E2))))
        if min(lv[1] - lv[0], lv[2] - lv[1]) < tolerance * scale:
            h = np.empty((3, 3), dtype=np.complex128)
            h[0, 0], h[1, 1], h[2, 2] = E0, E1, E2
            h[0, 1], h[1, 2], h[2, 0] = hop, hop, hop
            h[1, 0], h[2, 1], h[0, 2] = hop.conjugate(), hop.conjugate(), hop.conjugate()
            w, q = np.linalg.eigh(h)
            lv[:] = w
            V[:, :] = q
        else:
            _ring_eigenvectors(E0, E1, E2, hop, lv, V)
        # dipole in the eigenbasis, V^+ P V
        for a in range(3):
            for b in range(3):
                s = 0j
                for m in range(3):
                    s += P[i, a, m] * V[m, b]
                tmp[a, b] = s
        for a in range(3):
            for b in range(3):
                s = 0j
                for m in range(3):
                    s += V[m, a].conjugate() * tmp[m, b]
                Pe[a, b] = s
        for a in range(3):
            n[a] = np.int64(np.rint((lv[a] - lv[0]) / carrier))
        z = 0.0
        for a in range(3):
            boltz[a] = math.exp(-(lv[a] - lv[0]) / T)
            z += boltz[a]
        for a in range(3):
            for b in range(3):
                rho[a, b] = 0j
            rho[a, a] = boltz[a] / z
        have_eig[0] = False
        for j in range(ops.shape[0]):
            op = ops[j]
            if op == OP_SELECT:
                for a in range(3):
                    for b in range(3):
                        if n[a] - n[b] != -1:
                            rho[a, b] = 0j
            elif op == OP_FREE:
                t = op_time[j]
                for a in range(3):
                    x = lv[a] * t
                    left[a] = complex(math.cos(x), -math.sin(x))
                for a in range(3):
                    for b in range(3):
                        rho[a, b] = left[a] * rho[a, b] * left[b].conjugate()
                        if n[a] != n[b]:
                            rho[a, b] *= op_a[j]
            else:
                _rwa_propagator(lv, n, Pe, drive, carrier, op_time[j], U, have_eig, w_eig, q_eig)
                # lab frame: U <- diag(exp(-i n theta_end)) U diag(exp(i n theta_start))
                for a in range(3):
                    x = n[a] * op_a[j]
                    left[a] = complex(math.cos(x), -math.sin(x))
                    x = n[a] * op_b[j]
                    right[a] = complex(math.cos(x), math.sin(x))
                for a in range(3):
                    for b in range(3):
                        U[a, b] = left[a] * U[a, b] * right[b]
                for a in range(3):
                    for b in range(3):
                        s = 0j
                        for m in range(3):
                            s += rho[a, m] * U[b, m].conjugate()
                        tmp[a, b] = s
                for a in range(3):
                    for b in range(3):
                        s = 0j
                        for m in range(3):
                            s += U[a, m] * tmp[m, b]
                        rho[a, b] = s
        acc = 0j
        for a in range(3):
            for b in range(3):
                if n[a] - n[b] == 1:
                    acc += rho[a, b] * Pe[b, a]
        amp = 2.0 * acc * det_phase * weights[i]
        out[idx, 0] = amp.real
        out[idx, 1] = amp.imag


def ring3_rwa_echo(E, D0, phi, levels, dipole_D, system, weights, temperature_K, carrier_K, drive_K_per_D,
                   programme, detect_angle_rad, degenerate_tolerance=1e-4):
    """Weighted RWA echo amplitudes of 3LS instances (Eq. 6), one compiled pass per instance.

    The same propagation as :func:`tunnelsim.dielectric.echoes.echo_amplitude` with
    ``method="rwa"``, for the ring only: eigenvectors of ``H0`` from cofactors of the closed-form
    levels (``eigh`` below ``degenerate_tolerance`` times the scale), the rotating-frame pulses in
    closed form (:func:`_rwa_propagator`), everything in registers.

    Parameters
    ----------
    E : numpy.ndarray, shape (N, 3)
    D0 : numpy.ndarray, shape (N,)
    phi : numpy.ndarray, shape (M,)
        Phase of each instance.
    levels : numpy.ndarray, shape (M, 3)
        Ascending closed-form levels of each instance (:func:`tunnelsim.kernels.three_level_spectrum`).
    dipole_D : numpy.ndarray, shape (N, 3, 3)
        Dipole operator along the field, well basis.
    system : numpy.ndarray of int, shape (M,)
        Row of ``E``, ``D0``, ``dipole_D`` and ``weights`` of each instance.
    weights : numpy.ndarray, shape (N,)
    temperature_K, carrier_K, drive_K_per_D : float
        ``T``, ``hbar omega / k_B`` and ``F0`` in K per debye.
    programme : tuple of arrays
        ``(ops, time_per_K, a, b)``: operations ``OP_FREE`` (time, coherence factor ``a`` between
        different manifolds), ``OP_PULSE`` (time, carrier angles ``a`` at the end and ``b`` at the
        start, pulse phase included) and ``OP_SELECT`` (keep coherences of order -1).
    detect_angle_rad : float
        Carrier angle at the read-out.

    Returns
    -------
    numpy.ndarray, shape (M,), complex
        ``w_i A_i``.
    """
    ops, op_time, op_a, op_b = (np.ascontiguousarray(x) for x in programme)
    phi = np.ascontiguousarray(phi, dtype=float)
    M = phi.shape[0]
    out = np.empty((M, 2))
    _run_chunked(_ring3_rwa_echo, M, np.ascontiguousarray(E, dtype=float), np.ascontiguousarray(D0, dtype=float),
                 phi, np.ascontiguousarray(levels, dtype=float), np.ascontiguousarray(dipole_D, dtype=np.complex128),
                 np.ascontiguousarray(system, dtype=np.int64), np.ascontiguousarray(weights, dtype=float),
                 float(temperature_K), float(carrier_K), float(drive_K_per_D), ops.astype(np.int64),
                 op_time.astype(float), op_a.astype(float), op_b.astype(float), float(detect_angle_rad),
                 float(degenerate_tolerance), out, n_chunks=min(numba.get_num_threads(), max(1, M // 2048)))
    return out[:, 0] + 1j * out[:, 1]


def programme(sequence, time_s, pathway):
    """The segments :func:`tunnelsim.dielectric.echoes._evolve` applies up to ``time_s``, as operations."""
    ops, times, first, second = [], [], [], []
    for index, (start, length, phase) in enumerate(sequence.segments()):
        if index == 2 and pathway == "echo":
            ops.append(OP_SELECT), times.append(0.0), first.append(0.0), second.append(0.0)
        span = min(length, time_s - start)
        if span <= 0:
            break
        ops.append(OP_FREE if phase is None else OP_PULSE)
        times.append(span * (K_B_J_PER_K / HBAR_J_S))
        if phase is None:
            first.append(math.exp(-span / sequence.t2_s) if math.isfinite(sequence.t2_s) else 1.0), second.append(0.0)
        else:
            first.append(sequence.carrier_phase(start + span) + phase)
            second.append(sequence.carrier_phase(start) + phase)
    return np.array(ops, dtype=np.int64), np.array(times), np.array(first), np.array(second)


def ring3_rwa_echo_vs_field(E, D0, phi, dipole_D, weights, sequence, temperature_K, pathway, system, field_index,
                            n_fields, chunk):
    """Weighted ensemble echo per field for :func:`tunnelsim.dielectric.echoes.echo_amplitude_vs_field`
    (instances: ``system`` rows at phases ``phi``, summed into ``field_index``), in chunks of ``chunk``."""
    from .. import kernels

    if not np.all(np.isfinite(E)):
        raise ValueError("E must be finite (no NaN or inf)")
    carrier_K = sequence.frequency_Hz * H_PLANCK_J_S / K_B_J_PER_K
    steps = programme(sequence, sequence.echo_time_s, pathway)
    detect = sequence.carrier_phase(sequence.echo_time_s)
    real = np.zeros(n_fields)
    imag = np.zeros(n_fields)
    for lo in range(0, phi.size, chunk):
        sl = slice(lo, lo + chunk)
        i = system[sl]
        levels = kernels.three_level_spectrum(E[i], D0[i], phi[sl], couplings=False).levels
        amp = ring3_rwa_echo(E, D0, phi[sl], levels, dipole_D, i, weights, temperature_K, carrier_K,
                             sequence.field_amplitude_V_per_m * DEBYE_V_PER_M_K, steps, detect)
        real += np.bincount(field_index[sl], amp.real, minlength=n_fields)
        imag += np.bincount(field_index[sl], amp.imag, minlength=n_fields)
    return real + 1j * imag
