"""Booleans, bit decomposition and range checks (circomlib `bitify.circom` semantics).

num2bits(x, n) proves x < 2^n: n boolean bits b_i with sum b_i 2^i = x. For n <= 253 the sum is
< 2^253 < r, so it cannot wrap around the field and the decomposition is unique.
"""

from __future__ import annotations

from collections.abc import Sequence

from relayer.zk.circuit import Circuit, CircuitError, Hint, LinearCombination, Operand, Signal, as_lc
from relayer.zk.field import R

MAX_BITS = 253  # 2^253 < r < 2^254: up to 253 bits a bit sum never reaches r


def assert_bool(c: Circuit, x: Operand, name: str | None = None) -> None:
    """x * (x - 1) = 0, i.e. x in {0, 1}."""
    lx = as_lc(x)
    c.constrain(lx, lx - 1, 0, name=name or "bool")


def num2bits(c: Circuit, x: Operand, n: int, name: str | None = None) -> list[Signal]:
    """Little-endian bits of x, proving x < 2^n (n + 1 constraints)."""
    if not 1 <= n <= MAX_BITS:
        raise CircuitError(f"num2bits supports 1..{MAX_BITS} bits (a wider sum could wrap mod r), got {n}")
    lx = as_lc(x)
    bits: list[Signal] = []
    with c.scope(name or "num2bits"):
        for i in range(n):
            b = c.signal(f"bits[{i}]", _bit_hint(lx, i))
            assert_bool(c, b, name=f"bits[{i}]:bool")
            bits.append(b)
        c.constrain(bits2num(bits), 1, lx, name="recompose")
    return bits


def _bit_hint(lx: LinearCombination, i: int) -> Hint:
    return lambda ev: (ev(lx) >> i) & 1


def bits2num(bits: Sequence[Operand]) -> LinearCombination:
    """sum bits[i] * 2^i as a linear combination (no constraint: the caller's bits are checked)."""
    terms: dict[int, int] = {}
    for i, b in enumerate(bits):
        for k, v in as_lc(b).terms.items():
            nv = (terms.get(k, 0) + v * (1 << i)) % R
            if nv:
                terms[k] = nv
            else:
                terms.pop(k, None)
    return LinearCombination(terms)


def range_check(c: Circuit, x: Operand, n: int, name: str | None = None) -> None:
    """Prove 0 <= x < 2^n as an integer (x's canonical representative), n <= 253."""
    num2bits(c, x, n, name=name or "range")


def range_check_product(c: Circuit, a: Operand, b: Operand, n: int, name: str | None = None) -> list[Signal]:
    """Prove 0 <= a*b < 2^n (n <= 253) with the product folded into the recomposition: n booleans and
    ONE constraint a * b = sum bits_i 2^i (a separate product signal would cost one more). Returns the bits."""
    if not 1 <= n <= MAX_BITS:
        raise CircuitError(f"range_check_product supports 1..{MAX_BITS} bits (a wider sum could wrap mod r), got {n}")
    la, lb = as_lc(a), as_lc(b)
    bits: list[Signal] = []
    with c.scope(name or "range_product"):
        for i in range(n):
            s = c.signal(f"bits[{i}]", _product_bit_hint(la, lb, i))
            assert_bool(c, s, name=f"bits[{i}]:bool")
            bits.append(s)
        c.constrain(la, lb, bits2num(bits), name="recompose")
    return bits


def _product_bit_hint(la: LinearCombination, lb: LinearCombination, i: int) -> Hint:
    return lambda ev: ((ev(la) * ev(lb) % R) >> i) & 1
