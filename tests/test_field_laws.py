"""Field and group laws of the numba limb code (relayer.zk.arith.kernels) against Python ints.

Fr, Fq, Fq2 primitives are compared with exact integer arithmetic (hypothesis, edge values 0, 1,
p-1, values >= p); G1/G2 Jacobian formulas with the plain-int affine group law of `relayer.zk.curve`.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayer.zk import curve
from relayer.zk.arith import gen_kernels, kernels as K
from relayer.zk.field import Q, R, g1_to_array, g2_to_array, ints_to_limbs, limbs_to_ints

MONT = 1 << 256
FIELDS = {"fq": (Q, K.fq_apply), "fr": (R, K.fr_apply)}
ADD, SUB, MUL, SQR, NEG, INV, TO_MONT, FROM_MONT, REDUCE, DBL = range(10)

law_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _elem(p: int) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([0, 1, 2, p - 1, p - 2, (p - 1) // 2]), st.integers(0, p - 1))


def _apply(field: str, op: int, xs: list[int], ys: list[int] | None = None, mont: bool = True) -> list[int]:
    """Run one primitive on canonical ints (converted into and out of Montgomery form when mont)."""
    p, fn = FIELDS[field]
    conv = (lambda v: v * MONT % p) if mont else (lambda v: v)
    a = ints_to_limbs([conv(x) for x in xs])
    b = ints_to_limbs([conv(y) for y in (ys if ys is not None else xs)])
    out = limbs_to_ints(fn(op, a, b))
    rinv = pow(MONT, -1, p)
    return [v * rinv % p for v in out] if mont else out


@pytest.mark.parametrize("field", ["fq", "fr"])
@law_settings
@given(data=st.data())
def test_field_ops_match_python_ints(field: str, data: Any) -> None:
    p = FIELDS[field][0]
    x = data.draw(_elem(p))
    y = data.draw(_elem(p))
    assert _apply(field, ADD, [x], [y]) == [(x + y) % p]
    assert _apply(field, SUB, [x], [y]) == [(x - y) % p]
    assert _apply(field, MUL, [x], [y]) == [x * y % p]
    assert _apply(field, SQR, [x]) == [x * x % p]
    assert _apply(field, NEG, [x]) == [(-x) % p]
    assert _apply(field, DBL, [x]) == [2 * x % p]
    assert _apply(field, INV, [x]) == [pow(x, -1, p) if x else 0]


@pytest.mark.parametrize("field", ["fq", "fr"])
@law_settings
@given(data=st.data())
def test_montgomery_round_trip_and_reduce(field: str, data: Any) -> None:
    p = FIELDS[field][0]
    x = data.draw(_elem(p))
    m = _apply(field, TO_MONT, [x], mont=False)
    assert m == [x * MONT % p]
    assert _apply(field, FROM_MONT, m, mont=False) == [x]
    # any 256-bit value reduces to its canonical residue (scalars from callers may be >= r)
    big = data.draw(st.one_of(st.sampled_from([p, p + 1, 2 * p - 1, (1 << 256) - 1]), st.integers(0, (1 << 256) - 1)))
    assert _apply(field, REDUCE, [big], mont=False) == [big % p]


@pytest.mark.parametrize("field", ["fq", "fr"])
def test_field_results_are_canonical_at_the_edges(field: str) -> None:
    # the largest operands exercise the final conditional subtraction of every primitive
    p = FIELDS[field][0]
    edge = [0, 1, p - 1, p - 2, 2, (1 << 255) % p]
    xs = [a for a in edge for _ in edge]
    ys = [b for _ in edge for b in edge]
    for op, ref in ((ADD, lambda a, b: (a + b) % p), (SUB, lambda a, b: (a - b) % p), (MUL, lambda a, b: a * b % p)):
        raw = _apply(field, op, xs, ys, mont=False)
        assert all(v < p for v in raw)
        assert _apply(field, op, xs, ys) == [ref(a, b) for a, b in zip(xs, ys)]


def _fq2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def _fq2_apply(op: int, xs: list[tuple[int, int]], ys: list[tuple[int, int]]) -> list[tuple[int, int]]:
    a = ints_to_limbs([c * MONT % Q for x in xs for c in x]).reshape(-1, 2, 4)
    b = ints_to_limbs([c * MONT % Q for y in ys for c in y]).reshape(-1, 2, 4)
    out = [v * pow(MONT, -1, Q) % Q for v in limbs_to_ints(K.fq2_apply(op, a, b))]
    return [(out[i], out[i + 1]) for i in range(0, len(out), 2)]


@law_settings
@given(data=st.data())
def test_fq2_ops_match_python_ints(data: Any) -> None:
    x = (data.draw(_elem(Q)), data.draw(_elem(Q)))
    y = (data.draw(_elem(Q)), data.draw(_elem(Q)))
    assert _fq2_apply(ADD, [x], [y]) == [((x[0] + y[0]) % Q, (x[1] + y[1]) % Q)]
    assert _fq2_apply(SUB, [x], [y]) == [((x[0] - y[0]) % Q, (x[1] - y[1]) % Q)]
    assert _fq2_apply(MUL, [x], [y]) == [_fq2_mul(x, y)]
    assert _fq2_apply(SQR, [x], [y]) == [_fq2_mul(x, x)]
    assert _fq2_apply(NEG, [x], [y]) == [((-x[0]) % Q, (-x[1]) % Q)]
    inv = _fq2_apply(INV, [x], [y])[0]
    if x == (0, 0):
        assert inv == (0, 0)
    else:
        assert _fq2_mul(inv, x) == (1, 0)


# ---- group laws on the Jacobian formulas --------------------------------------------------
GROUPS = ["g1", "g2"]


def _rand_point(group: str, rng: random.Random) -> Any:
    k = rng.randrange(1, R)
    return curve.g1_mul(curve.G1_GEN, k) if group == "g1" else curve.g2_mul(curve.G2_GEN, k)


def _jac(group: str, pts: list[Any], rng: random.Random | None = None) -> np.ndarray:
    """Montgomery Jacobian arrays; with rng a random Z != 1 (X = x Z^2, Y = y Z^3) so that the
    formulas see general inputs, else Z = 1 (the affine input of mixed addition). None -> Z = 0."""
    one = MONT % Q
    if group == "g1":
        aff, _ = K.g1_prepare(g1_to_array(pts))
        out = K.g1_jac_zeros(len(pts))
        zs = [(rng.randrange(1, Q) if rng else 1, 0) for _ in pts]
    else:
        aff, _ = K.g2_prepare(g2_to_array(pts))
        out = K.g2_jac_zeros(len(pts))
        zs = [(rng.randrange(1, Q), rng.randrange(Q)) if rng else (1, 0) for _ in pts]
    for i, p in enumerate(pts):
        x, y = aff[i, 0], aff[i, 1]
        if p is None:
            out[i, 0] = out[i, 1] = _mont_elem(group, (one, 0) if group == "g2" else one)
            continue
        z = zs[i]
        if group == "g1":
            zm = ints_to_limbs([z[0] * MONT % Q])
            z2 = K.fq_apply(SQR, zm, zm)
            z3 = K.fq_apply(MUL, z2, zm)
            out[i, 0] = K.fq_apply(MUL, x.reshape(1, 4).copy(), z2)[0]
            out[i, 1] = K.fq_apply(MUL, y.reshape(1, 4).copy(), z3)[0]
            out[i, 2] = zm[0]
        else:
            zm = ints_to_limbs([z[0] * MONT % Q, z[1] * MONT % Q]).reshape(1, 2, 4)
            z2 = K.fq2_apply(SQR, zm, zm)
            z3 = K.fq2_apply(MUL, z2, zm)
            out[i, 0] = K.fq2_apply(MUL, x.reshape(1, 2, 4).copy(), z2)[0]
            out[i, 1] = K.fq2_apply(MUL, y.reshape(1, 2, 4).copy(), z3)[0]
            out[i, 2] = zm[0]
    return out


def _mont_elem(group: str, v: Any) -> np.ndarray:
    if group == "g1":
        return ints_to_limbs([v])[0]
    return ints_to_limbs(list(v)).reshape(2, 4)


def _affine(group: str, jac: np.ndarray) -> list[Any]:
    from relayer.zk.field import array_to_g1, array_to_g2

    if group == "g1":
        return array_to_g1(K.g1_normalize(jac, 1, True))
    return array_to_g2(K.g2_normalize(jac, 1, True))


def _op(group: str, op: int, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (K.g1_apply if group == "g1" else K.g2_apply)(op, p, q)


@pytest.mark.parametrize("group", GROUPS)
def test_group_laws(group: str) -> None:
    rng = random.Random(11 if group == "g1" else 12)
    add = curve.g1_add if group == "g1" else curve.g2_add
    neg = curve.g1_neg if group == "g1" else curve.g2_neg
    on_curve = curve.is_on_curve_g1 if group == "g1" else curve.is_on_curve_g2
    n = 6
    P = [_rand_point(group, rng) for _ in range(n)]
    Qs = [_rand_point(group, rng) for _ in range(n)]
    Rs = [_rand_point(group, rng) for _ in range(n)]
    jp, jq, jr = _jac(group, P, rng), _jac(group, Qs, rng), _jac(group, Rs, rng)
    inf = _jac(group, [None] * n, rng)
    # addition agrees with relayer.zk.curve's affine law and lands on the curve
    s = _affine(group, _op(group, 0, jp, jq))
    assert s == [add(a, b) for a, b in zip(P, Qs)]
    assert all(on_curve(x) for x in s)
    # commutativity and associativity
    assert _affine(group, _op(group, 0, jq, jp)) == s
    left = _op(group, 0, _op(group, 0, jp, jq), jr)
    right = _op(group, 0, jp, _op(group, 0, jq, jr))
    assert _affine(group, left) == _affine(group, right)
    # identity on both sides
    assert _affine(group, _op(group, 0, jp, inf)) == P
    assert _affine(group, _op(group, 0, inf, jp)) == P
    assert _affine(group, _op(group, 1, inf, inf)) == [None] * n
    # inverse: P + (-P) = O through the full and the mixed formula
    jneg = _op(group, 3, jp, jp)
    assert _affine(group, jneg) == [neg(a) for a in P]
    assert _affine(group, _op(group, 0, jp, jneg)) == [None] * n
    aff_neg = _jac(group, [neg(a) for a in P])
    assert _affine(group, _op(group, 2, jp, aff_neg)) == [None] * n
    # doubling == adding to itself, through dbl, add and madd (the P == Q branch)
    dbl = _affine(group, _op(group, 1, jp, jp))
    assert dbl == [add(a, a) for a in P]
    assert _affine(group, _op(group, 0, jp, jp)) == dbl
    aff_p = _jac(group, P)
    assert _affine(group, _op(group, 2, jp, aff_p)) == dbl
    # mixed addition into infinity returns the affine point
    assert _affine(group, _op(group, 2, inf, aff_p)) == P


def test_prepare_flags_bad_points() -> None:
    good = curve.g1_mul(curve.G1_GEN, 5)
    assert good is not None
    pts = g1_to_array([good, None, (good[0], (good[1] + 1) % Q), (1, 2)])
    # a coordinate >= q cannot come from g1_to_array's valid points: write it directly
    pts[3, 0] = ints_to_limbs([Q + 1])[0]
    _, status = K.g1_prepare(pts)
    assert list(status) == [0, 1, 3, 2]
    g2 = curve.g2_mul(curve.G2_GEN, 3)
    assert g2 is not None
    bad2 = ((g2[0][0], g2[0][1]), (g2[1][0], (g2[1][1] + 1) % Q))
    _, status2 = K.g2_prepare(g2_to_array([g2, None, bad2]))
    assert list(status2) == [0, 1, 3]


def test_generated_kernels_are_current() -> None:
    """kernels.py is generated; editing it by hand (or the generator without rerunning) fails here."""
    assert gen_kernels.OUT.read_text() == gen_kernels.generate(), "run: python -m relayer.zk.arith.gen_kernels"


def test_plain_int_curve_helpers() -> None:
    """relayer.zk.curve: the generators, group order, negation and the on-curve checks."""
    g1, g2 = curve.G1_GEN, curve.G2_GEN
    assert curve.is_on_curve_g1(g1) and curve.is_on_curve_g2(g2)
    assert curve.g1_mul(g1, R) is None and curve.g2_mul(g2, R) is None
    assert curve.g1_mul(g1, R + 5) == curve.g1_mul(g1, 5)
    assert curve.g1_add(g1, curve.g1_neg(g1)) is None
    assert curve.g2_add(g2, curve.g2_neg(g2)) is None
    assert curve.g1_add(g1, g1) == curve.g1_mul(g1, 2)
    assert curve.g2_add(g2, g2) == curve.g2_mul(g2, 2)
    assert curve.g1_add(None, g1) == g1 and curve.g1_neg(None) is None
    # rejected: off the curve, and coordinates that are not canonical (x + q is the same residue)
    assert not curve.is_on_curve_g1((1, 3))
    assert not curve.is_on_curve_g1((1 + Q, 2))
    assert not curve.is_on_curve_g2((g2[0], (g2[1][0], (g2[1][1] + 1) % Q)))
    assert not curve.is_on_curve_g2(((g2[0][0] + Q, g2[0][1]), g2[1]))
    assert curve.is_on_curve_g1(None) and curve.is_on_curve_g2(None)


@pytest.mark.parametrize("modulus", [R, Q])
def test_first_not_below_finds_the_first_unreduced_value(modulus: int) -> None:
    """The one vectorised range check (prover witness, .wtns reader, gpu base upload): values that
    tie the modulus on high limbs and differ only on lower ones are decided exactly."""
    from relayer.zk.field import first_not_below

    ok = [0, 1, modulus - 1, modulus - (1 << 64), modulus - (1 << 192), (modulus >> 192) << 192]
    assert first_not_below(ints_to_limbs(ok), modulus) == -1
    assert first_not_below(ints_to_limbs([]), modulus) == -1
    for bad in (modulus, modulus + 1, modulus + (1 << 64), (1 << 256) - 1, ((modulus >> 192) + 1) << 192):
        vals = ok[:3] + [bad] + ok[3:] + [bad]
        assert first_not_below(ints_to_limbs(vals), modulus) == 3
    pts = ints_to_limbs([1, 2, modulus, 4]).reshape(2, 2, 4)  # (..., 4) shapes are flattened to rows
    assert first_not_below(pts, modulus) == 2
