"""Market data of one round: Black-Scholes marks and SPAN-style risk arrays, as committed integers.

Inputs are integers (spot in micro-USD per underlying unit, volatilities and scan ranges in basis
points, valuation time in unix seconds). Floats are used inside, and every mark and risk-array entry
is rounded exactly once: `round()` (half to even) of the binary64 value in micro-USD per lot.
Same inputs, same integers (docs/solvency.md §Risk model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from relayer.errors import RelayerError
from relayer.risk.blackscholes import SECONDS_PER_YEAR, bs_price
from relayer.risk.ledger import Instrument
from relayer.risk.units import MARK_BITS, RISK_BITS, USD, in_signed_range

BPS = 10_000
MIN_VOL_BPS = 1  # a volatility shocked below zero is floored at 0.01%


class RiskModelError(RelayerError):
    """Market inputs are missing or out of range, or a mark / risk entry exceeds the proven bounds."""

    exit_code = 11


@dataclass(frozen=True)
class UnderlyingQuote:
    """Oracle spot (micro-USD per unit), implied vol, price scan range and vol scan, in basis points."""

    spot: int
    vol_bps: int
    scan_bps: int = 1500  # price scan range: 15% of spot
    vol_scan_bps: int = 1000  # volatility scan: ±10 vol points (absolute)

    def problems(self) -> list[str]:
        p = []
        for n in ("spot", "vol_bps", "scan_bps", "vol_scan_bps"):
            v = getattr(self, n)
            if not isinstance(v, int) or isinstance(v, bool):
                p.append(f"{n} must be an int, got {v!r}")
        if p:
            return p
        if not 0 < self.spot < 1 << 64:
            p.append(f"spot {self.spot} must be in (0, 2^64) micro-USD")
        if not 0 < self.vol_bps <= 100 * BPS:
            p.append(f"vol_bps {self.vol_bps} must be in (0, 1000000]")
        if not 0 < self.scan_bps < BPS:
            p.append(f"scan_bps {self.scan_bps} must be in (0, 10000): a scan range of 100% would price at zero")
        if not 0 <= self.vol_scan_bps <= 100 * BPS:
            p.append(f"vol_scan_bps {self.vol_scan_bps} must be in [0, 1000000]")
        return p


@dataclass(frozen=True)
class Scenario:
    """Spot moves by price_move × scan range, vol by vol_move × vol scan; the loss counts `cover` of itself."""

    name: str
    price_move: Fraction
    vol_move: int  # -1, 0, +1
    cover: Fraction = Fraction(1)


def _span16() -> tuple[Scenario, ...]:
    # CME SPAN's standard 16 risk scenarios: price 0, ±1/3, ±2/3, ±1 of the scan range with vol up and
    # down, and two extreme moves of ±3 scan ranges (vol unchanged) counting 35% of their loss.
    out: list[Scenario] = []
    for pm in (Fraction(0), Fraction(1, 3), Fraction(-1, 3), Fraction(2, 3), Fraction(-2, 3), Fraction(1), Fraction(-1)):
        for vm in (1, -1):
            out.append(Scenario(f"price{'+' if pm >= 0 else ''}{pm}/vol{'+' if vm > 0 else '-'}", pm, vm))
    out.append(Scenario("extreme+3", Fraction(3), 0, Fraction(35, 100)))
    out.append(Scenario("extreme-3", Fraction(-3), 0, Fraction(35, 100)))
    return tuple(out)


SPAN_GRID: tuple[Scenario, ...] = _span16()


def compact_grid(n: int) -> tuple[Scenario, ...]:
    """A smaller grid for small test circuits: the n scenarios of SPAN_GRID most likely to be the
    worst (full moves both ways, extremes, then the rest)."""
    order = [10, 12, 14, 15, 11, 13, 6, 8, 7, 9, 2, 4, 3, 5, 0, 1]
    if not 1 <= n <= len(order):
        raise RiskModelError(f"grid size must be 1..{len(order)}, got {n}")
    return tuple(SPAN_GRID[i] for i in order[:n])


@dataclass(frozen=True)
class MarketInputs:
    valuation_time: int
    quotes: Mapping[str, UnderlyingQuote]


@dataclass(frozen=True)
class MarketData:
    """What the circuit uses and the commitment binds: marks[k] (micro-USD per lot) and
    risk[k][s] (value change of one lot in scenario s, cover applied) for instruments in book order."""

    instrument_ids: tuple[str, ...]
    marks: tuple[int, ...]
    risk: tuple[tuple[int, ...], ...]
    scenario_names: tuple[str, ...]

    @property
    def n_instruments(self) -> int:
        return len(self.marks)

    @property
    def n_scenarios(self) -> int:
        return len(self.scenario_names)

    def commitment(self) -> int:
        from relayer.risk.commitment import market_commitment

        return market_commitment(self.marks, self.risk)

    def padded(self, n_instruments: int, n_scenarios: int) -> MarketData:
        """Padded to a circuit's capacity: extra instruments have mark 0 and zero risk; extra
        scenarios repeat the no-loss scenario (all zero), which never raises a requirement."""
        k, s = self.n_instruments, self.n_scenarios
        if n_instruments < k or n_scenarios < s:
            raise RiskModelError(f"market data ({k} instruments, {s} scenarios) exceeds the capacity "
                                 f"({n_instruments}, {n_scenarios})")
        risk = tuple(tuple(row) + (0,) * (n_scenarios - s) for row in self.risk)
        risk += tuple((0,) * n_scenarios for _ in range(n_instruments - k))
        return MarketData(self.instrument_ids + tuple(f"<pad{i}>" for i in range(n_instruments - k)),
                          self.marks + (0,) * (n_instruments - k), risk,
                          self.scenario_names + tuple("<pad>" for _ in range(n_scenarios - s)))


def _round_once(x: float, what: str) -> int:
    if not math.isfinite(x):
        raise RiskModelError(f"{what} is not finite ({x}); check the spot, vol and strike")
    return round(x)  # round half to even, the documented rule


def _value(ins: Instrument, spot: float, vol: float, t: int) -> float:
    """USD value of ONE underlying unit's worth of the instrument."""
    if ins.kind == "perp":
        return spot
    return bs_price(ins.kind, spot, ins.strike / USD, (ins.expiry - t) / SECONDS_PER_YEAR, vol)


def compute_market_data(instruments: Sequence[Instrument], inputs: MarketInputs,
                        grid: Sequence[Scenario] = SPAN_GRID) -> MarketData:
    """Marks and risk arrays for `instruments` (book order) at `inputs`, over `grid`."""
    problems: list[str] = []
    for u, q in inputs.quotes.items():
        problems += [f"quote {u!r}: {m}" for m in q.problems()]
    for ins in instruments:
        if ins.underlying not in inputs.quotes:
            problems.append(f"instrument {ins.id!r}: no quote for underlying {ins.underlying!r}")
    if not grid:
        problems.append("the scenario grid is empty")
    for u, q in inputs.quotes.items():
        for sc in grid:
            # a move of 3 scan ranges of 40% would price the underlying below zero
            if not q.problems() and 1 + sc.price_move * Fraction(q.scan_bps, BPS) <= 0:
                problems.append(f"quote {u!r}: scenario {sc.name} moves spot to or below zero "
                                f"(scan {q.scan_bps} bps x {sc.price_move}); use a smaller scan range")
                break
    if problems:
        raise RiskModelError("market inputs rejected: " + "; ".join(problems))
    marks: list[int] = []
    risk: list[tuple[int, ...]] = []
    t = inputs.valuation_time
    for ins in instruments:
        q = inputs.quotes[ins.underlying]
        per_lot = USD / 10**ins.lot_decimals  # micro-USD per lot for 1 USD per unit
        spot, vol = q.spot / USD, q.vol_bps / BPS
        base = _value(ins, spot, vol, t)
        if ins.kind == "perp":
            # exact: spot is an integer; round half to even on the exact rational
            mark = round(Fraction(q.spot, 10**ins.lot_decimals))
        else:
            mark = _round_once(base * per_lot, f"mark of {ins.id}")
        if not 0 <= mark < 1 << MARK_BITS:
            raise RiskModelError(f"mark of {ins.id} = {mark} micro-USD per lot is outside [0, 2^{MARK_BITS}); "
                                 "use a smaller lot (larger lot_decimals)")
        marks.append(mark)
        row: list[int] = []
        for sc in grid:
            s_spot = spot * float(1 + sc.price_move * Fraction(q.scan_bps, BPS))
            s_vol = max(vol + sc.vol_move * q.vol_scan_bps / BPS, MIN_VOL_BPS / BPS)
            change = (_value(ins, s_spot, s_vol, t) - base) * float(sc.cover)
            r = _round_once(change * per_lot, f"risk of {ins.id} in {sc.name}")
            if not in_signed_range(r, RISK_BITS):
                raise RiskModelError(f"risk entry of {ins.id} in {sc.name} = {r} is outside ±2^{RISK_BITS}")
            row.append(r)
        risk.append(tuple(row))
    return MarketData(tuple(i.id for i in instruments), tuple(marks), tuple(risk), tuple(s.name for s in grid))


__all__ = ["UnderlyingQuote", "Scenario", "SPAN_GRID", "compact_grid", "MarketInputs", "MarketData",
           "compute_market_data", "RiskModelError"]
