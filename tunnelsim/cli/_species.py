"""The ``--species`` option shared by ``fit``, ``compare`` and ``synth``: argument parsing only.

``--species LIST`` names the paramagnetic ions of Eq. 17's Langevin term: a comma-separated list
of names of the table :data:`tunnelsim.ions.IONS` and explicit ``NAME:g:J`` entries
(:func:`tunnelsim.ions.parse_species`), e.g. ``--species Gd3+`` or ``--species Fe3+,X:2.1:3/2``.
Without it the parameter file's ``settings.species`` applies, else Fe2+ and Fe3+. The density of
each species is the parameter ``n_<tag>_per_g`` (``Gd3+`` -> ``n_Gd3_per_g``).

A handler uses it as::

    pf = load_parameter_file(path, species=species_override(args)) if path else None
    species = species_from_args(args, pf)

Only :mod:`tunnelsim.ions` (standard library only) is imported, so building the parser stays cheap.
"""

from __future__ import annotations

__all__ = ["add_species_option", "species_from_args", "species_override"]


def add_species_option(parser):
    """Add ``--species LIST`` (default None: the parameter file's species, else Fe2+,Fe3+) to ``parser``."""
    from ..ions import table_text

    parser.add_argument(
        "--species", metavar="LIST", default=None,
        help="paramagnetic species of the Langevin term, comma-separated: names from the table "
        f"({table_text()}; spin-only 3d ions, free-ion 4f ions) or NAME:g:J (J a multiple of 1/2); "
        "each species' density is the parameter n_<name without +/->_per_g (Gd3+ -> n_Gd3_per_g); "
        "default: the parameter file's settings.species, else Fe2+,Fe3+")
    return parser


def species_override(args):
    """The species ``--species`` gives (a tuple of Species), or None without the option.

    Raises
    ------
    ValueError
        One line starting ``--species:``, naming the bad entry (the CLI exits with code 2).
    """
    text = getattr(args, "species", None)
    if text is None:
        return None
    from ..ions import parse_species

    try:
        return parse_species(text)
    except ValueError as exc:
        raise ValueError(f"--species: {exc}") from None


def species_from_args(args, parameter_file=None):
    """The species of a command: ``--species`` if given, else the parameter file's ``species``,
    else Fe2+ and Fe3+ (:data:`tunnelsim.ions.DEFAULT_SPECIES`).

    Parameters
    ----------
    args : argparse.Namespace
        With the ``species`` attribute :func:`add_species_option` adds.
    parameter_file : tunnelsim.fitting.parameters.ParameterFile, optional

    Returns
    -------
    tuple of tunnelsim.ions.Species
    """
    override = species_override(args)
    if override is not None:
        return override
    if parameter_file is not None:
        return tuple(parameter_file.species)
    from ..ions import DEFAULT_SPECIES

    return DEFAULT_SPECIES
