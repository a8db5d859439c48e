"""tunnelsim: quantum-mechanical simulation of tunnelling systems in glasses.

The Extended Tunnelling Model (ETM) of glass paramagnetism: exact Hamiltonians of two-,
three- and four-well tunnelling systems, their thermodynamics, ensemble averages over the
parameter distribution of Eq. 8 and over orientations, the analytic ETM formulas, and fits
of SQUID magnetisation data. Equation numbers refer to Jug & Recchia (2021).

Modules, in data-flow order
---------------------------
* :mod:`~tunnelsim.units` (constants, conversions, the seed settings ``DEFAULT_T0_K`` and
  ``DEFAULT_P_STAR``), ``_checks``, ``_atomic``, :mod:`~tunnelsim.tomlschema`,
  :mod:`~tunnelsim.provenance`
* :mod:`~tunnelsim.hamiltonians` -> :mod:`~tunnelsim.spectra` -> :mod:`~tunnelsim.thermo`:
  single systems, exact (numpy reference path); :mod:`~tunnelsim.kernels`: compiled fast paths
* :mod:`~tunnelsim.systems` (the model protocol and models), :mod:`~tunnelsim.distributions`,
  :mod:`~tunnelsim.orientations`, :mod:`~tunnelsim.temperature_dependence` ->
  :mod:`~tunnelsim.ensemble` (averages per gram on a (T, B) grid)
* :mod:`~tunnelsim.etm` (analytic ETM), :mod:`~tunnelsim.paramagnet` (Larmor-Langevin, Eq. 17),
  :mod:`~tunnelsim.validation` (analytic against exact)
* :mod:`~tunnelsim.fitting` (SQUID data files, synthetic data, fits, Tables 1-4)
* :mod:`~tunnelsim.config` -> :mod:`~tunnelsim.runner` -> :mod:`~tunnelsim.results`,
  :mod:`~tunnelsim.plotting`; :mod:`~tunnelsim.cli` (the ``tunnelsim`` command)

Equation index
--------------
==========  ====================================================================
Eq. 4, 6    ``hamiltonians.three_level``; ``kernels.three_level_spectrum``
Eq. 5       ``hamiltonians.two_level``
Eq. 7       ``units.ab_phase``, ``units.phase_per_tesla``
Eq. 8       ``distributions.ATSDistribution``
Eq. 10      ``etm.magnetization_eq10``, ``etm.magnetization_etm``
Eq. 11      ``etm.magnetization_eq11``, ``etm.magnetization_etm_high_field``,
            ``etm.magnetization_etm_shortcut``
Eq. 12-14   ``etm.susceptibility_eq12_emu_per_g_Oe``, ``etm.tanh_integral_per_K``,
            ``etm.susceptibility_eq14_emu_per_g_Oe``
Eq. 15, 16  ``temperature_dependence.tunnelling_number_ratio``,
            ``temperature_dependence.tunnelling_number_ratio_activated``
Eq. 17      ``paramagnet.total_magnetization_emu_per_g``; ``fitting.fit_magnetization``
Eq. 18      ``etm.curie_product_eq18_emu_K_per_g_Oe``
L-L terms   ``paramagnet.brillouin``, ``paramagnet.species_magnetization_emu_per_g``,
            ``paramagnet.larmor_emu_per_g``
==========  ====================================================================
The README's equation index adds the test of each.
"""

__version__ = "0.1.0"
