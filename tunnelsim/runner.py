"""Run a validated simulation config: build the ensemble, average, write the result set.

:func:`build_ensemble` turns a :class:`~tunnelsim.config.SimulationConfig` into the objects
of :mod:`tunnelsim.ensemble`; :func:`run` computes the observables (and the analytic ETM
magnetisations the config asks for, from :mod:`tunnelsim.etm`); :func:`run_to_file` also
writes the HDF5 result set and a quick-look PNG next to it.

Problems with the config's content found here (a distribution rejecting its cutoffs, an
unknown quadrature axis, an analytic output this version cannot compute, an Eq. 15 scaling that
overflows) raise :class:`~tunnelsim.config.ConfigError` naming the file and key, before any
computing.

Bounded resources (:func:`run_to_file`): before anything is built or written, the output paths
are checked (not a directory, not the config file itself, the directory writable, the disk
large enough) and the run's memory and time are estimated (:mod:`tunnelsim.resources`); a run
that cannot fit in :data:`tunnelsim.resources.MEMORY_FRACTION` of the available memory is
refused naming the config key that dominates. The (T, B) grid is then computed in blocks of
temperatures, each written into datasets created at full size
(:class:`tunnelsim.results.ResultSetWriter`), so memory stays bounded whatever the grid; every
block uses the one quadrature plan of the whole grid, so the values equal those of
:func:`run` (to rounding: the order of the node sums can differ, about 1e-16 relative).
Dielectric observables (:data:`tunnelsim.dielectric.ensemble.OBSERVABLES`, configured in
``[dielectric]``) are computed by :func:`tunnelsim.dielectric.ensemble.permittivity_map` for the
ensemble of ``[system]``/``[distribution]`` with the same averaging settings and orientation rule,
plus the STM background of ``[dielectric.stm]`` when given (:func:`~tunnelsim.dielectric.ensemble.sum_maps`:
values and errors add); ``output.analytic = ["etm"]`` adds the ETM's effective two-level prediction
``<observable>_etm`` (:func:`tunnelsim.dielectric.etm.permittivity_map_etm`, same quadrature, the
same STM background added). They are computed for the whole grid at once, serially (the executor
parallelises the magnetic and thermal observables only), and are not part of the resource estimate's
time.
The result set and its quick-look PNG are written as one unit
(:func:`tunnelsim._atomic.atomic_outputs`): both carry the same ``run_id`` (a root attribute of
the result set, a text entry of the PNG), and concurrent runs to one path leave a matching pair.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import distributions, ensemble, resources
from ._atomic import atomic_outputs, check_output_path
from .config import ConfigError
from .systems import make_system
from .temperature_dependence import check_ratio_range

__all__ = ["RunOutput", "build_ensemble", "estimate_resources", "run", "run_to_file"]

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
#: dielectric analytic output -> what it is, for the dataset's long_name
_DIELECTRIC_ANALYTIC_DESCRIPTIONS = {"etm": "ETM effective 2LS"}


@dataclass(frozen=True)
class RunOutput:
    """Where :func:`run_to_file` wrote its output.

    Attributes
    ----------
    result_path : pathlib.Path
        The HDF5 result set.
    plot_path : pathlib.Path or None
        The quick-look PNG, or None when the config turns plotting off.
    run_id : str
        The id both files carry (root attribute ``run_id``, PNG text ``tunnelsim_run_id``).
    estimate : tunnelsim.resources.ResourceEstimate or None
        The resources estimated before the run.
    """

    result_path: Path
    plot_path: Path | None
    run_id: str = field(default="", compare=False)
    estimate: object = field(default=None, compare=False, repr=False)


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
    ens, settings = _ensemble_and_settings(cfg)
    return ens, ensemble.default_orientation_rule(ens.system, settings), settings


def _ensemble_and_settings(cfg):
    """:func:`build_ensemble` without the orientation rule (nothing of size is built)."""
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
    return ens, settings


def _grid(cfg):
    return np.asarray(cfg.grid.temperature_K, dtype=float), np.asarray(cfg.grid.field_T, dtype=float)


def _check_temperature_dependence(cfg, T):
    """Eq. 15 or 16 over the grid: parameters scaled by ``r`` must stay representable, and Eq. 16's
    ``1 - gamma exp(E0/T)`` positive (ConfigError naming the key)."""
    tdc = cfg.temperature_dependence
    if tdc is None:
        return
    from .units import DEFAULT_T0_K

    T0 = DEFAULT_T0_K if tdc.T0_K is None else tdc.T0_K
    if tdc.delta_mu_K is None:
        from .temperature_dependence import tunnelling_number_ratio_activated

        try:
            with np.errstate(over="ignore"):
                tunnelling_number_ratio_activated(T, tdc.gamma, tdc.E0_K, T0)
        except ValueError as exc:
            raise _config_error(cfg, "temperature_dependence.gamma", exc) from None
        return
    try:
        check_ratio_range(T, tdc.delta_mu_K, T0)
    except ValueError as exc:
        # a reference temperature far below the grid is the odd value; otherwise delta_mu is too large
        key = "T0_K" if tdc.T0_K is not None and tdc.T0_K < 0.1 * float(np.min(T)) else "delta_mu_K"
        raise _config_error(cfg, f"temperature_dependence.{key}", exc) from None


def estimate_resources(cfg, block_bytes=resources.BLOCK_BYTES):
    """Memory and time of a config's run, before anything is built (:func:`tunnelsim.resources.estimate_run`).

    Parameters
    ----------
    cfg : SimulationConfig
    block_bytes : int, optional
        Budget of one temperature block (:data:`tunnelsim.resources.BLOCK_BYTES`).

    Returns
    -------
    tunnelsim.resources.ResourceEstimate

    Raises
    ------
    ConfigError
        If the config is rejected by the library (as :func:`build_ensemble`).
    """
    T, B = _grid(cfg)
    _check_temperature_dependence(cfg, T)
    ens, settings = _ensemble_and_settings(cfg)
    try:
        n_analytic = (len(cfg.output.analytic) if _split_observables(cfg)[0] else 0) + len(_dielectric_layout(cfg))
        return resources.estimate_run(ens, settings, T, B, cfg.output.observables, n_analytic,
                                      block_bytes=block_bytes)
    except ValueError as exc:
        raise _config_error(cfg, "averaging", exc) from None


def _dielectric_observables():
    from .dielectric.echo_map import ECHO_OBSERVABLES
    from .dielectric.ensemble import OBSERVABLES

    return {**OBSERVABLES, **ECHO_OBSERVABLES}


def _echo_names(names):
    from .dielectric.echo_map import ECHO_OBSERVABLES

    return tuple(n for n in names if n in ECHO_OBSERVABLES)


def _split_observables(cfg):
    """``(magnetic and thermal, dielectric)`` observable names of the config, in its order."""
    dielectric = _dielectric_observables()
    names = tuple(dict.fromkeys(cfg.output.observables))
    return tuple(n for n in names if n not in dielectric), tuple(n for n in names if n in dielectric)


def _dielectric_analytic(cfg):
    """The analytic outputs with a dielectric form the config asks for (none without dielectric observables)."""
    if not _split_observables(cfg)[1]:
        return ()
    return tuple(name for name in cfg.output.analytic if name in _DIELECTRIC_ANALYTIC_DESCRIPTIONS)


def _dielectric_layout(cfg):
    """``{name: (units, long_name)}`` of the dielectric datasets, exact then analytic."""
    table = _dielectric_observables()
    wanted = _split_observables(cfg)[1]
    layout = {name: table[name] for name in wanted}
    for analytic in _dielectric_analytic(cfg):
        for name in wanted:
            if name in _echo_names(wanted):
                continue  # the ETM has no echo form
            layout[f"{name}_{analytic}"] = (table[name][0],
                                            f"{table[name][1]}, {_DIELECTRIC_ANALYTIC_DESCRIPTIONS[analytic]}")
    return layout


def _dielectric_outputs(cfg, ens, rule, settings, T, B):
    """Dielectric values, errors and provenance on the whole grid (module docstring).

    Returns
    -------
    values, errors : dict of str to numpy.ndarray, shape (nT, nB)
        The names of :func:`_dielectric_layout`; errors are NaN where none is estimated.
    info : dict
    """
    import dataclasses

    from .dielectric.ensemble import permittivity_map, sum_maps
    from .dielectric.etm import permittivity_map_etm

    dielectric = _split_observables(cfg)[1]
    echo_names = _echo_names(dielectric)
    wanted = tuple(n for n in dielectric if n not in echo_names)
    dc = cfg.dielectric
    values, errors, info = {}, {}, {"dielectric": {"relative_permittivity": dc.relative_permittivity,
                                                   "mass_density_g_cm3": dc.mass_density_g_cm3,
                                                   "dipole_moment_D": dc.dipole_moment_D}}
    if echo_names:
        from .dielectric.echo_map import echo_map

        try:
            e_values, e_errors = echo_map(ens.distribution, T, B, dc.echo, density_per_g=ens.density_per_g,
                                          dipole_moment_D=dc.dipole_moment_D, charge_area_A2=cfg.system.charge_area_A2,
                                          error_estimate=settings.method == "quadrature" and bool(settings.error_estimate))
        except ValueError as exc:
            raise _config_error(cfg, "dielectric.echo", exc) from None
        values.update(e_values)
        errors.update(e_errors)
        info["dielectric_echo"] = dataclasses.asdict(dc.echo)
    if not wanted:
        return values, errors, info
    try:
        dsettings = dc.settings()
    except ValueError as exc:
        raise _config_error(cfg, "dielectric", exc) from None
    common = dict(observables=wanted)
    ats_info = {}
    try:
        main = permittivity_map(cfg.system.kind, ens.distribution, T, B, dsettings, density_per_g=ens.density_per_g,
                                dipole_moment_D=dc.dipole_moment_D, charge_area_A2=cfg.system.charge_area_A2,
                                averaging=settings, orientations=rule, info=ats_info, **common)
    except ValueError as exc:
        raise _config_error(cfg, "dielectric", exc) from None
    info["dielectric"].update(ats_info)
    background = None
    if dc.stm is not None:
        stm_info = {}
        # the STM box has its own axes (delta, delta0): node counts given for [distribution] do not apply
        stm_settings = dataclasses.replace(settings, nodes=None)
        try:
            stm = distributions.STMDistribution(delta_max_K=dc.stm.delta_max_K, delta0_min_K=dc.stm.delta0_min_K,
                                                delta0_max_K=dc.stm.delta0_max_K)
            background = permittivity_map("two_level", stm, T, B, dsettings, density_per_g=dc.stm.density_per_g,
                                          dipole_moment_D=dc.stm.dipole_moment_D, averaging=stm_settings,
                                          info=stm_info, **common)
        except ValueError as exc:
            raise _config_error(cfg, "dielectric.stm", exc) from None
        info["dielectric_stm"] = {**stm_info, "density_per_g": dc.stm.density_per_g,
                                  "dipole_moment_D": dc.stm.dipole_moment_D}
    p_values, p_errors = main if background is None else sum_maps(main, background)
    values.update(p_values)
    errors.update(p_errors)
    for analytic in _dielectric_analytic(cfg):
        try:
            etm_map = permittivity_map_etm(ens.distribution, T, B, dsettings, density_per_g=ens.density_per_g,
                                           dipole_moment_D=dc.dipole_moment_D,
                                           charge_area_A2=cfg.system.charge_area_A2, averaging=settings,
                                           orientations=rule, **common)
        except ValueError as exc:
            raise _config_error(cfg, f"output.analytic ({analytic})", exc) from None
        etm_values, etm_errors = etm_map if background is None else sum_maps(etm_map, background)
        for name in wanted:
            values[f"{name}_{analytic}"] = etm_values[name]
            errors[f"{name}_{analytic}"] = etm_errors[name]  # NaN where no estimate was made
        info["dielectric"]["analytic"] = list(_dielectric_analytic(cfg))
    return values, errors, info


def _analytic_function(cfg):
    """``tunnelsim.etm.analytic_magnetization`` if the config needs it and it exists."""
    if not cfg.output.analytic or not _split_observables(cfg)[0]:
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
        ``magnetization_<name>`` in emu/g (its error estimate all NaN: none is made) when a
        magnetic or thermal observable is asked for, ``<dielectric observable>_etm`` (with the
        quadrature's error estimate) when a dielectric one is.
    """
    function = _analytic_function(cfg)
    resources.check_fits(estimate_resources(cfg), cfg.source)
    ens, rule, settings = build_ensemble(cfg)
    T, B = _grid(cfg)
    magnetic, dielectric = _split_observables(cfg)
    if magnetic:
        result = ensemble.compute(
            ens, T, B, observables=magnetic, settings=settings, orientations=rule, progress=progress,
            executor=executor,
        )
    else:
        result = ensemble.EnsembleResult(T, B, {}, {}, {}, {}, {})
    if function is None and not dielectric:
        return result
    values, errors = dict(result.values), dict(result.errors)
    units, long_names = dict(result.units), dict(result.long_names)
    info = dict(result.info)
    if function is not None:
        for key, (value, description) in _analytic_outputs(cfg, ens, function, T, B).items():
            values[key] = value
            errors[key] = np.full(value.shape, np.nan)
            units[key] = _ANALYTIC_UNITS
            long_names[key] = f"magnetisation per gram, {description}"
        info["analytic"] = list(cfg.output.analytic)
    if dielectric:
        d_values, d_errors, d_info = _dielectric_outputs(cfg, ens, rule, settings, T, B)
        for key, (unit, long_name) in _dielectric_layout(cfg).items():
            values[key], errors[key] = d_values[key], d_errors[key]
            units[key], long_names[key] = unit, long_name
        info.update(d_info)
    return ensemble.EnsembleResult(result.temperature_K, result.field_T, values, errors, units, long_names, info)


def _plot_path(path):
    plot_path = path.with_suffix(".png")
    return path.with_name(path.name + ".png") if plot_path == path else plot_path


def _check_outputs(cfg, path, plot_path, force, estimate):
    """Output checks made before anything is computed (module docstring)."""
    protected = [] if cfg.source.startswith("<") else [cfg.source]
    check_output_path(path, force, "result set", protected)
    if plot_path is not None:
        check_output_path(plot_path, True, "plot", protected)
    existing = path.parent
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    try:
        free = shutil.disk_usage(existing).free
    except OSError:
        return
    if estimate.file_bytes > free:
        raise OSError(f"{path}: the result set needs an estimated {resources.format_bytes(estimate.file_bytes)}, "
                      f"more than the {resources.format_bytes(free)} free on its file system")


def _blocks(cfg, ens, rule, settings, T, B, rows, progress, executor):
    """Compute the grid in blocks of ``rows`` temperatures (:func:`tunnelsim.ensemble.compute_blocks`):
    yields ``(start, values, errors)``, then the info."""
    return ensemble.compute_blocks(ens, T, B, _split_observables(cfg)[0], settings, rule, rows, progress, executor)


def _observable_layout(cfg, ens, settings):
    """``{name: (units, long_name)}`` and the names with error estimates, as :func:`run` returns them."""
    td = ens.temperature_dependence
    layout, with_error = {}, []
    magnetic, dielectric = _split_observables(cfg)
    for name in magnetic:
        units, long_name = ensemble.OBSERVABLES[name]
        if td is not None and name in ensemble._FROZEN:
            long_name += ensemble._FROZEN_SUFFIX
        layout[name] = (units, long_name)
        if settings.method != "quadrature" or settings.error_estimate:
            with_error.append(name)
    for name in cfg.output.analytic if magnetic else ():
        layout[f"magnetization_{name}"] = (_ANALYTIC_UNITS, f"magnetisation per gram, {_ANALYTIC_DESCRIPTIONS[name]}")
    if dielectric:
        dielectric_layout = _dielectric_layout(cfg)
        layout.update(dielectric_layout)
        with_error.extend(dielectric_layout)  # all-NaN error datasets are dropped by the writer
    return layout, with_error


def run_to_file(cfg, out_path=None, force=False, command=None, progress=None, executor=None, on_estimate=None,
                block_bytes=resources.BLOCK_BYTES):
    """Run a config and write its result set (and quick-look plot), streaming the grid.

    Everything is checked before anything is computed or written: the config (as for
    :func:`run`), the output paths and the resources (module docstring).

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
    on_estimate : callable, optional
        Called with the :class:`tunnelsim.resources.ResourceEstimate` once it is known and
        accepted, before computing (the command line prints it).
    block_bytes : int, optional
        Budget of one temperature block's running sums (:data:`tunnelsim.resources.BLOCK_BYTES`).

    Returns
    -------
    RunOutput
        The result-set path, the PNG path (``<result stem>.png`` next to it, or None if
        ``output.plot`` is false; the PNG is a view of the new result and is replaced), the run id
        both files carry and the resource estimate.

    Raises
    ------
    FileExistsError
        If the result set exists and ``force`` is false.
    IsADirectoryError, PermissionError, ValueError, OSError
        If an output path is a directory, not writable, the config file itself, or too large for
        the disk.
    ConfigError
        If the config is invalid or the run cannot fit in memory.
    """
    import h5py

    path = Path(out_path) if out_path is not None else Path(cfg.output.path)
    plot_path = _plot_path(path) if cfg.output.plot else None
    function = _analytic_function(cfg)
    estimate = estimate_resources(cfg, block_bytes)
    _check_outputs(cfg, path, plot_path, force, estimate)
    resources.check_fits(estimate, cfg.source)
    ens, rule, settings = build_ensemble(cfg)
    if on_estimate is not None:
        on_estimate(estimate)
    T, B = _grid(cfg)
    layout, with_error = _observable_layout(cfg, ens, settings)
    run_id = uuid.uuid4().hex
    targets = [(path, "result set")] + ([(plot_path, "plot")] if plot_path is not None else [])
    with atomic_outputs(targets, force) as temporaries:
        from .results import ResultSetWriter

        with h5py.File(temporaries[0], "w", track_order=True) as h5file:
            writer = ResultSetWriter(h5file, T, B, layout, with_error, chunk_rows=estimate.block_rows)
            magnetic, dielectric = _split_observables(cfg)
            blocks = _blocks(cfg, ens, rule, settings, T, B, estimate.block_rows, progress, executor) if magnetic \
                else iter([(None, {}, None)])
            for start, values, errors in blocks:
                if start is None:
                    info = values
                    break
                T_block = T[start:start + next(iter(values.values())).shape[0]]
                if function is not None:
                    for key, (value, _) in _analytic_outputs(cfg, ens, function, T_block, B).items():
                        values[key] = value
                writer.write_block(start, values, errors)
            if function is not None:
                info = {**info, "analytic": list(cfg.output.analytic)}
            if dielectric:
                d_values, d_errors, d_info = _dielectric_outputs(cfg, ens, rule, settings, T, B)
                writer.write_block(0, d_values, d_errors)
                info = {**info, **d_info}
            info.update(run_id=run_id, estimated_memory_bytes=estimate.memory_bytes,
                        estimated_time_s=round(estimate.time_s, 6))
            writer.finish(info=info, config=cfg, command=command)
        if plot_path is not None:
            from .plotting import save_quicklook

            save_quicklook(temporaries[0], temporaries[1], format="png", metadata={"tunnelsim_run_id": run_id},
                           atomic=False)
    return RunOutput(path, plot_path, run_id, estimate)


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
