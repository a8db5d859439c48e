"""Dielectric response of tunnelling systems in a magnetic field.

Modules
-------
* :mod:`~tunnelsim.dielectric.dipoles` -- well positions and dipole operators (the convention).
* :mod:`~tunnelsim.dielectric.response` -- single-system susceptibilities from exact spectra:
  resonant (Kubo) and relaxation (master equation with one-phonon rates) parts.
* :mod:`~tunnelsim.dielectric.ensemble` -- averages over the STM and ATS distributions and
  orientations: permittivity maps ``(T, B)``.
* :mod:`~tunnelsim.dielectric.etm` -- the ETM's effective-2LS prediction and its error map.
"""

from .dipoles import (
    FIELD_DIRECTIONS,
    dipole_components,
    dipole_operator,
    ring_positions,
    tetrahedron_positions,
    two_level_dipole_operator,
    well_dipoles,
)

__all__ = [
    "FIELD_DIRECTIONS",
    "dipole_components",
    "dipole_operator",
    "ring_positions",
    "tetrahedron_positions",
    "two_level_dipole_operator",
    "well_dipoles",
]
