"""Where the validation writes: figure file names, the overwrite guard and atomic replacement.

The replacement itself is :func:`tunnelsim._atomic.atomic_output`, re-exported here for the
writers of this package.
"""

from __future__ import annotations

from pathlib import Path

from .._atomic import atomic_output

__all__ = ["FIGURE_FILES", "atomic_output", "check_outputs", "figure_names"]

#: part -> file name of its figure
FIGURE_FILES = {
    "gap_fit": "gap_mapping.png",
    "eq10_exact": "eq10_vs_exact.png",
    "weak_field": "weak_field.png",
    "high_field": "high_field.png",
    "four_well": "four_well.png",
}


def figure_names():
    """File names of the figures :func:`~tunnelsim.validation.save_figures` writes (when the part was run)."""
    return tuple(FIGURE_FILES.values())


def check_outputs(path, plots_dir=None, force=False):
    """Raise FileExistsError if the report (``path``, may be None) or a figure exists and ``force`` is false."""
    targets = [] if path is None else [Path(path)]
    if plots_dir is not None:
        targets += [Path(plots_dir) / name for name in figure_names()]
    if not force:
        for target in targets:
            if target.exists():
                raise FileExistsError(f"{target}: exists; use --force to replace it")
