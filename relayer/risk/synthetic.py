"""Seeded, reproducible synthetic books for devnets, tests and benchmarks.

Mixes hedged (call spreads, perp + protective put) and naked (short calls/puts, outright perps)
portfolios, long and short, well-margined, under-margined and with negative equity. Cash is sized
from the round's marks and risk arrays so each archetype really lands where its name says.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from fractions import Fraction

from relayer.risk.evaluator import evaluate_account
from relayer.risk.ledger import Account, Book, Instrument
from relayer.risk.market import SPAN_GRID, MarketInputs, Scenario, UnderlyingQuote, compute_market_data
from relayer.risk.units import USD

DEFAULT_VALUATION_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400
ARCHETYPES = ("call_spread", "perp_put", "naked_short_call", "naked_short_put", "long_perp", "short_perp",
              "long_options", "under_margined", "negative_equity", "cash_only")


def default_instruments(underlying: str = "ETH", spot: int = 3000 * USD,
                        valuation_time: int = DEFAULT_VALUATION_TIME) -> tuple[Instrument, ...]:
    """Four instruments on one underlying: the perp, an ATM and a +10% call, a -10% put (30 days),
    lots of 0.01 unit."""
    exp = valuation_time + 30 * DAY
    k_atm, k_up, k_dn = (spot // USD) * USD, (spot * 11 // 10 // USD) * USD, (spot * 9 // 10 // USD) * USD
    return (
        Instrument(f"{underlying}-PERP", "perp", underlying, 0, 0, 2),
        Instrument(f"{underlying}-C-{k_atm // USD}", "call", underlying, k_atm, exp, 2),
        Instrument(f"{underlying}-C-{k_up // USD}", "call", underlying, k_up, exp, 2),
        Instrument(f"{underlying}-P-{k_dn // USD}", "put", underlying, k_dn, exp, 2),
    )


def default_market_inputs(underlying: str = "ETH", spot: int = 3000 * USD, vol_bps: int = 6000,
                          valuation_time: int = DEFAULT_VALUATION_TIME) -> MarketInputs:
    return MarketInputs(valuation_time, {underlying: UnderlyingQuote(spot, vol_bps)})


def generate_book(chain_id: int, n_accounts: int, seed: int, instruments: Sequence[Instrument] | None = None,
                  inputs: MarketInputs | None = None, grid: Sequence[Scenario] = SPAN_GRID,
                  archetypes: Sequence[str] = ARCHETYPES) -> Book:
    """`n_accounts` accounts cycling through `archetypes` (in a seeded random order); same arguments,
    same book. Uses the first four instruments in the default layout (perp, call, higher call, put)."""
    rng = random.Random(f"relayer-synthetic-book/{chain_id}/{n_accounts}/{seed}")
    ins = tuple(instruments) if instruments is not None else default_instruments()
    if len(ins) < 4:
        raise ValueError("the generator needs four instruments: perp, call, higher-strike call, put")
    md = compute_market_data(ins, inputs or default_market_inputs(), grid)
    perp, call, call_hi, put = (i.id for i in ins[:4])
    accounts: list[Account] = []
    next_id = rng.randrange(1, 1 << 20)
    for _ in range(n_accounts):
        kind = rng.choice(list(archetypes))
        size = rng.randrange(1, 200)  # lots
        pos: dict[str, int] = {}
        if kind == "call_spread":
            pos = {call: size, call_hi: -size}
        elif kind == "perp_put":
            pos = {perp: size, put: size}
        elif kind == "naked_short_call":
            pos = {call: -size}
        elif kind == "naked_short_put":
            pos = {put: -size}
        elif kind == "long_perp":
            pos = {perp: size}
        elif kind == "short_perp":
            pos = {perp: -size}
        elif kind == "long_options":
            pos = {call: size, put: rng.randrange(0, size + 1)}
        elif kind in ("under_margined", "negative_equity"):
            pos = {rng.choice([call, put]): -size, perp: rng.choice([-1, 1]) * rng.randrange(0, size + 1)}
        q = [pos.get(i.id, 0) for i in ins] + [0] * (md.n_instruments - len(ins))
        value, mm, _ = evaluate_account(q, 0, md)  # value of the positions alone; requirement
        if kind == "under_margined":
            # equity strictly between 0 and the requirement (a requirement of 0 cannot be undershot)
            target = rng.randrange(1, mm) if mm > 1 else 1
        elif kind == "negative_equity":
            target = -rng.randrange(1, 5_000 * USD)
        else:
            # well margined: equity covers the requirement with a random cushion
            target = mm + rng.randrange(0, 20_000 * USD) + int(Fraction(mm, 1) * Fraction(rng.randrange(0, 100), 100))
        cash = target - value
        accounts.append(Account(next_id, rng.getrandbits(248), cash, {k: v for k, v in pos.items() if v}))
        next_id += rng.randrange(1, 1 << 16)
    return Book(chain_id, ins, tuple(accounts))


__all__ = ["generate_book", "default_instruments", "default_market_inputs", "ARCHETYPES", "DEFAULT_VALUATION_TIME"]
