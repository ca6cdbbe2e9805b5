"""Units and bounds of everything the solvency statement proves (see docs/solvency.md).

Money is micro-USD (6 decimals) as exact ints; quantities are whole lots of an instrument; marks
and risk-array entries are micro-USD per lot. Each bound below is enforced by the loaders, the
evaluator AND the circuit, so that no sum can wrap around the BN254 scalar field r (~2^253.6).
"""

from __future__ import annotations

from typing import NewType

MicroUsd = NewType("MicroUsd", int)
Lots = NewType("Lots", int)

USD = 10**6  # micro-USD per USD

CASH_BITS = 64  # -2^64 <= cash < 2^64 micro-USD (~1.8e13 USD)
QTY_BITS = 32  # -2^32 <= quantity < 2^32 lots
MARK_BITS = 40  # 0 <= mark < 2^40 micro-USD per lot (~1.1e6 USD per lot)
RISK_BITS = 40  # -2^40 <= R_{k,s} < 2^40 micro-USD per lot
VALUE_BITS = 64  # |E_a| < 2^64, 0 <= MM_a < 2^64, every MM_a - loss_{a,s} < 2^64
ID_BITS = 64  # account ids are uint64
TOTAL_BITS = 96  # public totals (A_i, L_i, MM_i, D_i) < 2^96
COUNT_BITS = 32  # U_i < 2^32 (uint32 in the attestation)
MAX_INSTRUMENTS = 16  # K <= 16 keeps |sum_k q*R| <= 2^76, far below r/2
MAX_ACCOUNTS_LOG2 = 20  # capacity <= 2^20 accounts: tree sums < 2^84

# Offset encodings of signed circuit inputs: the prover supplies value + OFFSET, proven < 2 * OFFSET,
# so negatives never rely on field wraparound.
CASH_OFFSET = 1 << CASH_BITS
QTY_OFFSET = 1 << QTY_BITS
RISK_OFFSET = 1 << RISK_BITS


def in_signed_range(v: int, bits: int) -> bool:
    """-2^bits <= v < 2^bits: exactly what the circuit's offset range check (v + 2^bits < 2^(bits+1)) admits."""
    return -(1 << bits) <= v < (1 << bits)


__all__ = [
    "MicroUsd", "Lots", "USD", "CASH_BITS", "QTY_BITS", "MARK_BITS", "RISK_BITS", "VALUE_BITS", "ID_BITS",
    "TOTAL_BITS", "COUNT_BITS", "MAX_INSTRUMENTS", "MAX_ACCOUNTS_LOG2", "CASH_OFFSET", "QTY_OFFSET", "RISK_OFFSET",
    "in_signed_range",
]
