"""The intrinsic term of Eq. 17 with the exact three-level ATS ensemble, as a fit objective.

``M_intr(T, H)`` of Eq. 17 is here the exact magnetisation (along the field) of the three-well
ATS of Eq. 6, averaged over the distribution of Eq. 8 in the polar form
``P* dalpha dD/D dD0/D0`` (``alpha`` uniform on ``[0, 2 pi)``, ``D`` log-uniform on
``[D_min, inf)``, ``D0`` log-uniform on ``[D0_min, D0_max]``) and over planar loop orientations
``u = cos(theta)`` uniform on ``[0, 1]`` with the Aharonov-Bohm phase of Eq. 7,
``phi = 2 pi (Q/e) S_Delta B u / phi0``:

    M_intr = n_ATS P* int dalpha dD/D dD0/D0 du  M_1(T, B; D, alpha, D0, u),
    M_1 = -<dlambda/dB> = -<dlambda/dphi> 2 pi (Q/e) S_Delta u / phi0,

per gram, in emu/g (``<.>`` the thermal average). :class:`ExactIntrinsicModel` evaluates it,
per unit ``n_ATS``, at a fixed set of points ``(T, B)`` on a quadrature that is fixed once and
mapped onto the parameters (:mod:`~tunnelsim.fitting._exact_quadrature`), so the result is smooth
in the parameters, and returns its Jacobian from boundary integrals computed on the same nodes.

Parameters of a fit (the seed's Table 3 plus the loop size):
``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2`` (products ``D0 (Q/e) S_Delta``, K A^2),
``charge_area_A2`` (``(Q/e) S_Delta``, A^2, so ``D0 = D0QS / charge_area``) and optionally
``delta_mu_K`` (Eq. 15, ``N(T)/N(T0) = r(T) = exp(-dmu/T + dmu/T0)``, parameters given at
``T0``; ``D_min -> r D_min``, ``D0QS -> r^3 D0QS``, ``(Q/e) S -> r^2 (Q/e) S``, so ``D0 -> r D0``),
or ``gamma`` and ``E0_K`` (Eq. 16, ``r(T) = (1 - gamma e^{E0/T}) / (1 - gamma e^{E0/T0})``, same scaling;
:func:`tunnelsim.fitting.models.tunnelling_ratio`).

Eq. 15 by the scaling identity
------------------------------
Every energy of Eq. 6 scales with ``r`` at fixed phase, ``F(r E, r D0, phi; T) = r F(E, D0, phi; T/r)``,
and the measure ``dD/D dD0/D0`` is scale invariant, so

    M(T, B; r D_min, r D0_min, r D0_max, r^2 QS) = r M(T/r, B; D_min, D0_min, D0_max, r^2 QS):

every point is evaluated with the cutoffs at ``T0`` at the effective temperature ``T/r`` and
loop size ``r^2 QS``, and multiplied by ``r``. The quadrature nodes in ``D0`` are then shared by
all points; those in ``D`` follow each point's energy scale.

Jacobian (no finite differences)
--------------------------------
With ``theta = (ln D_min, ln D0QS_min, ln D0QS_max, ln QS, delta_mu)``:

* ``d/d ln D_min = -P* int dalpha dD0/D0 du M_1 |_{D = D_min}`` (the Lobatto node ``D = D_min``);
* ``d/d ln D0QS_min = -(the integrand at D0 = D0_min)``, ``d/d ln D0QS_max = +(... at D0_max)``
  (Lobatto nodes at both cutoffs);
* at fixed ``D0`` the loop size enters only through ``phi`` ~ ``QS B``, so
  ``dM/d ln QS = M + B dM/dB``, and integrating the ``u`` average by parts,
  ``B dM/dB = M_{u=1} - 2 M`` (``M_{u=1}``: all loops normal to the field; the Radau node
  ``u = 1``), hence ``dM/d ln QS |_{D0} = M_{u=1} - M``; at fixed ``D0QS`` the ``D0`` cutoffs
  move as ``1/QS``: ``dM/d ln QS |_{D0QS} = M_{u=1} - M - dM/d ln D0QS_min - dM/d ln D0QS_max``;
* ``d/d delta_mu = (1/T0 - 1/T) dM/d ln r`` with ``dM/d ln r`` the sum of the three cutoff
  derivatives plus twice ``dM/d ln QS |_{D0}`` (``D_min``, ``D0`` scale as ``r``, ``QS`` as ``r^2``);
  for Eq. 16 ``d/d gamma`` and ``d/d E0`` are ``d ln r / d gamma`` and ``d ln r / d E0`` times the same
  ``dM/d ln r``.

These are the derivatives of the exact integral; on the fixed rule they agree with finite
differences of :meth:`ExactIntrinsicModel.unit` to the quadrature accuracy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from .. import units
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K
from . import _exact_quadrature as _quad
from .models import EQ16_NAMES, temperature_law, tunnelling_ratio

__all__ = ["ExactIntrinsicModel", "ExactIntrinsicNodes", "THETA_NAMES"]

#: Names of the Jacobian columns (the last only with Eq. 15).
THETA_NAMES = ("ln_D_min_K", "ln_D0QS_min_K_A2", "ln_D0QS_max_K_A2", "ln_charge_area_A2", "delta_mu_K")
_REQUIRED = ("D_min_K", "D0QS_min_K_A2", "D0QS_max_K_A2", "charge_area_A2")
_EMU_PER_K_PER_T = float(units.kelvin_per_tesla_to_emu(1.0))


@dataclass(frozen=True)
class ExactIntrinsicNodes:
    """Node counts of the fixed quadrature.

    The defaults (24 960 spectra per point) were chosen by node doubling on the seed's window
    (T 2-300 K, B 0.1-7 T, Table 3 and the 2000-BK7 parameter sets, ``(Q/e) S`` 3000-66000 A^2,
    Eq. 15 on): the error is below 4e-5 of the largest ``|M|`` of the data set (1e-5 for
    ``(Q/e) S <= 30000 A^2``). Two axes need more nodes outside that window:

    * ``u``: at low temperature the orientation integrand has features of width
      ``~ T / D0`` in ``phi`` at ``phi = pi, 3 pi, ...`` (level crossings of Eq. 6), so the count
      needed grows with ``D0_max phi_max / T_min = 2 pi B_max D0QS_max / (phi0 T_min)``; 20 nodes
      reach 1e-5 for ``D0QS_max = 2.9e5 K A^2`` at 7 T and 2 K, 2e-3 for four times that;
    * ``D0``: Lobatto in ``ln D0``; 4 nodes hold 1e-5 for ``ln(D0QS_max/D0QS_min) <= 1``,
      6 up to 2.3.

    Parameters
    ----------
    D : int
        Gauss-Lobatto nodes in ``ln D`` on ``[D_min, D_c]`` (both ends included), >= 2.
    D_tail : int
        Gauss-Legendre nodes of the tail ``D = D_c / s^4``, ``s`` in ``(0, 1)``, >= 1.
    D0 : int
        Gauss-Lobatto nodes in ``ln D0`` on ``[D0_min, D0_max]``, >= 2.
    u : int
        Gauss-Radau nodes in ``u = cos(theta)`` on ``[0, 1]`` with ``u = 1`` a node, >= 2.
    alpha_half : int
        Gauss-Legendre nodes in each half of the clustered ``alpha`` rule on ``[0, pi/3]``, >= 1.
    tail_factor : float
        ``D_c = D_min + tail_factor E_s``, ``E_s = sqrt(T_eff^2 + D0_max^2 (1 + phi_max^2))``.
    """

    D: int = 20
    D_tail: int = 6
    D0: int = 4
    u: int = 20
    alpha_half: int = 6
    tail_factor: float = 10.0

    def __post_init__(self):
        minimum = {"D": 2, "D_tail": 1, "D0": 2, "u": 2, "alpha_half": 1}
        for name, low in minimum.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"nodes.{name} must be an integer >= {low}, got {value!r}")
        if not (math.isfinite(self.tail_factor) and self.tail_factor > 0):
            raise ValueError(f"nodes.tail_factor must be finite and > 0, got {self.tail_factor!r}")

    def scaled(self, factor):
        """Every node count multiplied by ``factor`` (for convergence checks)."""
        counts = {f.name: max(2, int(round(getattr(self, f.name) * factor)))
                  for f in fields(self) if f.name != "tail_factor"}
        return ExactIntrinsicNodes(**counts, tail_factor=self.tail_factor)

    @property
    def per_point(self):
        """Spectra evaluated per data point: ``(D + D_tail) D0 u 2 alpha_half``."""
        return (self.D + self.D_tail) * self.D0 * self.u * 2 * self.alpha_half


def _finite_float(params, name):
    try:
        value = float(params[name])
    except KeyError:
        raise ValueError(f"params: missing {name!r}") from None
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {params[name]!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite (not NaN or inf), got {value!r}")
    return value


def _check_params(params):
    """``(D_min, D0QS_min, D0QS_max, QS, delta_mu or None)`` from a mapping, or ValueError naming the key."""
    values = [_finite_float(params, name) for name in _REQUIRED]
    for name, value in zip(_REQUIRED, values):
        if value <= 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    if values[1] >= values[2]:
        raise ValueError(f"D0QS_min_K_A2 must be < D0QS_max_K_A2, got {values[1]!r} >= {values[2]!r}")
    law = {}
    for name in ("delta_mu_K",) + EQ16_NAMES:
        if params.get(name) is not None:
            law[name] = _finite_float(params, name)
    if law.get("delta_mu_K", 0.0) < 0:
        raise ValueError(f"delta_mu_K must be >= 0, got {law['delta_mu_K']!r}")
    return (*values, law)


class ExactIntrinsicModel:
    """Exact intrinsic magnetisation (Eq. 6, 8, 15, 17) at fixed points ``(T, B)``, with its Jacobian.

    Built once per data set; :meth:`unit` and :meth:`unit_and_jacobian` then take the parameters.
    The result is per unit ``n_ATS`` (multiply by ``n_ATS_per_g`` for emu/g): the model is linear
    in ``n_ATS``, which a fit solves for by variable projection. Only ``n_ATS P*`` is
    determined; ``P*`` is a fixed setting (with ``D_max = inf`` the measure cannot be normalised).
    The same convention as :func:`tunnelsim.ensemble.compute` with
    ``ATSDistribution(D_min_K, D0_min_K, D0_max_K)`` (``D_max = inf``) and a
    ``ThreeLevelSystem(charge_area_A2)``, whose values it reproduces (see the module docstring
    for the method).

    Parameters
    ----------
    temperature_K : array_like, shape (n_points,)
        Temperature of each point (K, > 0).
    field_T : array_like, shape (n_points,)
        Field ``B = mu0 H`` of each point (T, >= 0; ``H[Oe] * 1e-4``). Broadcast with ``temperature_K``.
    P_star : float, optional
        Amplitude ``P*`` of Eq. 8 (default ``1 / (2 pi)``).
    T0_K : float, optional
        Reference temperature of Eq. 15 (default 1.26 K, the seed's).
    nodes : ExactIntrinsicNodes, optional
        Node counts of the fixed quadrature.
    threads : int, optional
        Worker threads of the compiled sums (default ``numba.get_num_threads()``).

    Notes
    -----
    ``params`` is a mapping with ``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2``,
    ``charge_area_A2`` and optionally ``delta_mu_K`` (absent or None: Eq. 15 off). Other keys
    (e.g. ``n_ATS_per_g``) are ignored.
    """

    def __init__(self, temperature_K, field_T, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K, nodes=None, threads=None):
        try:
            T, B = np.broadcast_arrays(np.asarray(temperature_K, dtype=float), np.asarray(field_T, dtype=float))
        except ValueError:
            raise ValueError("temperature_K and field_T must broadcast to one shape (one pair per point)") from None
        if T.ndim > 1:
            raise ValueError(f"temperature_K and field_T must be 1-D (one value per point), got shape {T.shape}")
        T, B = np.atleast_1d(T).astype(float), np.atleast_1d(B).astype(float)
        if not np.all(np.isfinite(T)) or np.any(T <= 0):
            raise ValueError("temperature_K must be finite and > 0 at every point")
        if not np.all(np.isfinite(B)) or np.any(B < 0):
            raise ValueError("field_T must be finite and >= 0 at every point (the magnitude of B)")
        for name, value in (("P_star", P_star), ("T0_K", T0_K)):
            if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if nodes is None:
            nodes = ExactIntrinsicNodes()
        if not isinstance(nodes, ExactIntrinsicNodes):
            raise ValueError(f"nodes must be ExactIntrinsicNodes, got {type(nodes).__name__}")
        self.temperature_K = T
        self.field_T = B
        self.P_star = float(P_star)
        self.T0_K = float(T0_K)
        self.nodes = nodes
        self.threads = threads
        # reference rules on [0, 1]
        x, w = _quad.gauss_lobatto(nodes.D)
        self._D_inner = (0.5 * (x + 1.0), 0.5 * w)
        x, w = _quad.gauss_legendre(nodes.D_tail)
        self._D_tail = (0.5 * (x + 1.0), 0.5 * w)
        x, w = _quad.gauss_lobatto(nodes.D0)
        self._D0_rule = (0.5 * (x + 1.0), 0.5 * w)
        x, w = _quad.gauss_radau_right(nodes.u)
        self._u_rule = (0.5 * (x + 1.0), 0.5 * w)

    @property
    def n_points(self):
        """Number of points ``(T, B)``."""
        return self.temperature_K.size

    # ------------------------------------------------------------------ internals
    def _rules(self, D_min, D0_min, D0_max, tau, phi_max):
        """Nodes and weights of ``dD/D`` (per point) and ``dD0/D0`` mapped onto the cutoffs."""
        t, w = self._D0_rule
        L0 = math.log(D0_max / D0_min)
        D0 = D0_min * np.exp(L0 * t)
        wD0 = L0 * w
        scale = np.sqrt(tau**2 + D0_max**2 * (1.0 + phi_max**2))  # smooth energy scale of each point
        D_c = D_min + self.nodes.tail_factor * scale
        L = np.log(D_c / D_min)[:, None]
        t, w = self._D_inner
        D_inner = D_min * np.exp(L * t)
        s, ws = self._D_tail
        D_tail = D_c[:, None] / s**4
        D = np.concatenate([D_inner, D_tail], axis=1)
        wD = np.concatenate([L * w, np.broadcast_to(4.0 * ws / s, D_tail.shape)], axis=1)
        return D, wD, D0, wD0

    def _evaluate(self, params, jacobian):
        D_min, D0QS_min, D0QS_max, QS, law = _check_params(params)
        T, B = self.temperature_K, self.field_T
        r, d_ln_r_d = tunnelling_ratio(law, T, self.T0_K, derivatives=True)
        r = np.ones_like(T) if r is None else r
        tau = T / r
        dphi_dB = units.phase_per_tesla(QS * r**2)  # rad/T at u = 1
        phi_max = dphi_dB * B
        D, wD, D0, wD0 = self._rules(D_min, D0QS_min / QS, D0QS_max / QS, tau, phi_max)
        u, wu = self._u_rule
        sums = _quad.point_sums(tau, phi_max, D, D0, u, self.nodes.alpha_half, self.threads)  # (P, nD, nD0, nu)
        factor = (self.P_star * _EMU_PER_K_PER_T) * r * dphi_dB  # (P,)
        wuu = wu * u
        over_u = sums @ wuu  # (P, nD, nD0)
        over_u_D0 = over_u @ wD0  # (P, nD)
        value = factor * np.einsum("pj,pj->p", wD, over_u_D0)
        if not jacobian:
            return value, None
        d_ln_Dmin = -factor * over_u_D0[:, 0]
        over_D = np.einsum("pj,pjk->pk", wD, over_u)  # (P, nD0)
        d_ln_D0min = -factor * over_D[:, 0]
        d_ln_D0max = factor * over_D[:, -1]
        u_one = factor * np.einsum("pj,pjk,k->p", wD, sums[:, :, :, -1], wD0)  # M at u = 1
        d_ln_QS_D0 = u_one - value
        columns = [d_ln_Dmin, d_ln_D0min, d_ln_D0max, d_ln_QS_D0 - d_ln_D0min - d_ln_D0max]
        if d_ln_r_d:
            d_ln_r = d_ln_Dmin + d_ln_D0min + d_ln_D0max + 2.0 * d_ln_QS_D0
            columns.extend(d_ln_r_d[name] * d_ln_r for name in self.theta_names(law)[4:])
        return value, np.stack(columns, axis=1)

    # ------------------------------------------------------------------ public
    def theta_names(self, params):
        """Names of the Jacobian columns for these parameters (``delta_mu_K`` with Eq. 15, ``gamma`` and
        ``E0_K`` with Eq. 16)."""
        law = temperature_law(n for n in ("delta_mu_K",) + EQ16_NAMES if params.get(n) is not None)
        return THETA_NAMES[:4] + {"eq15": ("delta_mu_K",), "eq16": EQ16_NAMES, None: ()}[law]

    def unit(self, params):
        """Intrinsic magnetisation per unit ``n_ATS`` at every point (Eq. 17's ``M_intr / n_ATS``).

        Parameters
        ----------
        params : mapping
            ``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2``, ``charge_area_A2`` and optionally
            ``delta_mu_K`` (Eq. 15).

        Returns
        -------
        numpy.ndarray, shape (n_points,)
            In emu/g per (g^-1), i.e. emu per ATS: multiply by ``n_ATS_per_g`` for emu/g.
        """
        return self._evaluate(params, jacobian=False)[0]

    def unit_and_jacobian(self, params):
        """:meth:`unit` and its derivatives with respect to ``theta`` (module docstring).

        Parameters
        ----------
        params : mapping
            As :meth:`unit`.

        Returns
        -------
        unit : numpy.ndarray, shape (n_points,)
            As :meth:`unit`.
        jacobian : numpy.ndarray, shape (n_points, n_theta)
            ``d unit / d theta`` for ``theta = (ln D_min, ln D0QS_min, ln D0QS_max, ln QS[, delta_mu])``
            (:data:`THETA_NAMES`; ``delta_mu_K`` in K^-1 units, the others per unit of the logarithm).
        """
        return self._evaluate(params, jacobian=True)
