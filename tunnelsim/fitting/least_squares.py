"""The least-squares driver: variable projection, then the joint fit of all parameters.

**Non-convergence.** A fit that stops without meeting its tolerances (evaluation budget spent,
non-finite chi^2) raises :class:`FitConvergenceError` instead of returning numbers.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..ions import DEFAULT_SPECIES
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K
from .models import MODELS, FitError
from .problem import _FD_STEP, _Problem
from .uncertainties import _result

__all__ = ["FitConvergenceError", "fit_magnetization"]


class FitConvergenceError(RuntimeError):
    """A fit stopped without converging; the message is one line."""


def fit_magnetization(data, model="etm", start=None, fixed=None, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K,
                      species=DEFAULT_SPECIES, max_nfev=None, tolerance=1e-10, iron_total_per_g=None,
                      eq10_prefactor="corrected"):
    """Joint weighted least-squares fit of Eq. 17 to all runs of a data set.

    Parameters
    ----------
    data : MagnetizationData
    model : {"ll", "etm", "etm11", "exact"}
        Larmor-Langevin only, or Eq. 17 with the intrinsic term of Eq. 10, Eq. 11 or the exact
        ATS ensemble (:mod:`tunnelsim.fitting.models`).
    start : mapping, optional
        Starting values by the seed's names: numbers or
        :class:`tunnelsim.parameters.ParameterEntry` (``vary = False`` fixes; ``min``/``max`` bound
        the Fe concentrations, ``chi_L``, ``D_min`` and ``delta_mu``). Names of the other model are
        ignored. Missing Larmor-Langevin values start from a linear least-squares fit of the LL
        model; ``etm`` needs ``n_ATS_per_g``, ``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2``,
        and ``delta_mu_K`` is part of the model only when given.
    fixed : mapping, optional
        ``{name: value}`` held fixed (overrides ``start``).
    P_star : float, optional
        Fixed ``P*``; the fit determines ``n_ATS`` at this setting.
    T0_K : float, optional
        Reference temperature of Eq. 15.
    species : sequence of Species, optional
        The paramagnetic species of the Langevin term (default Fe2+, Fe3+; :mod:`tunnelsim.ions`), at
        least one; each one's density is the parameter ``n_<tag>_per_g``
        (:func:`~tunnelsim.fitting.model_parameter_names`).
    max_nfev : int, optional
        Budget of residual evaluations over both stages (default: lmfit's ``2000 (k + 1)`` per stage);
        a fit that spends it raises :class:`FitConvergenceError`.
    tolerance : float, optional
        ``ftol``, ``xtol`` and ``gtol`` of ``scipy.optimize.least_squares``.
    eq10_prefactor : {"corrected", "seed"}, optional
        The Eq. 10 prefactor convention of ``etm`` and ``etm11`` (:data:`tunnelsim.etm.EQ10_PREFACTORS`):
        ``"corrected"`` ``pi P* n_ATS / (2B)`` (default), or the seed's printed ``pi P* n_ATS / B``, with
        which the fitted ``n_ATS`` is half as large. The result states it.
    iron_total_per_g : float, optional
        Total iron fixed (e.g. at a mass-spectrometry value, the seed's Figs. 16-18): the fit then
        reports ``n_Fe_total_per_g`` (fixed) and the Fe2+ fraction ``x_Fe2`` in [0, 1] instead of the
        two species densities (``n_Fe2 = x n_Fe``, ``n_Fe3 = (1 - x) n_Fe``, given as derived values).
        Only for the species Fe2+ and Fe3+ (:class:`FitError` otherwise).

    Returns
    -------
    FitResult

    Raises
    ------
    FitError
        A bad model, name, starting value or bound.
    FitConvergenceError
        The fit did not converge.
    """
    import lmfit

    if model not in MODELS:
        raise FitError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if not (isinstance(P_star, (int, float)) and P_star > 0 and math.isfinite(P_star)):
        raise FitError(f"P_star must be a finite number > 0, got {P_star!r}")
    prob = _Problem(data, model, start, fixed, P_star, T0_K, species, iron_total_per_g, eq10_prefactor)
    x0 = prob.start / prob.scale
    first = prob.residual(x0)
    if not np.all(np.isfinite(first)):
        raise FitError("the model is not finite at the starting values; check them")
    if not prob.free:
        raise FitError("no parameter left to vary")
    nfev = 0
    if prob.nonlinear and prob.linear:
        x0, nfev = _projected_fit(prob, x0, max_nfev, tolerance)
    names = [f"p{k}" for k in range(len(prob.free))]
    params = lmfit.Parameters()
    for n, v, lo, hi in zip(names, x0, prob.lower, prob.upper):
        params.add(n, value=float(np.clip(v, lo, hi)), min=lo, max=hi)

    def residual(p):
        return prob.residual(np.array([p[n].value for n in names]))

    def jacobian(p):
        return prob.jacobian(np.array([p[n].value for n in names]))

    budget = None if max_nfev is None else max(1, max_nfev - nfev)
    minimizer = lmfit.Minimizer(residual, params, nan_policy="propagate", scale_covar=not prob.weighted,
                                max_nfev=budget)
    res = _minimize(minimizer, method="least_squares", jac=jacobian, x_scale="jac", ftol=tolerance, xtol=tolerance,
                    gtol=tolerance)
    _check_converged(res, nfev)
    x = np.array([res.params[n].value for n in names])
    return _result(prob, res, x, nfev + res.nfev)


def _minimize(minimizer, **kwargs):
    """``minimizer.minimize(**kwargs)``; a trial region where the model is not finite (the optimiser
    cannot continue from there) ends as :class:`FitConvergenceError` with the reason, not a traceback."""
    try:
        with warnings.catch_warnings():  # lmfit's sqrt of a negative covariance diagonal: reported as unavailable
            warnings.simplefilter("ignore", RuntimeWarning)
            return minimizer.minimize(**kwargs)
    except (ValueError, OverflowError, FloatingPointError, np.linalg.LinAlgError) as exc:
        raise FitConvergenceError(f"fit did not converge (the model is not finite near the trial parameters: "
                                  f"{' '.join(str(exc).split())}); try other starting values or --fix") from None


def _check_converged(res, previous_nfev=0):
    if not res.success or getattr(res, "aborted", False) or not np.isfinite(res.chisqr):
        message = " ".join(str(res.message).split())
        raise FitConvergenceError(f"fit did not converge ({message}; {previous_nfev + res.nfev} model evaluations)")


def _projected_fit(prob, x0, max_nfev, tolerance):
    """First stage: variable projection over the nonlinear variables (returns the full ``x`` and nfev).

    At each trial of the nonlinear variables (``D_min``, ``delta_mu``, the ``D0QS`` centre and
    width) the linear ones (Fe concentrations, ``chi_L``, the ATS weight) are solved exactly by
    bounded linear least squares (Golub & Pereyra). The joint fit that follows starts at this
    minimum and supplies the statistics and the covariance of all parameters.
    """
    import lmfit

    names = [f"q{k}" for k in range(len(prob.nonlinear))]
    params = lmfit.Parameters()
    for n, j in zip(names, prob.nonlinear):
        params.add(n, value=x0[j], min=prob.lower[j], max=prob.upper[j])

    def residual(p):
        return prob.projected_residual(x0, np.array([p[n].value for n in names]))[1]

    minimizer = lmfit.Minimizer(residual, params, nan_policy="propagate", max_nfev=max_nfev)
    res = _minimize(minimizer, method="least_squares", x_scale="jac", diff_step=_FD_STEP, ftol=tolerance,
                    xtol=tolerance, gtol=tolerance)
    _check_converged(res)
    x, _ = prob.projected_residual(x0, np.array([res.params[n].value for n in names]))
    return x, res.nfev
