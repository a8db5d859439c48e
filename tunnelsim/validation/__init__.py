"""Validation of the analytic ETM (Section B, Eqs. 10-13) against exact spectra and ensembles.

Each check is a function returning a small frozen dataclass of plain arrays and numbers, so
notebooks can reuse them; :func:`run_validation` runs them all, :func:`format_report` makes
the text table, :func:`write_report` the HDF5 file and :func:`save_figures` the PNG figures
(``tunnelsim validate``).

a. :func:`fit_gap_mapping` -- the effective-gap mapping fitted from exact Eq. 6 spectra.
b. :func:`check_eq10_effective` (Eq. 10, corrected prefactor ``pi P* n_ATS / (2B)``, against
   the effective two-level ensemble it is the closed form of) and :func:`compare_eq10_exact`
   (against the exact 3LS ensemble with mapped cutoffs, over ``(T, B)`` and ``D_max/D0_min``).
c. :func:`check_weak_field` -- Eq. 12 against the exact ``B = 0`` susceptibility and the two
   limits of Eq. 13 against the integral they approximate.
d. :func:`check_high_field` -- exact ``M(B)`` against Eq. 10 and both Eq. 11 forms.
e. :func:`compare_four_well` -- the tetrahedral four-well ensemble against the 3LS ensemble.

The modules: :mod:`~tunnelsim.validation.settings` (settings of each part, the presets) and
:mod:`~tunnelsim.validation.settings_file` (their TOML form); :mod:`~tunnelsim.validation.reference`
(the exact side: gap mapping, exact ensembles) and :mod:`~tunnelsim.validation.curves` (grids and
curve landmarks); one module per part (``gap_fit``, ``eq10``, ``weak_field``, ``high_field``,
``four_well``); :mod:`~tunnelsim.validation.run` (all parts in one report); and the outputs,
:mod:`~tunnelsim.validation.table` (text), :mod:`~tunnelsim.validation.hdf5`,
:mod:`~tunnelsim.validation.figures` and :mod:`~tunnelsim.validation.outputs` (file names, the
overwrite guard, atomic writes). This package re-exports the public names of all of them.

The gap mapping, and why the exact ensemble is 4/3 of Eq. 10 at weak field
---------------------------------------------------------------------------
Eq. 10 treats every ATS as a two-level system with gap ``E^2 = D^2 + (D0 phi)^2``
(the seed's "reasonable approximate form"). The exact lower gap of Eq. 6 for ``D << D0``,
``phi << 1`` is ``E^2 = (2/3) D^2 + (4/3) D0^2 phi^2``: the asymmetries, projected on the
degenerate doublet of Eq. 9 (the plane orthogonal to ``(1, 1, 1)``), split it by
``sqrt(2/3) D``, and the flux splits it by ``2 sqrt(3) D0 sin(phi/3) ~ (2/sqrt(3)) D0 phi``.
So Eq. 10 with cutoffs ``D_min, D_max, D0_min, D0_max`` describes, to leading order, the exact
ensemble with the **mapped cutoffs** ``sqrt(3/2) D`` and ``(sqrt(3)/2) D0`` (:func:`mapped_cutoffs`;
``P*`` and ``n_ATS`` are unchanged, the measure ``dD/D dD0/D0`` being scale free).

If instead the seed's parameters are put into the exact Hamiltonian unchanged, each doublet
responds to the field with ``(4/3) (D0 phi)^2`` instead of ``(D0 phi)^2``: the weak-field
susceptibility is 4/3 of Eq. 12's (the "D0 mapping" factor), times
``I(T, sqrt(2/3) D_min) / I(T, D_min)`` from the asymmetry mapping (``I`` the integral of
Eq. 12; the factor tends to 1 for ``T >> D_min`` and to ``sqrt(3/2)`` for ``T << D_min``).
Both hold only while the doublet is all that is thermally populated and the effective
two-level picture is complete. The exact levels also contain the doublet-centre shift
``-D0 cos(phi/3)`` (diamagnetic), which lowers the ratio by ``O(T/D0)``, and the systems with
``D >~ D0``, where the two-level mapping of the gap fails. At high temperature the exact ensemble
obeys the sum rule ``Tr H^2`` independent of ``phi``, so its susceptibility falls as ``1/T^2``
while Eq. 12's falls as ``ln(T)/T``: Eq. 10 then overestimates by a growing factor. The third
level (about ``3 D0`` above the doublet) is not the cause: at 4.5 K it holds under 1 % of the
population. :func:`check_weak_field`
reports the D0 factor ``chi_exact / chi_Eq12(D_min -> sqrt(2/3) D_min)``, which tends to 4/3
as ``T/D0 -> 0``, and the full ratio at each temperature.

Eq. 11 and the high-field regime
--------------------------------
With the mapped ``D0`` the exact ``D = 0`` gap is ``3 D0 sin(phi/3)``, whose square is
``D0^2 phi^2 (1 - phi^2/27 + ...)``: Eq. 11's substitution. :func:`check_high_field` compares
the exact ensemble (seed parameters as given, and mapped) with Eq. 10,
:func:`~tunnelsim.etm.magnetization_etm_high_field` (the modified gap, magnetisation as the
true derivative) and :func:`~tunnelsim.etm.magnetization_etm_shortcut` (the seed's
``(1 - (B/B*)^2/54)/B`` with ``B* = B_phi = phi_0 / (2 pi (Q/e) S_Delta)``).
"""

from .curves import first_crossing, peak
from .eq10 import EffectiveCheckResult, ExactMapResult, check_eq10_effective, compare_eq10_exact
from .figures import save_figures
from .four_well import FourWellResult, compare_four_well, four_well_verdict
from .gap_fit import GapFitResult, fit_gap_mapping
from .hdf5 import write_report
from .high_field import HIGH_FIELD_CURVES, HighFieldResult, check_high_field
from .outputs import check_outputs, figure_names
from .reference import GAP_A, GAP_B, exact_gap_K, mapped_cutoffs
from .run import PARTS, ValidationReport, run_validation
from .settings import (
    EffectiveCheckSettings,
    ExactMapSettings,
    FourWellSettings,
    GapFitSettings,
    HighFieldSettings,
    Material,
    ValidationSettings,
    WeakFieldSettings,
    full_settings,
    quick_settings,
)
from .settings_file import load_settings
from .table import format_report
from .weak_field import WeakFieldResult, check_weak_field, tanh_integral_quad_per_K

__all__ = [
    "EffectiveCheckResult",
    "EffectiveCheckSettings",
    "ExactMapResult",
    "ExactMapSettings",
    "FourWellResult",
    "FourWellSettings",
    "GAP_A",
    "GAP_B",
    "GapFitResult",
    "GapFitSettings",
    "HIGH_FIELD_CURVES",
    "HighFieldResult",
    "HighFieldSettings",
    "Material",
    "PARTS",
    "ValidationReport",
    "ValidationSettings",
    "WeakFieldResult",
    "WeakFieldSettings",
    "check_eq10_effective",
    "check_high_field",
    "check_outputs",
    "check_weak_field",
    "compare_eq10_exact",
    "compare_four_well",
    "exact_gap_K",
    "figure_names",
    "first_crossing",
    "fit_gap_mapping",
    "format_report",
    "four_well_verdict",
    "full_settings",
    "load_settings",
    "mapped_cutoffs",
    "peak",
    "quick_settings",
    "run_validation",
    "save_figures",
    "tanh_integral_quad_per_K",
    "write_report",
]
