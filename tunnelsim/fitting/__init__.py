"""Weighted least-squares fits of Eq. 17 to SQUID magnetisation data, with uncertainties.

Two models of ``M(T, H)`` in emu/g (Eq. 17, :mod:`tunnelsim.paramagnet`):

* ``"ll"`` -- Larmor-Langevin only: ``-chi_L H + M_Fe(H/T)`` (the parent article's Eq. 1),
  parameters ``n_Fe2_per_g``, ``n_Fe3_per_g`` (one density per paramagnetic species, see below),
  ``chi_L_emu_per_g_Oe``;
* ``"etm"`` -- plus the intrinsic ATS term (corrected Eq. 10, orientation averaged, with the
  Eq. 15 temperature dependence when ``delta_mu_K`` is a parameter): the seed's Table 3
  parameters ``n_ATS_per_g``, ``D_min_K``, ``D0QS_min_K_A2``, ``D0QS_max_K_A2``, ``delta_mu_K``.

All runs are fitted jointly (:func:`fit_magnetization`): residuals ``(M_model - M)/sigma``
(unit weights when the data carry no ``sigma``), minimised by lmfit's ``least_squares``
(trust-region reflective, bounds kept) in two stages. First a variable projection (Golub and
Pereyra): the model is linear in the Fe concentrations, ``chi_L`` and the ATS weight
``A = n_ATS ln(D0QS_max / D0QS_min)``, so for each trial of the nonlinear parameters those are
solved exactly by bounded linear least squares. Then the joint fit of all parameters from that
minimum (Jacobian: exact columns for the linear parameters, forward differences for the others),
which supplies the statistics and the covariance. Standard errors come from the inverse of
``J^T J`` at the solution, multiplied by the reduced chi^2 only when the data have no ``sigma``
(``stderr_scaled_by_reduced_chi2``). AIC and BIC are lmfit's, ``n ln(chi^2/n) + 2k`` and
``n ln(chi^2/n) + k ln n``.

**Paramagnetic species.** The Langevin term sums over ``species`` (every fit, start, comparison,
synthesis and per-run function takes it; default Fe2+ and Fe3+, spin-only): any number of ions
from the table of :mod:`tunnelsim.ions` or explicit ``(g, J)``
(:func:`tunnelsim.ions.parse_species`, ``settings.species`` of a parameter file). The density of
each is the parameter ``n_<tag>_per_g`` (``Gd3+`` -> ``n_Gd3_per_g``;
:func:`model_parameter_names` with ``species=``), so the default keeps the seed's names. The
total-iron parametrisation (``n_Fe_total_per_g``, ``x_Fe2``) exists only for Fe2+ and Fe3+.

**Amplitude.** Only ``n_ATS P*`` enters Eq. 10; ``P*`` is a fixed setting (default ``1/(2 pi)``,
the seed's "in practice") and every result states it.

The modules: :mod:`~tunnelsim.fitting.models` (the two models, their parameter names, Eq. 17
evaluated); :mod:`~tunnelsim.fitting.problem` (the internal parameterisation in which the fit
runs, its residuals and Jacobians); :mod:`~tunnelsim.fitting.least_squares` (the two-stage
driver, :func:`fit_magnetization`); :mod:`~tunnelsim.fitting.uncertainties` (propagated
standard errors, correlations and the flags of poorly determined parameters);
:mod:`~tunnelsim.fitting.intervals` (profile-likelihood confidence intervals,
:func:`profile_intervals` and :func:`fit_with_intervals`, the search itself in
:mod:`~tunnelsim.fitting._profile_search`) and
:mod:`~tunnelsim.fitting.result` (:class:`FitResult`, its JSON and text reports). This package
re-exports the public names of all of them.
"""

from .intervals import (DEFAULT_LEVELS, ONE_SIGMA_LEVEL, ProfileSummary, default_max_refits, default_refit_tolerance,
                        fit_with_intervals, profile_intervals)
from .least_squares import FitConvergenceError, fit_magnetization
from .models import MODELS, FitError, model_magnetization_emu_per_g, model_parameter_names
from .problem import _Problem  # noqa: F401  (tests build a problem directly)
from .result import FitResult, ParameterEstimate, ProfileInterval, write_json
from .uncertainties import CORRELATION_LIMIT, REL_STDERR_LIMIT

__all__ = [
    "CORRELATION_LIMIT",
    "DEFAULT_LEVELS",
    "FitConvergenceError",
    "FitError",
    "FitResult",
    "MODELS",
    "ONE_SIGMA_LEVEL",
    "ParameterEstimate",
    "ProfileInterval",
    "ProfileSummary",
    "REL_STDERR_LIMIT",
    "default_max_refits",
    "default_refit_tolerance",
    "fit_magnetization",
    "fit_with_intervals",
    "model_magnetization_emu_per_g",
    "model_parameter_names",
    "profile_intervals",
    "write_json",
]
