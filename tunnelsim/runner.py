"""Run a validated simulation config: build the ensemble, average, write the result set.

:func:`build_ensemble` turns a :class:`~tunnelsim.config.SimulationConfig` into the objects
of :mod:`tunnelsim.ensemble`; :func:`run` computes the observables (and the analytic ETM
magnetisations the config asks for, from :mod:`tunnelsim.etm`); :func:`run_to_file` also
writes the HDF5 result set and a quick-look PNG next to it.

Problems with the config's content found here (a distribution rejecting its cutoffs, an
unknown quadrature axis, an analytic output this version cannot compute) raise
:class:`~tunnelsim.config.ConfigError` naming the file and key, before any computing.
"""

from __future__ import annotations

import contextlib

import importlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import distributions, ensemble
from .config import ConfigError
from .results import write_result
from .systems import make_system

__all__ = ["RunOutput", "build_ensemble", "run", "run_to_file"]

_DISTRIBUTIONS = {
    "stm": distributions.STMDistribution,
    "standard": distributions.StandardThreeLevelDistribution,
    "ats": distributions.ATSDistribution,
    "four_well_ats": distributions.FourWellATSDistribution,
}
#: analytic output -> what it is, for the dataset's long_name
_ANALYTIC_DESCRIPTIONS = {
    "etm": "analytic ETM, Eq. 10",
    "etm_high_field": "analytic ETM with the Eq. 11 high-field gap",
    "etm_shortcut": "analytic ETM with the Eq. 11 shortcut prefactor",
}
_ANALYTIC_UNITS = ensemble.OBSERVABLES["magnetization"][0]


@dataclass(frozen=True)
class RunOutput:
    """Where :func:`run_to_file` wrote its output.

    Attributes
    ----------
    result_path : pathlib.Path
        The HDF5 result set.
    plot_path : pathlib.Path or None
        The quick-look PNG, or None when the config turns plotting off.
    """

    result_path: Path
    plot_path: Path | None


def _config_error(cfg, key, exc):
    return ConfigError(f"{cfg.source}: {key}: {exc}")


def build_ensemble(cfg):
    """The ensemble, orientation rule and averaging settings a config describes.

    Parameters
    ----------
    cfg : SimulationConfig

    Returns
    -------
    ensemble : tunnelsim.ensemble.Ensemble
    orientations : OrientationRule or None
        Planar rule for three-level systems (``orientation_nodes``), sphere rule for
        four-well systems (``sphere_degree``), None for two-level systems.
    settings : tunnelsim.ensemble.AveragingSettings

    Raises
    ------
    ConfigError
        If the library rejects a value of the config.
    """
    sc, dc = cfg.system, cfg.distribution
    try:
        system = make_system(sc.kind, sc.charge_area_A2, sc.vertices, solver=sc.solver)
    except ValueError as exc:
        raise _config_error(cfg, "system", exc) from None
    parameters = dict(dc.parameters)
    if dc.kind == "four_well_ats" and sc.vertices is not None:
        # the default direction rule integrates one symmetry chamber of the regular tetrahedron;
        # a custom geometry has no such symmetry, so the whole sphere of asymmetry directions is used
        parameters["direction_rule"] = "full"
    try:
        distribution = _DISTRIBUTIONS[dc.kind](**parameters)
    except ValueError as exc:
        raise _config_error(cfg, "distribution", exc) from None
    try:
        settings = ensemble.AveragingSettings(**cfg.averaging.settings_kwargs())
    except ValueError as exc:
        raise _config_error(cfg, "averaging", exc) from None
    for axis in settings.nodes or {}:
        if axis not in distribution.default_nodes:
            expected = ", ".join(sorted(distribution.default_nodes))
            message = f"unknown axis for distribution kind {dc.kind!r}; expected one of {expected}"
            raise _config_error(cfg, f"averaging.nodes.{axis}", message)
    td = None
    if cfg.temperature_dependence is not None:
        tdc = cfg.temperature_dependence
        kwargs = {} if tdc.T0_K is None else {"T0_K": tdc.T0_K}
        try:
            td = ensemble.TemperatureDependence(tdc.delta_mu_K, gamma=tdc.gamma, E0_K=tdc.E0_K, **kwargs)
        except ValueError as exc:
            raise _config_error(cfg, "temperature_dependence", exc) from None
    try:
        ens = ensemble.Ensemble(system, distribution, dc.density_per_g, td)
    except ValueError as exc:
        raise _config_error(cfg, "distribution", exc) from None
    return ens, ensemble.default_orientation_rule(system, settings), settings


def _analytic_function(cfg):
    """``tunnelsim.etm.analytic_magnetization`` if the config needs it and it exists."""
    if not cfg.output.analytic:
        return None
    try:
        etm = importlib.import_module(f"{__package__}.etm")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.etm":
            raise
        etm = None
    function = getattr(etm, "analytic_magnetization", None)
    if function is None:
        raise ConfigError(
            f"{cfg.source}: output.analytic: {cfg.output.analytic[0]!r} is unavailable: "
            f"this version of tunnelsim has no tunnelsim.etm.analytic_magnetization"
        )
    return function


def _analytic_outputs(cfg, ens, function, T, B):
    """The analytic magnetisations ``magnetization_<name>`` of the config, (nT, nB) emu/g."""
    dist = ens.distribution
    td = ens.temperature_dependence
    kwargs = {
        "D_min_K": dist.D_min_K,
        "D0_min_K": dist.D0_min_K,
        "D0_max_K": dist.D0_max_K,
        "charge_area_A2": ens.system.charge_area_A2,
        "amplitude_per_g": ens.density_per_g * dist.amplitude,
    }
    if td is not None and td.law == "eq15":
        kwargs.update(delta_mu_K=td.delta_mu_K, T0_K=td.T0_K)
    elif td is not None:  # Eq. 16: the ratio itself
        kwargs.update(tunnelling_ratio=td.ratio(T))
    outputs = {}
    for name in cfg.output.analytic:
        try:
            value = np.asarray(function(name, T, B, **kwargs), dtype=float)
        except ValueError as exc:
            raise _config_error(cfg, f"output.analytic ({name})", exc) from None
        if value.shape != (T.size, B.size):
            raise RuntimeError(f"tunnelsim.etm.analytic_magnetization({name!r}) returned shape {value.shape}, "
                               f"expected {(T.size, B.size)}")
        outputs[f"magnetization_{name}"] = (value, _ANALYTIC_DESCRIPTIONS[name])
    return outputs


def run(cfg, progress=None, executor=None):
    """Compute what a config asks for.

    Parameters
    ----------
    cfg : SimulationConfig
    progress : object, optional
        Progress sink with ``reset(total=int)`` and ``update(n)`` (a ``tqdm`` bar works).
    executor : concurrent.futures.Executor, optional
        Runs the ensemble's (rule, field) tasks in parallel (see :func:`tunnelsim.ensemble.compute`);
        the result is identical to the serial run.

    Returns
    -------
    tunnelsim.ensemble.EnsembleResult
        The observables of ``output.observables`` and, for each ``output.analytic`` entry,
        ``magnetization_<name>`` in emu/g (its error estimate all NaN: none is made).
    """
    function = _analytic_function(cfg)
    ens, rule, settings = build_ensemble(cfg)
    T = np.asarray(cfg.grid.temperature_K, dtype=float)
    B = np.asarray(cfg.grid.field_T, dtype=float)
    result = ensemble.compute(
        ens, T, B, observables=cfg.output.observables, settings=settings, orientations=rule, progress=progress,
        executor=executor,
    )
    if function is None:
        return result
    values, errors = dict(result.values), dict(result.errors)
    units, long_names = dict(result.units), dict(result.long_names)
    for key, (value, description) in _analytic_outputs(cfg, ens, function, T, B).items():
        values[key] = value
        errors[key] = np.full(value.shape, np.nan)
        units[key] = _ANALYTIC_UNITS
        long_names[key] = f"magnetisation per gram, {description}"
    info = {**result.info, "analytic": list(cfg.output.analytic)}
    return ensemble.EnsembleResult(result.temperature_K, result.field_T, values, errors, units, long_names, info)


def run_to_file(cfg, out_path=None, force=False, command=None, progress=None, executor=None):
    """Run a config and write its result set (and quick-look plot).

    The output path is checked before anything is computed.

    Parameters
    ----------
    cfg : SimulationConfig
    out_path : str or os.PathLike, optional
        Result-set path (default ``cfg.output.path``, relative to the working directory).
    force : bool
        Replace an existing result set.
    command : str, optional
        Command line recorded in the result set.
    progress, executor : object, optional
        As for :func:`run`.

    Returns
    -------
    RunOutput
        The result-set path and the PNG path (``<result stem>.png`` next to it, or None if
        ``output.plot`` is false). The PNG is a view of the new result and is replaced.

    Raises
    ------
    FileExistsError
        If the result set exists and ``force`` is false.
    """
    path = Path(out_path) if out_path is not None else Path(cfg.output.path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory; give a file name for the result set")
    if path.exists() and not force:
        raise FileExistsError(f"{path}: result set exists; use force (--force) to replace it")
    result = run(cfg, progress=progress, executor=executor)
    write_result(path, result, config=cfg, command=command, force=force)
    plot_path = None
    if cfg.output.plot:
        from .plotting import save_quicklook

        plot_path = path.with_suffix(".png")
        if plot_path == path:
            plot_path = path.with_name(path.name + ".png")
        plot_path = save_quicklook(path, plot_path)
    return RunOutput(path, plot_path)


@contextlib.contextmanager
def dask_executor(workers=None, scheduler=None):
    """A ``dask.distributed`` executor for :func:`run`, or None for the serial default.

    Parameters
    ----------
    workers : int, optional
        Start a local cluster of this many single-threaded worker processes.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (``tcp://host:8786``).

    Yields
    ------
    concurrent.futures.Executor or None
    """
    if workers is None and scheduler is None:
        yield None
        return
    if workers is not None and scheduler is not None:
        raise ValueError("give either workers or scheduler, not both")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("parallel runs need dask.distributed: pip install 'tunnelsim[distributed]'") from None
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(Client(scheduler))
        else:
            if workers < 1:
                raise ValueError(f"workers must be >= 1, got {workers}")
            cluster = stack.enter_context(
                LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            )
            client = stack.enter_context(Client(cluster))
        yield client.get_executor()
