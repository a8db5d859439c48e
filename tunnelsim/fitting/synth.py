"""Synthetic SQUID runs from the Eq. 17 model.

The seed gives fitted parameters (Tables 3, 4) but no raw data, so tests, notebooks and users
check the fitter on data made here: :func:`synthesize` evaluates Eq. 17
(:func:`tunnelsim.paramagnet.total_magnetization_emu_per_g`) on the points of a list of runs
(:mod:`tunnelsim.fitting.parameters`) and adds Gaussian noise of a stated model
(:class:`~tunnelsim.fitting.parameters.NoiseModel`) from a seeded generator.
"""

from __future__ import annotations

import numpy as np

from ..ions import DEFAULT_SPECIES, describe_species
from ..units import DEFAULT_P_STAR, DEFAULT_T0_K
from .data import Run, make_dataset
from .models import (EQ16_NAMES, IRON_TOTAL_NAMES, LOOP_SIZE_MODELS, FitError, _species, model_magnetization_emu_per_g,
                     model_parameter_names, temperature_law)
from .parameters import NoiseModel, ParameterFileError, RunSpec, seed_runs

__all__ = ["synthesize", "synthesize_from_file"]

_INTRINSIC_TERM = {
    "etm": "corrected Eq. 10 ETM",
    "etm11": "Eq. 11 high-field ETM",
    "exact": "exact three-level ATS ensemble, Eq. 6 and 8",
}


def synthesize(parameters, runs=None, noise=NoiseModel(), seed=None, P_star=DEFAULT_P_STAR, T0_K=DEFAULT_T0_K,
               species=DEFAULT_SPECIES, source="synthetic", model="etm"):
    """Synthetic SQUID runs: Eq. 17 on the runs' points plus Gaussian noise.

    ``M_i = M_Eq17(T_i, H_i) + sigma_i z_i`` with ``sigma_i`` from :class:`NoiseModel` on the
    noiseless value and ``z_i`` standard normal from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    parameters : mapping
        The seed's Table 3 names (see :func:`tunnelsim.paramagnet.total_magnetization_emu_per_g`), the
        densities named after ``species`` (:func:`~tunnelsim.fitting.model_parameter_names`).
    runs : sequence of RunSpec, optional
        Default :func:`seed_runs`.
    noise : NoiseModel or None, optional
        None (or zero noise) gives noiseless data without a ``sigma`` column.
    seed : int or None, optional
        Seed of the noise generator.
    P_star, T0_K : float, optional
        Settings of Eq. 10 (amplitude ``n_ATS P*``) and Eq. 15.
    species : sequence of Species, optional
        The paramagnetic species (default Fe2+, Fe3+; :mod:`tunnelsim.ions`).
    source : str, optional
        Description stored with the data.
    model : str, optional
        The Eq. 17 model (:data:`tunnelsim.fitting.models.MODELS`; default ``"etm"``, Eq. 10);
        ``"etm11"`` and ``"exact"`` need ``charge_area_A2``.

    Returns
    -------
    MagnetizationData
        With the given runs (not regrouped).
    """
    runs = seed_runs() if runs is None else tuple(runs)
    if not runs or not all(isinstance(r, RunSpec) for r in runs):
        raise ValueError("runs must be a non-empty sequence of RunSpec")
    points = [r.points() for r in runs]
    T = np.concatenate([p[0] for p in points])
    H = np.concatenate([p[1] for p in points])
    M = model_magnetization_emu_per_g(model, T, H, dict(parameters), P_star=P_star, T0_K=T0_K, species=species)
    sigma = None
    if noise is not None and not noise.is_zero:
        sigma = noise.sigma(M)
        if np.any(sigma <= 0):
            raise ValueError("noise: sigma = 0 where M = 0 (e.g. at H = 0); set noise.absolute_emu_per_g > 0")
        M = M + sigma * np.random.default_rng(seed).standard_normal(M.size)
    bounds = np.cumsum([0] + [len(r.axis) for r in runs])
    data_runs = tuple(Run(r.kind, float(r.fixed_value), int(a), int(b))
                      for r, a, b in zip(runs, bounds[:-1], bounds[1:]))
    return make_dataset(T, H, M, sigma, source, runs=data_runs)


def synthesize_from_file(parameter_file, seed=None, species=None):
    """Synthetic data for a :class:`ParameterFile`, and provenance lines for the CSV header.

    Parameters
    ----------
    parameter_file : ParameterFile
    seed : int, optional
        Overrides the file's ``noise.seed``; with neither, a fresh seed is drawn and recorded.
    species : sequence of Species, optional
        Overrides the file's ``settings.species`` (default: the file's, itself Fe2+ and Fe3+ by
        default). Its parameters must then be named after these species: load the file with the
        same override (``load_parameter_file(path, species=...)``).

    Returns
    -------
    (MagnetizationData, list of str)
    """
    pf = parameter_file
    species = pf.species if species is None else _species(species)
    names = model_parameter_names(pf.model, species=species)
    unknown = [n for n in pf.parameters if n not in names + ("delta_mu_K", "charge_area_A2") + IRON_TOTAL_NAMES
               + (EQ16_NAMES if pf.model != "ll" else ())]
    if unknown:
        raise ParameterFileError(f"{pf.source}: parameters.{unknown[0]}: not a parameter of model {pf.model!r} with "
                                 f"the species {', '.join(s.name for s in species)} (expected {', '.join(names)})")
    missing = [n for n in names if n not in pf.parameters and n != "delta_mu_K"]
    if missing:
        raise ParameterFileError(f"{pf.source}: parameters.{missing[0]}: missing; synthetic data need every "
                                 "Eq. 17 parameter (delta_mu_K, or Eq. 16's gamma and E0_K, are optional)")
    try:
        temperature_law(pf.parameters)
    except FitError as exc:
        raise ParameterFileError(f"{pf.source}: parameters: {exc}") from None
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if seed is None:
        seed = pf.seed if pf.seed is not None else int(np.random.SeedSequence().generate_state(1)[0])
    values = pf.values()
    if pf.model not in LOOP_SIZE_MODELS and "charge_area_A2" in values:
        raise ParameterFileError(f"{pf.source}: parameters.charge_area_A2: not a parameter of model "
                                 f"{pf.model!r}; set settings.model = \"etm11\" or \"exact\", or leave it out")
    data = synthesize(values, pf.runs, pf.noise, seed, pf.P_star, pf.T0_K, species, source=pf.source,
                      model=pf.model)
    n_T = sum(r.kind == "M_vs_T" for r in pf.runs)
    lines = [
        f"synthetic SQUID data from {pf.source}: {pf.title}",
        f"model: Eq. 17 (Larmor + Langevin {'/'.join(s.name for s in species)} + {_INTRINSIC_TERM[pf.model]}"
        + (", Eq. 15 temperature dependence)" if "delta_mu_K" in pf.parameters else ")"),
        "parameters: " + ", ".join(f"{k} = {v:.6g}" for k, v in pf.values().items()),
        f"settings: model = {pf.model}, P_star = {pf.P_star:.10g}, T0_K = {pf.T0_K:g}"
        + ("" if tuple(species) == DEFAULT_SPECIES else f", species = {describe_species(species)}"),
        f"runs: {n_T} M vs T, {len(pf.runs) - n_T} M vs H, {data.n_points} points",
        f"noise: {pf.noise.describe()}, seed = {seed}",
    ]
    return data, lines
