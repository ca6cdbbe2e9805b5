"""Pure-Python evaluator of SPEC §2 for one chain's book (no circuit): the oracle circuit tests compare to.

E_a = c_a + Σ_k q_ak·mark_k, L_a = max(E_a, 0), D_a = max(−E_a, 0),
MM_a = max(0, max_s −Σ_k q_ak·R_ks), U_a = [E_a < MM_a]; totals are the sums. The bounds the circuit
proves are checked here too, so a book the evaluator accepts is exactly a book the circuit can prove.
"""

from __future__ import annotations

from dataclasses import dataclass

from relayer.risk.ledger import Book
from relayer.risk.market import MarketData, RiskModelError
from relayer.risk.units import VALUE_BITS


@dataclass(frozen=True)
class AccountRisk:
    id: int
    salt: int
    equity: int  # E_a, micro-USD, signed
    owed: int  # L_a
    bad_debt: int  # D_a
    requirement: int  # MM_a
    under_margined: bool  # E_a < MM_a
    losses: tuple[int, ...]  # −Σ_k q·R_ks per scenario (positive = loss)
    worst_scenario: int | None  # index of the scenario setting MM_a, None when MM_a = 0 from no loss


@dataclass(frozen=True)
class BookRisk:
    accounts: tuple[AccountRisk, ...]
    liabilities: int  # L_i
    maintenance_margin: int  # MM_i
    bad_debt: int  # D_i
    under_margined: int  # U_i


def evaluate_account(quantities: list[int], cash: int, market: MarketData) -> tuple[int, int, tuple[int, ...]]:
    """(E, MM, losses) for one account; quantities in the market data's instrument order."""
    equity = cash + sum(q * m for q, m in zip(quantities, market.marks))
    losses = tuple(-sum(q * market.risk[k][s] for k, q in enumerate(quantities)) for s in range(market.n_scenarios))
    mm = max(0, *losses) if losses else 0
    return equity, mm, losses


def evaluate(book: Book, market: MarketData) -> BookRisk:
    if market.instrument_ids[:len(book.instruments)] != tuple(i.id for i in book.instruments):
        raise RiskModelError("market data instruments do not match the book's instruments (same ids, same order)")
    out: list[AccountRisk] = []
    limit = 1 << VALUE_BITS
    for a in book.accounts:
        q = book.quantities(a) + [0] * (market.n_instruments - len(book.instruments))
        e, mm, losses = evaluate_account(q, a.cash, market)
        if not -limit < e < limit:
            raise RiskModelError(f"account {a.id}: equity {e} micro-USD is outside ±2^{VALUE_BITS}, the proven range")
        # the circuit proves 0 <= MM - loss_s < 2^64 for every s: a scenario gain of 2^64 or more is unprovable
        for s, loss in enumerate(losses):
            if not 0 <= mm - loss < limit:
                raise RiskModelError(f"account {a.id}: scenario {s} swing {mm - loss} is outside [0, 2^{VALUE_BITS})")
        worst = None if mm == 0 else losses.index(mm)
        out.append(AccountRisk(a.id, a.salt, e, max(e, 0), max(-e, 0), mm, e < mm, losses, worst))
    return BookRisk(tuple(out), sum(x.owed for x in out), sum(x.requirement for x in out),
                    sum(x.bad_debt for x in out), sum(1 for x in out if x.under_margined))


__all__ = ["AccountRisk", "BookRisk", "evaluate", "evaluate_account"]
