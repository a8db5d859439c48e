"""tunnelsim: quantum-mechanical simulation of tunnelling systems in glasses.

The Extended Tunnelling Model (ETM) of glass paramagnetism: exact Hamiltonians of two-,
three- and four-well tunnelling systems, their thermodynamics, ensemble averages over the
parameter distribution of Eq. 8 and over orientations, the analytic ETM formulas, and fits
of SQUID magnetisation data. Equation numbers refer to Jug & Recchia (2021).
"""

__version__ = "0.1.0"
