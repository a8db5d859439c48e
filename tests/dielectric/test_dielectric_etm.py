"""The ETM dielectric map's error estimate: node-doubling changes, or NaN when no refined rule is run."""

import numpy as np

from tunnelsim.dielectric.etm import permittivity_map_etm
from tunnelsim.dielectric.response import DielectricSettings
from tunnelsim.distributions import ATSDistribution
from tunnelsim.ensemble import AveragingSettings

DIST = ATSDistribution(D_min_K=2.671e-2, D0_min_K=2.717e5 / 3e4, D0_max_K=2.925e5 / 3e4)
KW = dict(density_per_g=1.352e16, dipole_moment_D=1.0, charge_area_A2=3e4)


def test_etm_map_errors_are_nan_without_an_estimate_and_finite_with_one():
    T, B = np.array([0.01, 0.05]), np.array([1e-3, 0.1])
    values, errors = permittivity_map_etm(DIST, T, B, DielectricSettings(), averaging=AveragingSettings(error_estimate=False), **KW)
    assert all(np.all(np.isfinite(v)) for v in values.values())
    assert all(np.all(np.isnan(e)) for e in errors.values())
    values2, errors2 = permittivity_map_etm(DIST, T, B, DielectricSettings(),
                                            averaging=AveragingSettings(error_estimate="doubling"), **KW)
    for name, v in values2.items():
        np.testing.assert_allclose(v, values[name], rtol=1e-12)  # the same base rule
        assert np.all(np.isfinite(errors2[name])) and np.all(errors2[name] >= 0)
    # the default: the embedded Gauss-Kronrod rule of the exact map; at 0.1 T the two default rules
    # differ by ~10 % in the relaxation part (their quadrature error there), by < 2e-3 at 1 mT
    values3, errors3 = permittivity_map_etm(DIST, T, B, DielectricSettings(), **KW)
    for name, v in values3.items():
        np.testing.assert_allclose(v[:, 0], values[name][:, 0], rtol=2e-3)
        np.testing.assert_allclose(v[:, 1], values[name][:, 1], rtol=0.15)
        assert np.all(np.isfinite(errors3[name])) and np.all(errors3[name] >= 0)
