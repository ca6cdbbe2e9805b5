"""Zero tests, equality, ordered comparison and selection (circomlib `comparators.circom` semantics,
with the range checks circomlib leaves to the caller done here by default).

less_than(a, b, n): with a, b < 2^n (checked), a + 2^n - b lies in [1, 2^(n+1)); its bit n is 1
exactly when a >= b. n <= 252 keeps a + 2^n below r, so no field wraparound can fake the sign.
"""

from __future__ import annotations

from relayer.zk.circuit import Circuit, CircuitError, LinearCombination, Operand, Signal, as_lc, fr_inv
from relayer.zk.gadgets.bits import assert_bool, num2bits, range_check

MAX_COMPARE_BITS = 252


def is_zero(c: Circuit, x: Operand, name: str | None = None) -> Signal:
    """out = 1 if x == 0 else 0 (2 constraints: x * inv = 1 - out, x * out = 0)."""
    lx = as_lc(x)
    with c.scope(name or "is_zero"):
        inv = c.signal("inv", lambda ev: fr_inv(ev(lx)))
        out = c.signal("out", lambda ev: 1 if ev(lx) == 0 else 0)
        # x != 0 forces out = 0 via the second constraint; x == 0 forces out = 1 via the first
        c.constrain(lx, inv, 1 - out, name="inv")
        c.constrain(lx, out, 0, name="out_zero")
    return out


def is_equal(c: Circuit, a: Operand, b: Operand, name: str | None = None) -> Signal:
    """out = 1 if a == b else 0."""
    return is_zero(c, as_lc(a) - as_lc(b), name=name or "is_equal")


def _compare(c: Circuit, a: LinearCombination, b: LinearCombination, n: int, name: str,
             inputs_checked: bool) -> LinearCombination:
    """1 - bit n of (a + 2^n - b): 1 iff a < b, for a, b < 2^n."""
    if not 1 <= n <= MAX_COMPARE_BITS:
        raise CircuitError(f"comparisons support 1..{MAX_COMPARE_BITS} bits (a + 2^n must stay below r), got {n}")
    with c.scope(name):
        if not inputs_checked:
            range_check(c, a, n, name="a_range")
            range_check(c, b, n, name="b_range")
        bits = num2bits(c, a + (1 << n) - b, n + 1, name="diff")
    return 1 - bits[n]


def less_than(c: Circuit, a: Operand, b: Operand, n: int, name: str | None = None,
              inputs_checked: bool = False) -> LinearCombination:
    """1 if a < b else 0, for a, b proven < 2^n here (or by the caller when inputs_checked=True)."""
    return _compare(c, as_lc(a), as_lc(b), n, name or "less_than", inputs_checked)


def less_eq_than(c: Circuit, a: Operand, b: Operand, n: int, name: str | None = None,
                 inputs_checked: bool = False) -> LinearCombination:
    """1 if a <= b else 0 (a <= b iff a < b + 1; b + 1 <= 2^n keeps the difference in range)."""
    la, lb = as_lc(a), as_lc(b)
    with c.scope(name or "less_eq_than"):
        if not inputs_checked:
            range_check(c, la, n, name="a_range")
            range_check(c, lb, n, name="b_range")
        return _compare(c, la, lb + 1, n, "lt", inputs_checked=True)


def greater_than(c: Circuit, a: Operand, b: Operand, n: int, name: str | None = None,
                 inputs_checked: bool = False) -> LinearCombination:
    """1 if a > b else 0."""
    return less_than(c, b, a, n, name=name or "greater_than", inputs_checked=inputs_checked)


def greater_eq_than(c: Circuit, a: Operand, b: Operand, n: int, name: str | None = None,
                    inputs_checked: bool = False) -> LinearCombination:
    """1 if a >= b else 0."""
    return less_eq_than(c, b, a, n, name=name or "greater_eq_than", inputs_checked=inputs_checked)


def select(c: Circuit, sel: Operand, a: Operand, b: Operand, name: str | None = None,
           sel_checked: bool = False) -> LinearCombination:
    """a if sel == 1 else b, with sel proven boolean (unless the caller did: sel_checked=True).

    out = sel * (a - b) + b: one product plus the boolean constraint.
    """
    ls, la, lb = as_lc(sel), as_lc(a), as_lc(b)
    with c.scope(name or "select"):
        if not sel_checked:
            assert_bool(c, ls, name="sel:bool")
        t = c.mul(ls, la - lb, name="t")
    return t + lb
