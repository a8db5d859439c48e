"""Parameter distributions of tunnelling systems, with quadrature and seeded (quasi-)Monte Carlo.

Each distribution is a measure ``dP`` on the parameters of one kind of tunnelling system. It
turns into a :class:`ParameterSample`: nodes (a dict of arrays with a leading axis ``N``) and
weights such that ``sum_i w_i f(params_i)`` approximates ``integral f dP``. The weights include
the amplitude (``P_bar`` or ``P*``), so ``sum_i w_i`` is the total measure (1 when normalised).

Distributions (physics.md section 4)
------------------------------------
* :class:`STMDistribution` -- two-level systems of the STM (Eq. 5):
  ``P_bar dDelta dDelta0 / Delta0``, ``Delta`` uniform on ``[0, Delta_max]``, ``Delta0``
  log-uniform; with the exact density of states :meth:`STMDistribution.density_of_states`.
* :class:`StandardThreeLevelDistribution` -- three-well systems with uniform asymmetries,
  ``P_bar dE1 dE2 dD0 / D0 = P_bar D dD dalpha dD0 / D0`` on the disk ``D < D_max``.
* :class:`ATSDistribution` -- Eq. 8, ``P* dE1 dE2 dD0 / (D0 (E1^2 + E2^2 + E3^2))``, which in
  the polar coordinates ``E_k = sqrt(2/3) D cos(alpha - 2 pi k / 3)`` of the plane
  ``E1 + E2 + E3 = 0`` (area element ``D dD dalpha``) is ``P* dalpha dD/D dD0/D0``.
* :class:`FourWellATSDistribution` -- the four-well analogue ``P* dOmega dD/D dD0/D0``.

Modules
-------
* :mod:`~tunnelsim.distributions.base` -- :class:`ParameterSample`, argument checks and the
  shared base classes (quadrature, sampling, amplitude and measure).
* :mod:`~tunnelsim.distributions.rules` -- the quadrature rule of each axis and the sampling map
  of ``D``, with why each converges.
* :mod:`~tunnelsim.distributions.stm`, :mod:`~tunnelsim.distributions.three_level` (standard
  and ATS) and :mod:`~tunnelsim.distributions.four_well` -- the distributions.

This package re-exports their public names.
"""

from .base import ParameterSample
from .four_well import FourWellATSDistribution, four_well_basis
from .stm import STMDistribution
from .three_level import ATSDistribution, StandardThreeLevelDistribution

__all__ = [
    "ATSDistribution",
    "FourWellATSDistribution",
    "ParameterSample",
    "STMDistribution",
    "StandardThreeLevelDistribution",
    "four_well_basis",
]
