"""The ``[dielectric]`` section of a simulation config (and its ``[dielectric.stm]`` background).

Measurement and material of the dielectric observables (:data:`tunnelsim.dielectric.ensemble.OBSERVABLES`,
asked for in ``[output] observables``); parsed by :func:`parse_dielectric` for
:func:`tunnelsim.config.parse_config`, which re-exports the names here.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from .tomlschema import Section

__all__ = ["DIELECTRIC_ANALYTIC_OUTPUTS", "DIELECTRIC_DEFAULTS", "DielectricConfig", "DielectricSTMConfig",
           "parse_dielectric"]

#: Analytic outputs that also have a dielectric form (``<observable>_etm``, the ETM's effective 2LS).
DIELECTRIC_ANALYTIC_OUTPUTS = ("etm",)
#: ``[dielectric]`` keys -> default: a multicomponent glass like BK7 or BAS (representative values,
#: not fits): mass density 2.5 g/cm^3, background eps_r 6, sound velocities 5800 / 3500 m/s,
#: deformation potentials 1.0 / 0.65 eV (the longitudinal/transverse ratio of vitreous silica,
#: Phillips 1987), STM dipole moment 1 D; the static response (frequency 0) without line width,
#: electric field parallel to the magnetic field.
DIELECTRIC_DEFAULTS = MappingProxyType({
    "frequency_Hz": 0.0,
    "linewidth_K": 0.0,
    "field_direction": "parallel",
    "mass_density_g_cm3": 2.5,
    "relative_permittivity": 6.0,
    "deformation_potential_l_eV": 1.0,
    "deformation_potential_t_eV": 0.65,
    "sound_velocity_l_m_s": 5800.0,
    "sound_velocity_t_m_s": 3500.0,
    "dipole_moment_D": 1.0,
})
_DIELECTRIC_STM_KEYS = ("density_per_g", "delta_max_K", "delta0_min_K", "delta0_max_K", "dipole_moment_D")
#: ``[dielectric.echo]`` keys (:class:`tunnelsim.dielectric.echo_map.EchoSettings`).
_ECHO_KEYS = ("frequency_Hz", "pulse1_s", "pulse2_s", "delay_s", "rabi_frequency_Hz", "t2_s", "nodes")
_ECHO_NODE_AXES = ("D", "D0", "u")

@dataclass(frozen=True)
class DielectricSTMConfig:
    """``[dielectric.stm]``: a background of standard two-level systems (Eq. 5, ``P_bar / Delta0``).

    The box distribution :class:`tunnelsim.distributions.STMDistribution` is normalised, so
    ``density_per_g`` is the number of 2LS per gram; ``P_bar = density_per_g * rho /
    (delta_max ln(delta0_max / delta0_min))`` per volume and energy.

    Attributes
    ----------
    density_per_g : float
        2LS per gram, > 0.
    delta_max_K : float
        Asymmetry cutoff (``|Delta| <= delta_max``), K.
    delta0_min_K, delta0_max_K : float
        Tunnelling-splitting cutoffs, K, ``0 < delta0_min < delta0_max``.
    dipole_moment_D : float
        Their dipole moment ``p`` in debye (default: ``dielectric.dipole_moment_D``).
    """

    density_per_g: float
    delta_max_K: float
    delta0_min_K: float
    delta0_max_K: float
    dipole_moment_D: float


@dataclass(frozen=True)
class DielectricConfig:
    """``[dielectric]``: measurement and material of the dielectric observables.

    Every key is optional; the defaults are :data:`DIELECTRIC_DEFAULTS`.

    Attributes
    ----------
    frequency_Hz : float
        Measuring frequency, >= 0; 0 is the static response (relaxation fully in phase).
    linewidth_K : float
        Half width of the resonant line, K, >= 0 (0: no resonant absorption).
    field_direction : str
        ``parallel`` (electric field along B) or ``perpendicular`` (averaged over the plane normal to B).
    mass_density_g_cm3 : float
        Mass density, > 0 (systems per gram -> per volume; phonon rates).
    relative_permittivity : float
        Background ``eps_r`` (>= 1); the observables are ``Delta eps / eps_r``.
    deformation_potential_l_eV, deformation_potential_t_eV : float
        ``gamma_l``, ``gamma_t`` in eV, >= 0 (one-phonon relaxation).
    sound_velocity_l_m_s, sound_velocity_t_m_s : float
        ``v_l``, ``v_t`` in m/s, > 0.
    dipole_moment_D : float
        STM dipole moment ``p`` (debye) of the wells of the ``[system]`` ensemble, > 0
        (:mod:`tunnelsim.dielectric.dipoles`).
    stm : DielectricSTMConfig or None
        The optional STM background.
    echo : tunnelsim.dielectric.echo_map.EchoSettings or None
        ``[dielectric.echo]``: the pulse sequence and quadrature of ``echo_amplitude`` (defaults when
        that observable is asked for without the table).
    """

    frequency_Hz: float = DIELECTRIC_DEFAULTS["frequency_Hz"]
    linewidth_K: float = DIELECTRIC_DEFAULTS["linewidth_K"]
    field_direction: str = DIELECTRIC_DEFAULTS["field_direction"]
    mass_density_g_cm3: float = DIELECTRIC_DEFAULTS["mass_density_g_cm3"]
    relative_permittivity: float = DIELECTRIC_DEFAULTS["relative_permittivity"]
    deformation_potential_l_eV: float = DIELECTRIC_DEFAULTS["deformation_potential_l_eV"]
    deformation_potential_t_eV: float = DIELECTRIC_DEFAULTS["deformation_potential_t_eV"]
    sound_velocity_l_m_s: float = DIELECTRIC_DEFAULTS["sound_velocity_l_m_s"]
    sound_velocity_t_m_s: float = DIELECTRIC_DEFAULTS["sound_velocity_t_m_s"]
    dipole_moment_D: float = DIELECTRIC_DEFAULTS["dipole_moment_D"]
    stm: DielectricSTMConfig | None = None
    echo: object = None

    def settings(self):
        """The :class:`tunnelsim.dielectric.response.DielectricSettings` of this section."""
        from .dielectric.response import DielectricSettings

        return DielectricSettings(
            frequency_Hz=self.frequency_Hz,
            linewidth_K=self.linewidth_K,
            field_direction=self.field_direction,
            mass_density_g_cm3=self.mass_density_g_cm3,
            eps_r=self.relative_permittivity,
            deformation_potential_l_eV=self.deformation_potential_l_eV,
            deformation_potential_t_eV=self.deformation_potential_t_eV,
            sound_velocity_l_m_s=self.sound_velocity_l_m_s,
            sound_velocity_t_m_s=self.sound_velocity_t_m_s,
        )



def parse_dielectric(source, table, cfg_parts, error):
    """``[dielectric]`` (``table`` may be None) for a run with the observables of ``cfg_parts["output"]``.

    ``cfg_parts`` holds the parsed ``output``, ``system`` and ``temperature_dependence`` sections;
    ``error`` is the config's error class (one line naming the key).
    """
    from .dielectric.dipoles import FIELD_DIRECTIONS
    from .dielectric.echo_map import ECHO_OBSERVABLES
    from .dielectric.ensemble import OBSERVABLES

    dielectric_observables = tuple(OBSERVABLES) + tuple(ECHO_OBSERVABLES)
    output, system, td = cfg_parts["output"], cfg_parts["system"], cfg_parts["temperature_dependence"]
    wanted = [name for name in output.observables if name in dielectric_observables]
    if not wanted:
        if table is not None:
            raise error(f"{source}: dielectric: no dielectric observable in output.observables "
                        f"(expected some of {', '.join(dielectric_observables)})")
        return None
    if td is not None:
        raise error(f"{source}: temperature_dependence: not supported with the dielectric observables "
                          f"({wanted[0]}); remove the section or the observable")
    if system.vertices is not None:
        raise error(f"{source}: system.vertices: the dielectric observables use the regular tetrahedron; "
                          f"remove vertices or the observable {wanted[0]}")
    sec = Section(source, "dielectric", table or {}, tuple(DIELECTRIC_DEFAULTS) + ("stm", "echo"), error)
    d = DIELECTRIC_DEFAULTS
    values = {
        "frequency_Hz": sec.number("frequency_Hz", required=False, default=d["frequency_Hz"], minimum=0.0,
                                   strict=False),
        "linewidth_K": sec.number("linewidth_K", required=False, default=d["linewidth_K"], minimum=0.0, strict=False),
        "field_direction": sec.string("field_direction", FIELD_DIRECTIONS, required=False,
                                      default=d["field_direction"]),
        "relative_permittivity": sec.number("relative_permittivity", required=False,
                                            default=d["relative_permittivity"], minimum=1.0, strict=False),
    }
    for key in ("deformation_potential_l_eV", "deformation_potential_t_eV"):
        values[key] = sec.number(key, required=False, default=d[key], minimum=0.0, strict=False)
    for key in ("mass_density_g_cm3", "sound_velocity_l_m_s", "sound_velocity_t_m_s", "dipole_moment_D"):
        values[key] = sec.number(key, required=False, default=d[key], minimum=0.0)
    stm = None
    if sec.has("stm"):
        sub = sec.child("stm", _DIELECTRIC_STM_KEYS)
        density = sub.number("density_per_g", minimum=0.0)
        cutoffs = {key: sub.number(key, minimum=0.0) for key in ("delta_max_K", "delta0_min_K", "delta0_max_K")}
        sub.require_order("delta0_min_K", cutoffs["delta0_min_K"], "delta0_max_K", cutoffs["delta0_max_K"])
        p = sub.number("dipole_moment_D", required=False, default=values["dipole_moment_D"], minimum=0.0)
        stm = DielectricSTMConfig(density, cutoffs["delta_max_K"], cutoffs["delta0_min_K"], cutoffs["delta0_max_K"], p)
    echo = None
    if any(name in ECHO_OBSERVABLES for name in wanted):
        if cfg_parts["distribution"].kind != "ats":
            raise error(f"{source}: output.observables: echo_amplitude needs the ATS distribution "
                        f"(distribution.kind = \"ats\"), got {cfg_parts['distribution'].kind!r}")
        echo = _parse_echo(sec)
    elif sec.has("echo"):
        raise error(f"{source}: dielectric.echo: no echo observable in output.observables "
                    f"(expected {', '.join(ECHO_OBSERVABLES)})")
    return DielectricConfig(**values, stm=stm, echo=echo)


def _parse_echo(sec):
    """``[dielectric.echo]`` (all keys optional) as :class:`~tunnelsim.dielectric.echo_map.EchoSettings`."""
    from .dielectric.echo_map import EchoSettings

    sub = sec.child("echo", _ECHO_KEYS) if sec.has("echo") else Section(sec.source, "dielectric.echo", {},
                                                                        _ECHO_KEYS, sec.error)
    d = EchoSettings()
    values = {"frequency_Hz": sub.number("frequency_Hz", required=False, default=d.frequency_Hz, minimum=0.0)}
    values["pulse1_s"] = sub.number("pulse1_s", required=False, default=d.pulse1_s, minimum=0.0)
    values["pulse2_s"] = sub.number("pulse2_s", required=False, default=2.0 * values["pulse1_s"], minimum=0.0)
    values["delay_s"] = sub.number("delay_s", required=False, default=d.delay_s, minimum=0.0, strict=False)
    values["rabi_frequency_Hz"] = sub.number("rabi_frequency_Hz", required=False, default=None, minimum=0.0)
    values["t2_s"] = sub.number("t2_s", required=False, default=d.t2_s, minimum=0.0, allow_inf=True)
    nodes = sub.integer_table("nodes", 4) or {}
    for axis in nodes:
        if axis not in _ECHO_NODE_AXES:
            sub.fail(f"nodes.{axis}", f"unknown axis; expected {', '.join(_ECHO_NODE_AXES)}")
    return EchoSettings(**values, n_D=nodes.get("D", d.n_D), n_D0=nodes.get("D0", d.n_D0), n_u=nodes.get("u", d.n_u))
