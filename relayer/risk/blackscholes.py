"""Black-Scholes values of European options (Black & Scholes 1973; zero rate, no dividends).

Floats live only here and in relayer.risk.market; each result is rounded ONCE there, by the rule
in docs/solvency.md, into the integers that are committed and proven.
"""

from __future__ import annotations

import math

SECONDS_PER_YEAR = 365 * 24 * 3600  # ACT/365 year fraction


def _norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def bs_price(kind: str, spot: float, strike: float, years: float, vol: float) -> float:
    """C = S N(d1) - K N(d2), P = K N(-d2) - S N(-d1), d1,2 = (ln(S/K) ± σ²T/2) / (σ√T).
    At or past expiry, or with zero volatility, the value is the intrinsic value."""
    if spot <= 0.0 or strike <= 0.0:
        raise ValueError(f"spot and strike must be positive, got {spot}, {strike}")
    if kind not in ("call", "put"):
        raise ValueError(f"kind must be call or put, got {kind!r}")
    if years <= 0.0 or vol <= 0.0:
        return max(spot - strike, 0.0) if kind == "call" else max(strike - spot, 0.0)
    sd = vol * math.sqrt(years)
    d1 = (math.log(spot / strike) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    if kind == "call":
        return spot * _norm_cdf(d1) - strike * _norm_cdf(d2)
    return strike * _norm_cdf(-d2) - spot * _norm_cdf(-d1)


__all__ = ["bs_price", "SECONDS_PER_YEAR"]
