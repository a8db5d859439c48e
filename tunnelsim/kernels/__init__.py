"""Compiled exact kernels (numba): the fast paths of the exact engine.

Everything here is exact to rounding, not an approximation, and checked against the reference
path (:func:`tunnelsim.spectra.solve`, i.e. :func:`numpy.linalg.eigh`, and the numpy formulas
of :mod:`tunnelsim.thermo`) in ``tests/kernels/``. numba is imported with this package, so
:mod:`tunnelsim.systems` and :mod:`tunnelsim.thermo` import it only when a fast path is first
used (``import tunnelsim`` stays fast).

Modules, by concern:

* :mod:`~tunnelsim.kernels._common` -- numba options, a vectorisable ``exp(-x)`` and
  ``sin``/``cos``, the thread-pool driver, argument checks;
* :mod:`~tunnelsim.kernels.three_level` -- Eq. 6 in closed form (scalar path in
  ``_three_level_scalar``, SIMD blocks in ``_three_level_blocks``) and its fused ensemble sums;
* :mod:`~tunnelsim.kernels.thermal` -- thermodynamic functions of spectra (named observable
  codes) and the driver of fused sums shared by every model (one weight vector, or weight
  matrices: every weighted total of a rule and its sub-rules from one pass);
* :mod:`~tunnelsim.kernels.four_well` -- the four-well (4x4 Hermitian) spectra by complex
  Jacobi on SIMD lanes, one sweep unrolled in the generated ``_four_well_sweep`` (generator:
  ``python -m tunnelsim.kernels._codegen_four_well``), and its fused sums.
"""

from ._common import exp_neg
from .four_well import bond_table, four_well_outer, four_well_sums
from .thermal import OBSERVABLE_CODES, thermal_observable
from .three_level import three_level_outer, three_level_spectrum, three_level_sums

__all__ = [
    "OBSERVABLE_CODES",
    "bond_table",
    "exp_neg",
    "four_well_outer",
    "four_well_sums",
    "thermal_observable",
    "three_level_outer",
    "three_level_spectrum",
    "three_level_sums",
]
