"""The validation report as a text table: one block per part, fixed-width columns."""

from __future__ import annotations

import math

import numpy as np

from .high_field import CURVE_LABELS, HIGH_FIELD_CURVES
from .reference import GAP_A, GAP_B

__all__ = ["format_report", "format_table"]


def format_table(columns, rows, indent="   "):
    """Lines of a fixed-width text table: the headings, then one line per row.

    Parameters
    ----------
    columns : sequence of (str, int)
        Heading and width of each column. Cells are left-aligned, padded to the width and
        separated by one space; a longer cell pushes the rest of its line to the right.
    rows : iterable of sequence of str
        The formatted cells of each row, one per column.
    indent : str, optional
        Put before every line.

    Returns
    -------
    list of str
        Without trailing spaces.
    """
    def line(cells):
        return (indent + " ".join(f"{cell:<{width}}" for cell, (_, width) in zip(cells, columns))).rstrip()

    return [line([heading for heading, _ in columns])] + [line(row) for row in rows]


def _fmt(x, spec=".3g", none="-"):
    return none if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _fmt_list(values, spec=".3g"):
    return ", ".join(format(float(v), spec) for v in values)


def _ok(passed):
    return "ok" if passed else "FAIL"


def _section_a(r):
    ok = abs(r.a - GAP_A) <= r.tolerance and abs(r.b - GAP_B) <= r.tolerance
    lines = ["a. Effective-gap mapping fitted from exact Eq. 6 spectra: E^2 = a D^2 + b D0^2 phi^2"]
    rows = [(f"{s:.4g}", f"{a:.8f}", f"{b:.8f}") for s, a, b in zip(r.box_sizes, r.a_by_box, r.b_by_box)]
    lines += format_table([("box s (D/D0, phi <= s)", 27), ("a(s)", 13), ("b(s)", 0)], rows)
    lines += [
        f"   extrapolated s -> 0         a = {r.a:.8f} (2/3: |diff| {abs(r.a - GAP_A):.1e})   "
        f"b = {r.b:.8f} (4/3: |diff| {abs(r.b - GAP_B):.1e})   {_ok(ok)} (tolerance {r.tolerance:g})",
        f"   mapped gap vs exact: |E_map/E - 1| -> {r.slope_at_zero_field:.4f} D/D0 at phi = 0 (max over alpha; "
        f"{2 * r.slope_at_zero_field:.4f} D/D0 for E^2); "
        f"max {np.nanmax(r.residual_map):.1%} on D/D0 <= {r.map_ratio[-1]:g}, phi <= {r.map_phase[-1]:g}",
        f"   at D = 0 the exact E^2 leaves Eq. 10's (4/3) D0^2 phi^2 by 1 % at phi = {r.eq10_phase_1pct:.3f} "
        f"and Eq. 11's (4/3) D0^2 phi^2 (1 - phi^2/27) at phi = {r.eq11_phase_1pct:.3f}",
    ]
    return lines


def _section_b(eff, ex):
    lines = ["b. Eq. 10 (corrected: E_c1..E_c2, prefactor pi P* n_ATS / (2B)), orientation averaged"]
    if eff is not None:
        lines.append(f"   vs effective two-level ensemble: max |rel. diff| = {eff.max_error:.1e} over T = "
                     f"{_fmt_list(eff.temperature_K)} K, B = {_fmt_list(eff.field_T)} T, u = "
                     f"{_fmt_list(eff.orientations)} and the u average   "
                     f"{_ok(eff.max_error < eff.tolerance)} (< {eff.tolerance:g})")
    if ex is None:
        return lines
    p = ex.exact_parameters
    tols = range(ex.tolerances.size)
    ratios = range(ex.D_max_over_D0_min.size)
    lines.append(f"   vs exact 3LS ensemble, mapped cutoffs D_min' = {p['D_min_K']:.4g} K, D0' = {p['D0_min_K']:.4g}.."
                 f"{p['D0_max_K']:.4g} K, (Q/e)S = {p['charge_area_A2']:g} A^2, D_max' = r D0_min'; "
                 "error = M_Eq10/M_exact - 1")
    rows = []
    for i, r in enumerate(ex.D_max_over_D0_min):
        cells = [f"{r:g}"]
        for k in tols:
            inside = np.isfinite(ex.boundary_field_T[i, k])
            T_top = _fmt(float(ex.temperature_K[inside].max()) if inside.any() else math.nan, ".3g")
            B_top = _fmt(float(np.nanmax(ex.boundary_field_T[i, k])) if inside.any() else math.nan, ".3g")
            cells.append(f"{ex.fraction_within[i, k]:<10.2f}{T_top:<10}{B_top}")
        rows.append(cells)
    lines += format_table([("r = D_max/D0_min", 17)]
                          + [(f"within {t:.0%}: fraction, T <= [K], B <= [T]", 41) for t in ex.tolerances], rows)
    tol_txt = " / ".join(f"{t:.0%}" for t in ex.tolerances)
    lines.append(f"   largest field [T] up to which Eq. 10 is within {tol_txt} "
                 f"(-: not even at B = {ex.field_T[0]:g} T)")
    lines += format_table(
        [("T [K]", 9)] + [(f"r = {r:g}", 17) for r in ex.D_max_over_D0_min],
        [[f"{T:.3g}"] + [" / ".join(_fmt(ex.boundary_field_T[i, k, j], ".3g") for k in tols) for i in ratios]
         for j, T in enumerate(ex.temperature_K)])
    i = ex.D_max_over_D0_min.size - 1
    lines.append(f"   relative error map for r = {ex.D_max_over_D0_min[i]:g} (rows T [K], columns B [T])")
    lines += format_table([("T \\ B", 9)] + [(f"{b:.3g}", 8) for b in ex.field_T],
                          [[f"{T:.3g}"] + [f"{e:+.3f}" for e in ex.relative_error[i, j]]
                           for j, T in enumerate(ex.temperature_K)])
    return lines


def _section_c(r):
    lo, hi = r.D0_range_K
    lines = [f"c. Weak field: Eq. 12 against the exact chi = dM/dH at B = 0 (D0 = {lo:.4g}..{hi:.4g} K unmapped)"]
    lines += format_table(
        [("T [K]", 9), ("chi_Eq12 [emu/(g Oe)]", 22), ("exact/Eq12", 11), ("(4/3)I-ratio", 13),
         ("D0 factor (->4/3)", 18), ("mapped exact/Eq12", 0)],
        [(f"{T:.3g}", f"{r.susceptibility_eq12[j]:.4e}", f"{r.ratio_exact[j]:.4f}", f"{r.gap_prediction[j]:.4f}",
          f"{r.d0_factor[j]:.4f}", f"{r.ratio_exact_mapped[j]:.4f}") for j, T in enumerate(r.temperature_K)])
    rel_err = np.abs(np.concatenate([r.susceptibility_exact_error / r.susceptibility_exact,
                                     r.susceptibility_exact_mapped_error / r.susceptibility_exact_mapped]))
    if np.any(np.isfinite(rel_err)):
        err = float(np.nanmax(rel_err))
        lines.append(f"   exact susceptibilities: error estimate <= {err:.1e} (relative)")
    quad = np.max(np.abs(r.tanh_integral_quad_per_K / r.tanh_integral_per_K - 1.0))
    lines.append(f"   Eq. 13 limits of I(T) = int_{{D_min}}^inf tanh(E/2T) dE/E^2: relative error of each form "
                 f"(I checked against scipy quad: max |diff| {quad:.1e})")
    low, high, seed = r.relative_errors()
    lines += format_table(
        [("T [K]", 9), ("I [1/K]", 13), ("low-T 1/D_min", 15),
         (f"high-T [ln(2T/D_min) + {r.high_temperature_constant:.4f}]/(2T)", 38), ("seed 1/(2T)", 0)],
        [(f"{T:.3g}", f"{r.tanh_integral_per_K[j]:.5g}", f"{low[j]:+.3e}", f"{high[j]:+.3e}", f"{seed[j]:+.3e}")
         for j, T in enumerate(r.eq13_temperature_K)])
    return lines


def _section_d(r):
    lines = [f"d. High field at T = {r.temperature_K:g} K; departures ({r.departure:.0%}) measured from the "
             "mapped exact ensemble ('0': already as B -> 0; 'shape': ratio normalised to its B -> 0 value)"]
    rows = []
    for i, qs in enumerate(r.charge_area_A2):
        for c, name in enumerate(HIGH_FIELD_CURVES):
            head = ("",) * 3
            if c == 0:
                head = (f"{qs:g}", f"{r.B_phi_T[i]:.4g}", f"{r.D0_min_K[i]:.3g}-{r.D0_max_K[i]:.3g}")
            dep = shape = ""
            if c >= 2:
                dep = _fmt(r.departure_field_T[i, c - 2], ".3g")
                shape = _fmt(r.shape_departure_field_T[i, c - 2], ".3g")
            at_top = ">=" if r.peak_field_T[i, c] >= r.field_T[-1] else ""
            rows.append(head + (CURVE_LABELS[name], f"{r.weak_ratio_eq10[i, c]:.4f}",
                                at_top + _fmt(r.peak_field_T[i, c], ".3g"), f"{r.reference_ratio_eq10[i, c]:+.4f}",
                                f"{r.top_ratio_eq10[i, c]:+.4f}", _fmt(r.negative_field_T[i, c], ".4g"),
                                _fmt(r.positive_again_T[i, c], ".4g"), dep, shape))
    lines += format_table(
        [("(Q/e)S [A^2]", 13), ("B_phi [T]", 10), ("D0 [K]", 12), ("curve", 17), ("chi/chi_Eq12", 13),
         ("peak [T]", 9), (f"M/Eq10 @{r.reference_field_T:g}T", 14), (f"M/Eq10 @{r.field_T[-1]:g}T", 14),
         ("M<0 from [T]", 13), ("M>0 again", 10), ("departs [T]", 12), ("shape departs [T]", 0)], rows)
    if np.any(np.isfinite(r.orientation_change)):
        lines.append("   orientation check (exact, top field, doubled u nodes): change "
                     + ", ".join(f"{c:.1e}" for c in r.orientation_change) + " of max|M|")
    return lines


def _section_e(r):
    lines = ["e. Four-well (tetrahedral) ensemble against the 3LS ensemble", f"   matching: {r.matching}"]
    lines += format_table(
        [("T [K]", 9), ("B [T]", 7), ("M_3LS [emu/g]", 15), ("M_4w [emu/g]", 15), ("M_4w/M_3LS", 12),
         ("shape ratio (per B, vs lowest T)", 0)],
        [(f"{T:.3g}", f"{B:.3g}", f"{r.magnetization_three_level[j, k]:.4e}", f"{r.magnetization_four_well[j, k]:.4e}",
          f"{r.ratio[j, k]:.4f}", f"{r.shape_ratio[j, k]:.4f}")
         for j, T in enumerate(r.temperature_K) for k, B in enumerate(r.field_T)])
    lines.append(f"   verdict: {r.verdict}")
    return lines


#: The blocks of the table in order: the report attributes each one shows, and its formatter.
_SECTIONS = (
    (("gap_fit",), _section_a),
    (("eq10_effective", "eq10_exact"), _section_b),
    (("weak_field",), _section_c),
    (("high_field",), _section_d),
    (("four_well",), _section_e),
)


def format_report(report):
    """The validation report as a text table (parts that were not run are left out).

    Parameters
    ----------
    report : ValidationReport

    Returns
    -------
    str
    """
    s = report.settings
    m = s.material
    lo, hi = m.D0_range_K()
    lines = [f"tunnelsim validate: {s.title}   [settings: {s.source}]",
             f"material: n_ATS = {m.density_per_g:.4g}/g, P* = {m.P_star:.4g}, D_min = {m.D_min_K:g} K, "
             f"D0 (Q/e)S = {m.D0QS_min_K_A2:.4g}..{m.D0QS_max_K_A2:.4g} K A^2, (Q/e)S = {m.charge_area_A2:g} A^2 "
             f"(D0 = {lo:.4g}..{hi:.4g} K), exact D_max = {m.D_max_K:g} K", ""]
    for parts, section in _SECTIONS:
        results = [getattr(report, part) for part in parts]
        if any(result is not None for result in results):
            lines += section(*results) + [""]
    lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.timings_s.items())
                 + f"; total {sum(report.timings_s.values()):.1f} s")
    return "\n".join(line.rstrip() for line in lines)
