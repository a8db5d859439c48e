"""Running the validation: the parts by name, their results and timings in one report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .eq10 import EffectiveCheckResult, ExactMapResult, check_eq10_effective, compare_eq10_exact
from .four_well import FourWellResult, compare_four_well
from .gap_fit import GapFitResult, fit_gap_mapping
from .high_field import HighFieldResult, check_high_field
from .settings import ValidationSettings, full_settings
from .weak_field import WeakFieldResult, check_weak_field

__all__ = ["PARTS", "ValidationReport", "run_validation"]


@dataclass(frozen=True)
class ValidationReport:
    """Results of parts a-e (None where a part was not run) and the time each took (s)."""

    settings: ValidationSettings
    gap_fit: GapFitResult | None = None
    eq10_effective: EffectiveCheckResult | None = None
    eq10_exact: ExactMapResult | None = None
    weak_field: WeakFieldResult | None = None
    high_field: HighFieldResult | None = None
    four_well: FourWellResult | None = None
    timings_s: dict = field(default_factory=dict)


#: part name -> the check that computes it from :class:`~tunnelsim.validation.ValidationSettings`
PARTS = {
    "gap_fit": lambda s: fit_gap_mapping(s.gap_fit),
    "eq10_effective": lambda s: check_eq10_effective(s.material, s.eq10_effective),
    "eq10_exact": lambda s: compare_eq10_exact(s.material, s.eq10_exact),
    "weak_field": lambda s: check_weak_field(s.material, s.weak_field),
    "high_field": lambda s: check_high_field(s.material, s.high_field),
    "four_well": lambda s: compare_four_well(s.material, s.four_well),
}


def run_validation(settings=None, parts=None, log=None):
    """Run the validation parts.

    Parameters
    ----------
    settings : ValidationSettings, optional
        Default :func:`full_settings`.
    parts : sequence of str, optional
        Names from :data:`PARTS` (default all, in order).
    log : callable, optional
        Called with one line after each part (e.g. ``print`` to stderr).

    Returns
    -------
    ValidationReport
    """
    settings = full_settings() if settings is None else settings
    names = tuple(PARTS) if parts is None else tuple(parts)
    for name in names:
        if name not in PARTS:
            raise ValueError(f"parts: unknown part {name!r}; expected some of {', '.join(PARTS)}")
    results, timings = {}, {}
    for name in names:
        start = time.perf_counter()
        results[name] = PARTS[name](settings)
        timings[name] = time.perf_counter() - start
        if log is not None:
            log(f"validate: {name} done in {timings[name]:.1f} s")
    return ValidationReport(settings=settings, timings_s=timings, **results)
