"""What a run will cost, known before it starts: memory and a rough time, and the refusal of what cannot fit.

:func:`estimate_run` turns a config (and the ensemble it describes, built without any nodes) into a
:class:`ResourceEstimate`: the node counts of every rule :func:`tunnelsim.ensemble.compute` will
evaluate (read from the distribution's ``node_counts`` and the orientation settings, not built), the
number of temperature blocks the runner streams the (T, B) grid in, the peak memory (numpy arrays,
as :mod:`tracemalloc` sees them) and a rough wall time. :func:`check_fits` refuses an estimate above
:data:`MEMORY_FRACTION` of the available memory (``MemAvailable`` of ``/proc/meminfo``, else
``os.sysconf``) with a one-line :class:`~tunnelsim.config.ConfigError` naming the config key that
dominates and the estimate.

The model of the memory, per component (bytes):

* ``nodes``: every node set of the plan is held at once (the base rule and, for the doubling
  error estimate, one rule per axis with that axis doubled; for the default embedded estimate the
  one Gauss-Kronrod rule with two sub-rule weights per axis, and its weight matrix): ``8 x floats
  per node`` (parameters and weights) each, plus the construction peak of the largest set
  (:data:`_BUILD_FACTOR`, measured with tracemalloc for each distribution kind; Sobol sampling
  more, :data:`_QMC_FACTOR`);
* ``orientations``: the Gauss-Legendre rule of ``n`` nodes builds an ``n x n`` companion matrix;
* ``working``: one chunk of nodes in :func:`tunnelsim.ensemble._accumulate` (embedded:
  :func:`tunnelsim.error_estimates.accumulate_embedded`), at most the ``max_memory_bytes`` of the
  averaging settings;
* ``grid``: the running sums of one temperature block for every rule and observable, the values
  and error estimates of the block, and the coordinate axes.

The time model is ``spectra x (t_spectrum + t_temperature x temperatures per spectrum)`` with
per-solver constants measured on the shared two-core machine of ``benchmarks/README.md``;
it is good to a factor of about three and is printed as such.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MEMORY_FRACTION",
    "ResourceEstimate",
    "available_memory_bytes",
    "block_rows",
    "check_fits",
    "estimate_run",
    "format_bytes",
]

#: A run may use at most this fraction of the memory available when it starts.
MEMORY_FRACTION = 0.5
#: Memory the interpreter and the libraries of a run take besides its arrays (resident set).
BASELINE_BYTES = 300 * 2**20
#: Budget of the running sums of one temperature block (the grid is streamed in such blocks).
BLOCK_BYTES = 64 * 2**20
#: Peak while building a quadrature rule, relative to the nodes it holds (tracemalloc, all kinds).
_BUILD_FACTOR = 2.2
#: The same for scrambled Sobol samples (the engine keeps its own copy of the points).
_QMC_FACTOR = 10.0
#: Floats per node: parameters and weight, by distribution kind.
_FLOATS_PER_NODE = {"stm": 3, "standard": 7, "ats": 7, "four_well_ats": 10}
#: Cost of the further weight rows of the one-pass embedded estimate, relative to the temperature
#: loop of one pass (three-level sums with 10 node and 3 orientation rows: 1.19, single thread).
_EMBEDDED_ROW_COST = 1.2
#: Seconds per spectrum and per (spectrum, temperature), by solver path.
_SECONDS = {
    "fast": (1.0e-7, 6.0e-9),
    "fast_four_well": (5.0e-7, 6.0e-9),
    "numpy": (2.0e-6, 6.0e-8),
}


@dataclass(frozen=True)
class ResourceEstimate:
    """The cost of a run, before it starts.

    Attributes
    ----------
    n_nodes : int
        Parameter nodes of the base rule (or samples).
    n_nodes_total : int
        Nodes of every rule the plan evaluates (base and error-estimate rules).
    n_orientations : int
        Orientations of the base rule (0 for two-level systems).
    n_temperatures, n_fields : int
    block_rows : int
        Temperatures per block of the streamed grid.
    memory_bytes : int
        Estimated peak of the run's arrays.
    components : dict of str to int
        ``nodes``, ``orientations``, ``working``, ``grid`` (module docstring).
    keys : dict of str to str
        The config key each component answers to.
    time_s : float
        Rough wall time (a factor of about three either way).
    file_bytes : int
        Size of the result set on disk.
    """

    n_nodes: int
    n_nodes_total: int
    n_orientations: int
    n_temperatures: int
    n_fields: int
    block_rows: int
    memory_bytes: int
    components: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)
    time_s: float = 0.0
    file_bytes: int = 0

    @property
    def dominant_key(self):
        """The config key of the largest memory component."""
        name = max(self.components, key=self.components.get)
        return self.keys[name]

    def describe(self):
        """One line: nodes, grid, memory and time."""
        orient = f" x {self.n_orientations} orientations" if self.n_orientations else ""
        blocks = math.ceil(self.n_temperatures / self.block_rows)
        streamed = f" in {blocks} temperature blocks" if blocks > 1 else ""
        return (f"{self.n_nodes} nodes{orient} on {self.n_temperatures} x {self.n_fields} (T, B){streamed}; "
                f"estimated memory {format_bytes(self.memory_bytes)}, time ~{_format_seconds(self.time_s)}")


def format_bytes(n_bytes):
    """``n_bytes`` in B, KiB, MiB, GiB, TiB or PiB, three significant digits."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024:
            return f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} PiB"


def _format_seconds(seconds):
    if seconds < 120:
        return f"{seconds:.2g} s"
    if seconds < 7200:
        return f"{seconds / 60:.2g} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.2g} h"
    return f"{seconds / 86400:.2g} days"


def available_memory_bytes():
    """Memory available to a new run: ``MemAvailable`` of ``/proc/meminfo``, else ``os.sysconf``; None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def block_rows(n_temperatures, row_bytes, budget_bytes=BLOCK_BYTES):
    """Temperatures per block so that one block's running sums stay within ``budget_bytes``."""
    return int(max(1, min(n_temperatures, budget_bytes // max(int(row_bytes), 1))))


def _embedded(settings):
    """Whether the plan uses embedded (Gauss-Kronrod) rules: the one-pass error estimate."""
    return settings.method == "quadrature" and settings.error_estimate in (True, "embedded")


def _kronrod(n):
    """Nodes of the Gauss-Kronrod rule that replaces an ``n``-point Gauss rule (``2 m + 1``, ``m = max(1, n // 2)``)."""
    return 2 * max(1, n // 2) + 1


def _two_ended(n, embedded):
    """Nodes of the rule clustered at both ends (``alpha``, chamber coordinates): two halves."""
    half = (n + 1) // 2
    return 2 * (_kronrod(half) if embedded else half)


#: Axes whose embedded rule is two Gauss-Kronrod pieces, each with its own null rules (the alpha
#: and chamber rules, :meth:`tunnelsim.distributions.base.Distribution.quadrature`).
_TWO_PIECE_AXES = ("alpha", "direction")


def _embedded_rows(counts):
    """Sub-rule rows (``G``, ``L`` and the null rules, at most ``NULL_RULES`` per piece) of the
    embedded node rule, from its axis counts, not built."""
    from .distributions.rules import NULL_RULES

    return sum(2 + (2 if axis in _TWO_PIECE_AXES else 1) * min(NULL_RULES, 2 * max(1, int(n) // 2))
               for axis, n in counts.items())


def _embedded_orientation_rows(kind, settings):
    """Sub-rule rows of the embedded orientation rule, not built (planar: ``G``, ``L`` and every null
    rule up to the harmonic reading's size; sphere: polar ``G``, ``L`` and its null rules, two azimuth rows)."""
    from .distributions.rules import NULL_RULES
    from .harmonic_errors import HARMONIC_MAX_NODES

    if kind == "planar":  # as tunnelsim.orientations._embedded_planar
        m = max(1, (settings.orientation_nodes or 8) // 2)
        return 2 + (2 * m if 2 * m + 1 <= HARMONIC_MAX_NODES else min(NULL_RULES, 2 * m))
    if kind == "sphere":
        return 4 + NULL_RULES
    return 0


def _orientation_count(kind, settings, refined=False):
    """Orientations of the default rule (:func:`tunnelsim.ensemble.default_orientation_rule`), not built."""
    embedded = _embedded(settings)
    if kind == "planar":
        n = settings.orientation_nodes or 8
        if embedded:
            return _kronrod(n)
        return 2 * n if refined else n
    if kind == "sphere":
        degree = settings.sphere_degree or 11
        if refined:
            degree = 2 * degree + 1
        polar, azimuth = math.ceil((degree + 1) / 2), degree + 1
        if embedded:  # Kronrod in the polar angle; azimuth sub-rules on every second and fourth point
            polar, azimuth = _kronrod(polar), 4 * math.ceil(azimuth / 4)
        return polar * azimuth
    return 0


def _orientation_bytes(kind, settings):
    """Peak of building the orientation rules: Gauss-Legendre of n nodes via an n x n companion matrix."""
    doubling = settings.method == "quadrature" and settings.error_estimate == "doubling"
    if kind == "planar":
        n = _orientation_count(kind, settings, refined=doubling)
        return 3 * 8 * n * n
    if kind == "sphere":
        degree = settings.sphere_degree or 11
        if doubling:
            degree = 2 * degree + 1
        polar = math.ceil((degree + 1) / 2)
        return 3 * 8 * polar * polar + 8 * 6 * (degree + 1) * polar
    return 0


def _direction_count(distribution, count, embedded=False):
    rule = getattr(distribution, "direction_rule", "chamber")
    if rule == "product":
        if embedded:
            return _kronrod(count) * 4 * math.ceil(2 * count / 4)
        return 2 * count * count
    per_coordinate = _two_ended(count, embedded)
    return (24 if rule == "full" else 1) * per_coordinate * per_coordinate


def _quadrature_nodes(distribution, counts, embedded=False):
    """Nodes of the rule with these axis counts (the tensor product the distribution builds).

    With ``embedded`` the Gauss-Legendre axes are Gauss-Kronrod rules (the clustered angle
    rules keep their counts), as ``quadrature(..., embedded=True)`` builds them.
    """
    gauss = _kronrod if embedded else (lambda n: n)
    kind = distribution.kind
    if kind == "stm":
        return gauss(counts["delta"]) * gauss(counts["delta0"])
    d_axis = gauss(counts["D"]) + (gauss(counts["D_tail"]) if "D_tail" in counts else 0)
    if kind == "four_well_ats":
        return d_axis * gauss(counts["D0"]) * _direction_count(distribution, counts["direction"], embedded)
    return d_axis * gauss(counts["D0"]) * _two_ended(counts["alpha"], embedded)


def plan_node_counts(distribution, settings, energy_scale_K):
    """``[(label, nodes, refined orientations?), ...]`` of the plan :func:`tunnelsim.ensemble._plan` makes, unbuilt."""
    if settings.method != "quadrature":
        return [("base", int(settings.samples), False)]
    counts = distribution.node_counts(settings.nodes, settings.level, energy_scale_K)
    if _embedded(settings):
        return [("base", _quadrature_nodes(distribution, counts, embedded=True), False)]
    base = _quadrature_nodes(distribution, counts)
    plan = [("base", base, False)]
    if settings.error_estimate:
        for axis, count in counts.items():
            plan.append((axis, _quadrature_nodes(distribution, {**counts, axis: 2 * count}), False))
        plan.append(("orientation", base, True))
    return plan


def _node_key(settings):
    """The config key behind the node count: samples, a large refinement level, the largest given axis count."""
    if settings.method != "quadrature":
        return "averaging.samples"
    if settings.level >= 4 or (settings.level and not settings.nodes):
        return "averaging.level"
    if settings.nodes:
        return f"averaging.nodes.{max(settings.nodes, key=settings.nodes.get)}"
    return "averaging.nodes"


def estimate_run(ens, settings, temperature_K, field_T, observables, n_analytic=0, block_bytes=BLOCK_BYTES):
    """Estimate memory and time of a run before anything is built.

    Parameters
    ----------
    ens : tunnelsim.ensemble.Ensemble
    settings : tunnelsim.ensemble.AveragingSettings
    temperature_K, field_T : array_like
        The grid.
    observables : sequence of str
    n_analytic : int
        Analytic ETM outputs computed beside the ensemble.
    block_bytes : int
        Budget of one temperature block's running sums.

    Returns
    -------
    ResourceEstimate
    """
    from . import ensemble as _ensemble

    T = np.asarray(temperature_K, dtype=float)
    B = np.asarray(field_T, dtype=float)
    td = ens.temperature_dependence
    ratio_max = 1.0 if td is None else float(np.max(td.ratio(T)))
    scale = _ensemble._energy_scale_K(ens, T, B, ratio_max)
    dist, system = ens.distribution, ens.system
    plan = plan_node_counts(dist, settings, scale)
    kind = system.orientation_kind
    n_orient = _orientation_count(kind, settings)
    floats = _FLOATS_PER_NODE.get(dist.kind, 10)
    n_obs = len(observables)
    n_labels = len(plan)
    n_axes = len(dist.node_counts(settings.nodes, 0, scale)) if settings.method == "quadrature" else 0
    if _embedded(settings):
        # per node: the sub-rule and null-rule weights of every axis, held once in the sample and once
        # more, with the main and absolute rows, in the weight matrix of the one-pass sums
        sub_rows = _embedded_rows(dist.node_counts(settings.nodes, 0, scale))
        floats += sub_rows + (sub_rows + 2)
        # running sums per observable: the main rule, every node and orientation sub-rule, the absolute row
        n_labels = sub_rows + _embedded_orientation_rows(kind, settings) + 2

    node_bytes = [8 * floats * n for _, n, refined in plan if not refined]
    factor = _QMC_FACTOR if settings.method == "qmc" else _BUILD_FACTOR
    nodes_bytes = sum(node_bytes) + (factor - 1.0) * max(node_bytes)

    row_bytes = 8 * B.size * (n_obs * (3 * n_labels + 3) + 2 * n_analytic)
    rows = block_rows(T.size, row_bytes, block_bytes)
    base_nodes = plan[0][1]
    fused_fast = getattr(system, "solver", "eigh") == "fast" and system.kind != "two_level"
    n_levels = system.n_levels
    per_node = max(n_orient, 1) * (min(rows, T.size) * n_levels**2 * 8 * 6 + n_levels**2 * 16 * 8)
    if fused_fast:
        per_node = 8 * floats * 2 + (8 * 12 if td is not None else 0)
    if _embedded(settings):
        # tunnelsim.error_estimates.accumulate_embedded: chunks of at most max(64, 65536 / K) nodes
        # with their slice of the weight matrix; the numpy path also holds the chunk's spectra
        instances = min(max(64, 65536 // max(n_orient, 1)), base_nodes) * max(n_orient, 1)
        per_instance = 8 * (2 * n_axes + 2) / max(n_orient, 1)
        if not fused_fast:
            per_instance += 8 * (min(rows, T.size) * n_levels + n_levels**2) * 6
        working = min(int(settings.max_memory_bytes), int(instances * per_instance))
    else:
        working = min(int(settings.max_memory_bytes), base_nodes * per_node)
    if td is not None and fused_fast:
        # Eq. 15/16: one compiled pass over a block's (T, B) points holds per-point sums in 8 chunks --
        # rows, per-position bins, orientations (tunnelsim.error_estimates.accumulate_embedded) -- and
        # their sum and its rows once more (10 copies), at most a quarter of max_memory_bytes
        # (otherwise one call per point)
        counts = dist.node_counts(settings.nodes, 0, scale) if settings.method == "quadrature" else {}
        n_bins = sum(c + 1 for c in counts.values())
        per_call = 10 * (2 * n_axes + 4 + n_bins + max(n_orient, 1)) * n_obs * min(rows, T.size) * B.size * 8
        working += min(per_call, int(settings.max_memory_bytes) // 4)
    grid_bytes = rows * row_bytes + 8 * 4 * (T.size + B.size)

    components = {
        "nodes": int(nodes_bytes),
        "orientations": int(_orientation_bytes(kind, settings)),
        "working": int(working),
        "grid": int(grid_bytes),
    }
    keys = {
        "nodes": _node_key(settings),
        "orientations": "averaging.sphere_degree" if kind == "sphere" else "averaging.orientation_nodes",
        "working": _node_key(settings),
        "grid": "grid.temperature_K",
    }
    memory = sum(components.values())

    blocks = math.ceil(T.size / rows)
    if fused_fast:  # the embedded estimate too: one compiled pass sums every weight row
        t_spectrum, t_temperature = _SECONDS["fast_four_well" if system.kind == "four_well" else "fast"]
    else:
        t_spectrum, t_temperature = _SECONDS["numpy"]
    if _embedded(settings):
        t_temperature *= _EMBEDDED_ROW_COST
    spectra = 0.0
    for _, n, refined in plan:
        orient = max(_orientation_count(kind, settings, refined), 1)
        per_field = n * orient * (T.size if td is not None else blocks)
        spectra += per_field * B.size
    temps_per_spectrum = 1 if td is not None else min(rows, T.size)
    time_s = spectra * (t_spectrum + t_temperature * temps_per_spectrum)
    n_datasets = n_obs * (2 if (settings.error_estimate or settings.method != "quadrature") else 1) + n_analytic
    file_bytes = 8 * T.size * B.size * n_datasets + 8 * (T.size + B.size) + 64 * 1024
    return ResourceEstimate(
        n_nodes=int(base_nodes),
        n_nodes_total=int(sum(n for _, n, refined in plan if not refined)),
        n_orientations=int(n_orient),
        n_temperatures=int(T.size),
        n_fields=int(B.size),
        block_rows=int(rows),
        memory_bytes=int(memory),
        components=components,
        keys=keys,
        time_s=float(time_s),
        file_bytes=int(file_bytes),
    )


def check_fits(estimate, source, available=None, fraction=MEMORY_FRACTION, error=None):
    """Refuse a run whose estimated memory exceeds ``fraction`` of the available memory.

    Parameters
    ----------
    estimate : ResourceEstimate
    source : str
        The config's file name, for the message.
    available : int, optional
        Available bytes (default :func:`available_memory_bytes`; no check when unknown).
    fraction : float
        Share of the available memory a run may use (:data:`MEMORY_FRACTION`).
    error : type, optional
        Exception class (default :class:`tunnelsim.config.ConfigError`).

    Raises
    ------
    ConfigError
        One line naming the dominant config key, the estimate and the limit.
    """
    if error is None:
        from .config import ConfigError as error
    if available is None:
        available = available_memory_bytes()
    if available is None:
        return
    limit = fraction * available
    if estimate.memory_bytes + BASELINE_BYTES > limit:
        raise error(
            f"{source}: {estimate.dominant_key}: the run needs an estimated {format_bytes(estimate.memory_bytes)} "
            f"of memory ({estimate.n_nodes_total} parameter nodes, {estimate.n_temperatures} x {estimate.n_fields} "
            f"grid), more than {fraction:g} of the {format_bytes(available)} available; "
            f"use fewer nodes, samples or grid points"
        )
