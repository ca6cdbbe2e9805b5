"""Signed values without field wraparound: a signed integer v in [-2^n, 2^n) is held as v mod r, and
its sign is proven by decomposing the offset value v + 2^n into n + 1 bits (it lies in [0, 2^(n+1))
exactly when v is in range; n <= 252 keeps 2^(n+1) below r so the decomposition is unique).

Used for equities and balances that may be negative: max(v, 0) and max(-v, 0) are then exact.
"""

from __future__ import annotations

from relayer.zk.circuit import Circuit, CircuitError, LinearCombination, Operand, Signal, as_lc
from relayer.zk.gadgets.bits import num2bits

MAX_SIGNED_BITS = 252


def is_negative(c: Circuit, v: Operand, n: int, name: str | None = None) -> LinearCombination:
    """1 if the signed value v < 0 else 0, proving -2^n <= v < 2^n (n + 2 constraints)."""
    if not 1 <= n <= MAX_SIGNED_BITS:
        raise CircuitError(f"signed values support 1..{MAX_SIGNED_BITS} magnitude bits, got {n}")
    with c.scope(name or "is_negative"):
        bits = num2bits(c, as_lc(v) + (1 << n), n + 1, name="offset")
    # v + 2^n >= 2^n  <=>  v >= 0
    return 1 - bits[n]


def split_signed(c: Circuit, v: Operand, n: int, name: str | None = None) -> tuple[Signal, LinearCombination, LinearCombination]:
    """(pos, neg, is_neg) with pos = max(v, 0), neg = max(-v, 0), v = pos - neg, for -2^n <= v < 2^n
    (proven). pos and neg are < 2^n as integers; n + 3 constraints."""
    lv = as_lc(v)
    with c.scope(name or "split_signed"):
        neg_flag = is_negative(c, lv, n, name="sign")
        # pos = (1 - is_neg) * v: v itself when v >= 0, else 0
        pos = c.mul(1 - neg_flag, lv, name="pos")
    return pos, pos - lv, neg_flag
