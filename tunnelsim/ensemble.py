"""Ensemble averages: system x parameter distribution x orientations, on a (T, B) grid.

An observable per gram is

    O(T, B) = n * sum_i w_i sum_k omega_k O_ik(T, B)

with ``n`` the density of tunnelling systems per gram (``density_per_g``), ``(params_i, w_i)``
the quadrature nodes or samples of the parameter distribution (weights carry the amplitude
``P*`` or ``P_bar``, Eq. 8) and ``(orientation_k, omega_k)`` an orientation rule. Spectra are
computed once per field and reused for every temperature; nodes are processed in chunks so
the working memory stays below ``AveragingSettings.max_memory_bytes`` whatever the grid.

Error estimates (``AveragingSettings.error_estimate``)
------------------------------------------------------
For quadrature (:mod:`tunnelsim.error_estimates`, where the reasoning is stated):

* ``"embedded"`` (the default, also ``True``): Gauss-Kronrod rules on every axis; the error is
  the sum over axes of a per-point estimate from the decay of the axis's top Legendre
  coefficients, read by null rules (capped by the rate the axis's analyticity guarantees; axes
  without null rules extrapolate from their embedded sub-rules), all from one compiled pass over
  the nodes (the sub-rule and null-rule totals follow from per-axis sums of the main rule:
  about 1.3x the CPU time of one pass on a 64 x 64 map).
* ``"doubling"``: Gauss-Legendre rules (the values of earlier versions) and the error is the
  sum over axes of the change when that axis alone has its node count doubled:
  ``2 n_axes + 1`` times the cost.
* ``False``: no estimate (NaN); Gauss-Legendre rules.

For (quasi-)Monte Carlo the error is the standard error of the sample mean.

Optional Eq. 15 (or Eq. 16) temperature dependence
(:class:`~tunnelsim.temperature_dependence.TemperatureDependence`) rescales the parameters of
every node by ``r = N_tunn(T)/N_tunn(T0)`` (:func:`~tunnelsim.temperature_dependence.scale_system_nodes`);
the measure ``dD/D dD0/D0`` is scale invariant, so this is the same as scaling the cutoffs.
Spectra then differ per temperature and are computed per temperature.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from . import error_estimates as _errors
from . import orientations as _orientations
from . import units
from ._checks import as_int, as_positive_array, as_real_array, temperature_axis
from .systems import FusedSumsModel, TunnellingModel
from .temperature_dependence import TemperatureDependence, scale_system_nodes
from .thermo import thermodynamics

__all__ = [
    "AVERAGING_METHODS",
    "ERROR_ESTIMATES",
    "OBSERVABLES",
    "AveragingSettings",
    "Ensemble",
    "EnsembleResult",
    "TemperatureDependence",
    "compute",
    "compute_blocks",
    "default_orientation_rule",
]

#: Observables an ensemble computes: name -> (units, long name). Each name is also the
#: attribute of :class:`~tunnelsim.thermo.Thermodynamics` that gives one system's value.
OBSERVABLES = {
    "magnetization": ("emu/g", "magnetisation per gram along the field"),
    "susceptibility": ("emu g-1 Oe-1", "differential susceptibility dM/dH per gram"),
    "heat_capacity": ("J K-1 g-1", "heat capacity per gram"),
    "entropy": ("J K-1 g-1", "entropy per gram"),
}

# Per-system thermodynamics is in units of k_B (energies in K, fields in T); these turn
# one system's value into the per-gram unit of OBSERVABLES when multiplied by the density.
_FROZEN = ("heat_capacity", "entropy")
_FROZEN_SUFFIX = " (parameters frozen at each T)"
#: How C and S are defined when N_tunn depends on T (Eq. 15/16): stated in every result set that has it.
_FROZEN_NOTE = ("heat capacity and entropy are those of the ensemble with its parameters frozen at each T "
                "(N_tunn(T) of Eq. 15/16 not differentiated)")

_TO_PER_GRAM = {
    "magnetization": float(units.kelvin_per_tesla_to_emu(1.0)),
    "susceptibility": float(units.kelvin_per_tesla2_to_emu_per_oe(1.0)),
    "heat_capacity": units.K_B_J_PER_K,
    "entropy": units.K_B_J_PER_K,
}
#: How an ensemble average is taken: deterministic quadrature or seeded (quasi-)Monte Carlo.
AVERAGING_METHODS = ("quadrature", "monte_carlo", "qmc")
#: Quadrature error estimates (``AveragingSettings.error_estimate``; False turns it off).
ERROR_ESTIMATES = ("embedded", "doubling")


@dataclass(frozen=True)
class AveragingSettings:
    """How the ensemble average is taken.

    Parameters
    ----------
    method : {"quadrature", "monte_carlo", "qmc"}
        Deterministic tensor quadrature, or seeded (quasi-)Monte Carlo sampling.
    level : int
        Quadrature refinement: every node count doubled ``level`` times (the error estimate
        doubles each axis once more, one at a time).
    nodes : dict, optional
        Per-axis node counts passed to the distribution's quadrature.
    orientation_nodes : int, optional
        Node count of the planar-loop orientation rule (three-level systems).
    sphere_degree : int, optional
        Polynomial degree of the sphere rule (four-well systems).
    samples : int
        Number of samples for the sampling methods.
    seed : int
        Seed of the sampling methods.
    error_estimate : {"embedded", "doubling"} or bool
        Quadrature error estimate (module docstring): ``"embedded"`` (or True, the default),
        Gauss-Kronrod rules with embedded sub-rules at about the cost of one pass;
        ``"doubling"``, Gauss-Legendre rules and node doubling per axis; False, none. The
        sampling methods give the standard error unless False.
    max_memory_bytes : int
        Bound on the working memory of one chunk of nodes.
    """

    method: str = "quadrature"
    level: int = 0
    nodes: dict | None = None
    orientation_nodes: int | None = None
    sphere_degree: int | None = None
    samples: int = 4096
    seed: int = 0
    error_estimate: bool | str = "embedded"
    max_memory_bytes: int = 512 * 2**20

    def __post_init__(self):
        value = self.error_estimate
        if value is True:
            value = "embedded"
        if value is not False and value not in ERROR_ESTIMATES:
            raise ValueError(f"error_estimate must be one of {ERROR_ESTIMATES} or a boolean, got {value!r}")
        object.__setattr__(self, "error_estimate", value)
        if self.method not in AVERAGING_METHODS:
            raise ValueError(f"method must be one of {AVERAGING_METHODS}, got {self.method!r}")
        for name in ("level", "samples", "seed", "max_memory_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if self.samples < 2:
            raise ValueError(f"samples must be >= 2, got {self.samples}")
        for name in ("orientation_nodes", "sphere_degree"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class Ensemble:
    """A tunnelling-system model, its parameter distribution and its density per gram.

    Parameters
    ----------
    system : object
        A model from :mod:`tunnelsim.systems`.
    distribution : object
        A distribution from :mod:`tunnelsim.distributions` for the same kind of system.
    density_per_g : float
        Number of tunnelling systems per gram (``n_ATS`` for Eq. 8), > 0.
    temperature_dependence : TemperatureDependence, optional
        Eq. 15 scaling of the parameters with temperature.
    """

    system: object
    distribution: object
    density_per_g: float
    temperature_dependence: TemperatureDependence | None = None

    def __post_init__(self):
        as_positive_array(self.density_per_g, "density_per_g")
        if not isinstance(self.system, TunnellingModel):
            raise ValueError(f"system must be a model of tunnelsim.systems, got {type(self.system).__name__}")
        if self.system.kind != self.distribution.system_kind:
            raise ValueError(
                f"distribution {self.distribution.kind!r} is for {self.distribution.system_kind} systems, "
                f"not {self.system.kind}"
            )
        if self.temperature_dependence is not None and self.system.kind == "two_level":
            raise ValueError("temperature_dependence (Eq. 15) applies to ATS ensembles, not to two_level systems")


@dataclass(frozen=True)
class EnsembleResult:
    """Ensemble observables on a (temperature, field) grid.

    Attributes
    ----------
    temperature_K : numpy.ndarray, shape (nT,)
    field_T : numpy.ndarray, shape (nB,)
    values, errors : dict of str to numpy.ndarray, shape (nT, nB)
        Observables per gram and their error estimates, in ``units``.
    units, long_names : dict of str to str
    info : dict
        JSON-serialisable description of how the result was obtained.
    """

    temperature_K: np.ndarray
    field_T: np.ndarray
    values: dict
    errors: dict
    units: dict
    long_names: dict
    info: dict = field(default_factory=dict)


def default_orientation_rule(system, settings=AveragingSettings()):
    """The orientation rule of a model: planar (u = cos theta), sphere, or none (2LS)."""
    kind = system.orientation_kind
    if kind == "planar":
        n = settings.orientation_nodes or 8
        return _orientations.planar_rule(n)
    if kind == "sphere":
        return _orientations.sphere_rule(settings.sphere_degree or 11)
    return None


def _field_axis(field_T):
    B = as_real_array(field_T, "field_T")
    if B.ndim > 1:
        raise ValueError(f"field_T must be a scalar or 1-D array, got shape {B.shape}")
    if np.any(B < 0):
        raise ValueError(f"field_T must be >= 0 (the magnitude of B), got minimum {B.min()!r}")
    return np.atleast_1d(B)


def _energy_scale_K(ensemble, T, B, ratio_max):
    """Largest energy the calculation resolves: ``max(T, D0_max, D0_max phi_max)``."""
    scale = float(T.max())
    d0_max = getattr(ensemble.distribution, "D0_max_K", None)
    if d0_max is not None and np.isfinite(d0_max):
        charge_area = getattr(ensemble.system, "charge_area_A2", 0.0)
        phi_max = float(units.phase_per_tesla(charge_area)) * float(B.max()) * ratio_max**2
        scale = max(scale, d0_max * ratio_max * max(1.0, phi_max))
    return scale


def _chunk_size(n_orient, n_temp, n_levels, max_memory_bytes):
    # The largest intermediates are the (chunk, K, nT, n, n) relaxation weights and their
    # products (a handful of float64 copies) and the (chunk, K, n, n) complex matrices.
    per_node = n_orient * (n_temp * n_levels * n_levels * 8 * 6 + n_levels * n_levels * 16 * 8)
    return max(1, int(max_memory_bytes // max(per_node, 1)))


def _accumulate(ensemble, nodes, rule, T, B, wanted, settings, progress):
    """Sum node contributions; returns (totals, sums of squares) per observable, (nT, nB).

    With embedded sub-rules (``nodes.embedded`` or ``rule.embedded``) the totals also hold, under
    ``(name, axis, sub_rule)``, the sums with that axis's weights replaced by the sub-rule's,
    and under ``(name, "abs")`` the sum of ``|w_i O_i|``
    (:func:`tunnelsim.error_estimates.accumulate_embedded`).
    """
    if nodes.embedded is not None or (rule is not None and rule.embedded is not None):
        return _errors.accumulate_embedded(ensemble, nodes, rule, T, B, wanted, settings.max_memory_bytes, progress)
    system = ensemble.system
    n_nodes = len(nodes)
    orient_nodes = None if rule is None else rule.nodes
    orient_weights = np.ones(1) if rule is None else rule.weights
    n_orient = len(orient_weights)
    td = ensemble.temperature_dependence
    temp_groups = [(slice(None), 1.0)] if td is None else [(slice(i, i + 1), float(td.ratio(t))) for i, t in enumerate(T)]
    field_independent = not system.field_dependent
    shape = (T.size, B.size)
    totals = {name: np.zeros(shape) for name in wanted}
    squares = {name: np.zeros(shape) for name in wanted}
    n_levels = system.n_levels
    fused = isinstance(system, FusedSumsModel)
    if fused:
        # one compiled pass per chunk that stores only O(n_T) per node
        chunk = max(1, int(settings.max_memory_bytes // (n_orient * 8 * 8 * max(T.size, 8))))
    else:
        chunk = _chunk_size(n_orient, T.size if td is None else 1, n_levels, settings.max_memory_bytes)
    need_chi = "susceptibility" in wanted
    # Eq. 15/16 on the compiled sums: the whole (T, B) grid in one pass per chunk of nodes
    ratios = (_errors.grid_pass_ratios(ensemble, T, B, wanted, n_orient + 3, settings.max_memory_bytes) if fused
              else None)
    if ratios is not None:
        _, grid_orient_nodes, grid_omega = _errors._orientation_rows(system, rule)
        chunk = max(1, int(settings.max_memory_bytes // (n_orient * 8 * 8 * max(T.size * B.size, 8))))
    for start in range(0, n_nodes, chunk):
        stop = min(start + chunk, n_nodes)
        params = {k: np.asarray(v)[start:stop] for k, v in nodes.params.items()}
        w = np.asarray(nodes.weights)[start:stop]
        if ratios is not None:
            tot, sq = _errors.grid_pass_sums(system, params, w[None, :], grid_orient_nodes, grid_omega, T, B, ratios,
                                             wanted)
            for name in wanted:
                totals[name] += tot[name][0]
                if nodes.sampled:
                    squares[name] += sq[name]
            if progress is not None:
                progress.update((stop - start) * B.size)
            continue
        cached = None
        for j, field_T in enumerate(B):
            for t_index, ratio in temp_groups:
                if fused:
                    sys_t, params_t = scale_system_nodes(system, params, ratio)
                    tot, sq = sys_t.thermal_sums(params_t, w, field_T, orient_nodes, orient_weights, T[t_index], list(wanted))
                    for name in wanted:
                        totals[name][t_index, j] += tot[name]
                        if nodes.sampled:
                            squares[name][t_index, j] += sq[name]
                    continue
                if field_independent and cached is not None:
                    spectrum = cached
                else:
                    sys_t, params_t = scale_system_nodes(system, params, ratio)
                    spectrum = sys_t.spectrum(params_t, field_T, orient_nodes)
                    if not need_chi:
                        spectrum = dataclasses.replace(spectrum, coupling2=None)
                    cached = spectrum if field_independent else None
                th = thermodynamics(spectrum, T[t_index])
                for name in wanted:
                    per_instance = getattr(th, name)  # (c, K, nT)
                    per_node = np.tensordot(per_instance, orient_weights, axes=([1], [0]))  # (c, nT)
                    contrib = per_node * w[:, None]
                    totals[name][t_index, j] += contrib.sum(axis=0)
                    if nodes.sampled:
                        squares[name][t_index, j] += (contrib**2).sum(axis=0)
            if progress is not None:
                progress.update(stop - start)
    return totals, squares


def _accumulate_parallel(executor, ensemble, plan, T, B, wanted, settings, progress):
    """:func:`_accumulate` with one task per (rule, field), gathered into the serial layout."""
    from concurrent.futures import as_completed

    futures = {}
    for label, nodes, rule_used in plan:
        for j in range(B.size):
            future = executor.submit(_accumulate, ensemble, nodes, rule_used, T, B[j : j + 1], wanted, settings, None)
            futures[future] = (label, j, len(nodes))
    shape = (T.size, B.size)
    results = {label: ({}, {}) for label, _, _ in plan}
    for future in as_completed(futures):
        label, j, n_nodes = futures[future]
        totals, squares = future.result()
        for target, part in zip(results[label], (totals, squares)):
            for key, value in part.items():
                target.setdefault(key, np.zeros(shape))[:, j] = value[:, 0]
        if progress is not None:
            progress.update(n_nodes)
    return results


def _plan(ensemble, settings, rule, scale):
    """The rules to evaluate, ``[(label, nodes, orientation_rule), ...]``, the base rule first
    (:func:`tunnelsim.error_estimates.plan`)."""
    return _errors.plan(ensemble.distribution, settings, rule, scale)


def compute(
    ensemble,
    temperature_K,
    field_T,
    observables=("magnetization",),
    settings=AveragingSettings(),
    orientations=None,
    progress=None,
    executor=None,
):
    """Ensemble observables per gram on the (temperature, field) grid.

    Parameters
    ----------
    ensemble : Ensemble
        Model, distribution, density and optional Eq. 15 temperature dependence.
    temperature_K : array_like
        Temperatures in K (1-D, > 0).
    field_T : array_like
        Field magnitudes ``B = mu0 H`` in tesla (1-D, >= 0).
    observables : sequence of str
        Names from :data:`OBSERVABLES`.
    settings : AveragingSettings
        Quadrature or sampling settings.
    orientations : OrientationRule, optional
        Orientation rule; default :func:`default_orientation_rule`.
    progress : object, optional
        Progress sink with ``reset(total=int)`` and ``update(n)`` (a ``tqdm`` bar works).
    executor : concurrent.futures.Executor, optional
        Runs one task per (rule, field) in parallel: a ``ProcessPoolExecutor``, or the
        executor of a ``dask.distributed`` client (``client.get_executor()``). The sums are
        formed in the same order as in the serial run, so the result is identical to it.

    Returns
    -------
    EnsembleResult
        Values and error estimates of shape ``(nT, nB)``.
    """
    T, B, wanted, _ = _checked_request(ensemble, temperature_K, field_T, observables, settings, orientations)
    blocks = list(compute_blocks(ensemble, T, B, wanted, settings, orientations, None, progress, executor))
    (_, values, errors), (_, info, _) = blocks
    return EnsembleResult(
        temperature_K=T,
        field_T=B,
        values=values,
        errors=errors,
        units={name: OBSERVABLES[name][0] for name in wanted},
        long_names={name: OBSERVABLES[name][1]
                    + (_FROZEN_SUFFIX if ensemble.temperature_dependence is not None and name in _FROZEN else "")
                    for name in wanted},
        info=info,
    )


def compute_blocks(ensemble, temperature_K, field_T, observables=("magnetization",), settings=AveragingSettings(),
                   orientations=None, rows=None, progress=None, executor=None):
    """:func:`compute` in blocks of ``rows`` temperatures, for grids streamed to a file.

    Every block evaluates the one plan of the whole grid (energy scale from all of ``T`` and
    ``B``), so the blocks together are :func:`compute`'s result (to rounding: the compiled loops
    over temperatures round differently for other lengths).

    Parameters
    ----------
    ensemble, temperature_K, field_T, observables, settings, orientations, progress, executor :
        As :func:`compute` (``progress`` is reset to the total over all blocks).
    rows : int, optional
        Temperatures per block; None: the whole grid in one block.

    Yields
    ------
    (int, dict, dict)
        ``(start, values, errors)`` per block: the block's first temperature index and the
        per-gram values and errors of shape ``(rows, nB)``.
    (None, dict, None)
        Last, the provenance ``info`` of :class:`EnsembleResult` (with ``temperature_blocks``
        when there was more than one block).
    """
    T, B, wanted, rule = _checked_request(ensemble, temperature_K, field_T, observables, settings, orientations)
    rows = T.size if rows is None else as_int(rows, "rows", minimum=1)
    td = ensemble.temperature_dependence
    ratio_max = 1.0 if td is None else float(np.max(td.ratio(T)))
    scale = _energy_scale_K(ensemble, T, B, ratio_max)
    started = time.perf_counter()
    plan = _plan(ensemble, settings, rule, scale)
    n_blocks = -(-T.size // rows)
    if progress is not None:
        progress.reset(total=sum(len(nodes) for _, nodes, _ in plan) * B.size * n_blocks)
    for start in range(0, T.size, rows):
        T_block = T[start:start + rows]
        if executor is None:
            results = {label: _accumulate(ensemble, nodes, rule_used, T_block, B, wanted, settings, progress)
                       for label, nodes, rule_used in plan}
        else:
            results = _accumulate_parallel(executor, ensemble, plan, T_block, B, wanted, settings, progress)
        values, errors = _values_and_errors(ensemble, plan, results, wanted, settings, T_block, B)
        yield start, values, errors
    info = _provenance(ensemble, plan, settings, scale, time.perf_counter() - started)
    if n_blocks > 1:
        info["temperature_blocks"] = int(n_blocks)
    yield None, info, None


def _checked_request(ensemble, temperature_K, field_T, observables, settings, orientations):
    """Validate the arguments of :func:`compute`; returns ``(T, B, observables, orientation rule)``."""
    if not isinstance(ensemble, Ensemble):
        raise ValueError(f"ensemble must be an Ensemble, got {type(ensemble).__name__}")
    T = temperature_axis(temperature_K)
    B = _field_axis(field_T)
    wanted = tuple(dict.fromkeys(observables))
    if not wanted:
        raise ValueError("observables must name at least one observable")
    for name in wanted:
        if name not in OBSERVABLES:
            raise ValueError(f"observables: unknown observable {name!r}; expected one of {sorted(OBSERVABLES)}")
    if not isinstance(settings, AveragingSettings):
        raise ValueError(f"settings must be AveragingSettings, got {type(settings).__name__}")
    rule = orientations if orientations is not None else default_orientation_rule(ensemble.system, settings)
    if ensemble.system.orientation_kind != "none":
        if rule is None or rule.kind != ensemble.system.orientation_kind:
            raise ValueError(
                f"orientations must be a {ensemble.system.orientation_kind} rule for {ensemble.system.kind} systems"
            )
    else:
        rule = None
    return T, B, wanted, rule


def _orientation_phase_rad(ensemble, temperature_K, field_T):
    """Aharonov-Bohm phase (rad) at ``u = 1`` of a three-well ensemble per (T, B) point, Eq. 7 (with
    Eq. 15/16 the area scales as ``r(T)^2``, :func:`tunnelsim.temperature_dependence.scale_system_nodes`);
    None for other models."""
    system = ensemble.system
    if getattr(system, "kind", None) != "three_level" or system.orientation_kind != "planar":
        return None
    B = np.abs(np.asarray(field_T, dtype=float))[None, :]
    per_tesla = float(units.phase_per_tesla(system.charge_area_A2, 1.0))
    td = ensemble.temperature_dependence
    if td is None:
        return per_tesla * B
    from .temperature_dependence import RATIO_FLOOR

    ratio = np.maximum(np.asarray(td.ratio(np.asarray(temperature_K, dtype=float)), dtype=float), RATIO_FLOOR)
    return per_tesla * ratio[:, None] ** 2 * B


def _values_and_errors(ensemble, plan, results, wanted, settings, temperature_K, field_T):
    """Per-gram values of the base rule and their error estimates (module docstring); the grid's
    temperatures and fields (the three-well orientation error reads the Aharonov-Bohm phase)."""
    _, base_nodes, _ = plan[0]
    values, errors = {}, {}
    phase_rad = _orientation_phase_rad(ensemble, temperature_K, field_T)
    for name in wanted:
        factor = ensemble.density_per_g * _TO_PER_GRAM[name]
        total, square = results["base"][0][name], results["base"][1][name]
        values[name] = total * factor
        if settings.method != "quadrature":
            n = len(base_nodes)
            # contributions c_i = n w_i f_i have mean `total`; standard error of that mean
            var = (square * n - total**2) / (n - 1)
            errors[name] = np.sqrt(np.maximum(var, 0.0)) * abs(factor)
        elif settings.error_estimate == "embedded":
            errors[name] = _errors.embedded_errors(plan, results["base"][0], name, phase_rad) * abs(factor)
        elif settings.error_estimate:
            errors[name] = _errors.doubling_errors(results, name) * abs(factor)
        else:
            errors[name] = np.full_like(total, np.nan)
    return values, errors


def _provenance(ensemble, plan, settings, scale, elapsed):
    """The JSON-serialisable ``info`` of an :class:`EnsembleResult`: how it was obtained."""
    _, base_nodes, base_rule = plan[0]
    how = _errors.describe(plan, settings)
    info = {
        "method": settings.method,
        "level": settings.level,
        "error_estimate": how,
        "n_parameter_nodes": int(len(base_nodes)),
        "n_orientations": 0 if base_rule is None else int(len(base_rule.weights)),
        "orientation_rule": "none" if base_rule is None else base_rule.kind,
        "spectra_per_field": int(sum(len(n) * (1 if r is None else len(r.weights)) for _, n, r in plan)),
        "system": ensemble.system.kind,
        "distribution": ensemble.distribution.describe(),
        "density_per_g": float(ensemble.density_per_g),
        "energy_scale_K": float(scale),
        "elapsed_s": float(elapsed),
    }
    if settings.method != "quadrature":
        info["samples"] = int(settings.samples)
        info["seed"] = int(settings.seed)
    td = ensemble.temperature_dependence
    if td is not None:
        info.update({k: v for k, v in td.describe().items() if k != "law"})
        if td.law == "eq16":
            info["temperature_law"] = "eq16"
        info["thermodynamics_with_temperature_dependence"] = _FROZEN_NOTE
    return info
