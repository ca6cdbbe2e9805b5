"""Test helpers for the BN254 twist E'(Fq2): square roots in Fq2 and points of E' (almost all of them
outside the order-r subgroup G2, since #E'(Fq2) = r·(2q − r)). Shared by the curve, pairing and
Groth16 tests so that the points that must be rejected are built one way."""

from __future__ import annotations

from relayer.zk import pairing as pr
from relayer.zk.curve import B2, G2
from relayer.zk.field import Q


def fq2_sqrt(a: tuple[int, int]) -> tuple[int, int] | None:
    """Square root in Fq2 for q ≡ 3 (mod 4) (Adj, Rodríguez-Henríquez 2012, Algorithm 9), or None."""
    a1 = pr._f2_pow(a, (Q - 3) // 4)
    alpha = pr._f2_mul(pr._f2_mul(a1, a1), a)
    a0 = pr._f2_mul(pr._f2_pow(alpha, Q), alpha)
    if a0 == (Q - 1, 0):
        return None
    x0 = pr._f2_mul(a1, a)
    if alpha == (Q - 1, 0):
        x = pr._f2_mul((0, 1), x0)
    else:
        b = pr._f2_pow(((1 + alpha[0]) % Q, alpha[1]), (Q - 1) // 2)
        x = pr._f2_mul(b, x0)
    return x if pr._f2_mul(x, x) == (a[0] % Q, a[1] % Q) else None


def twist_point_at(x: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """A point of E'(Fq2) with this x (x³ + b' a square), or None."""
    rhs = pr._f2_mul(pr._f2_mul(x, x), x)
    y = fq2_sqrt(((rhs[0] + B2[0]) % Q, (rhs[1] + B2[1]) % Q))
    if y is None:
        return None
    pt = (x, y)
    assert G2.is_on_curve(pt)
    return pt


def first_twist_point(x1: int = 1) -> tuple[tuple[int, int], tuple[int, int]]:
    """The twist point with the smallest x = (x0, x1), x0 = 1, 2, … (deterministic)."""
    x0 = 1
    while (pt := twist_point_at((x0, x1))) is None:
        x0 += 1
    return pt
