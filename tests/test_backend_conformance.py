"""The one conformance suite every prover backend runs (reference, cpu, gpu).

To add a backend, add its name to `backend_params()`. Expected values never come from the backend
under test: MSM bases are known multiples b_i*G, so sum s_i*(b_i*G) = (sum s_i*b_i)*G is one py_ecc
scalar multiplication; NTTs are checked against the O(n^2) definition at small sizes.
"""

from __future__ import annotations

import os
import random
from functools import lru_cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayer.errors import BackendUnavailable, ProverError
from relayer.zk import curve
from relayer.zk.backends import get_backend
from relayer.zk.backends.base import ProverBackend
from relayer.zk.field import (
    Q,
    R,
    array_to_g1,
    array_to_g2,
    fr_root_of_unity,
    g1_to_array,
    g2_to_array,
    ints_to_limbs,
    limbs_to_ints,
)

# the reference backend is py_ecc: sizes above the first limit are marked slow for it, and sizes
# above the second are not run on it at all (4096 G2 points take minutes)
REFERENCE_FAST_LIMIT = 64
REFERENCE_MAX = 1000


def backend_params() -> list[Any]:
    """Every backend the suite runs; gpu is marked so that it only runs where CUDA exists."""
    return [
        pytest.param("reference", id="reference"),
        pytest.param("cpu", id="cpu"),
        pytest.param("gpu", id="gpu", marks=pytest.mark.gpu),
    ]


def slow_reference_params() -> list[Any]:
    """backend_params() with the pure-Python reference marked slow: for cases too heavy for py_ecc in
    the default run (they run in scripts/test-slow; the fixed small cases cover reference by default)."""
    return [pytest.param("reference", id="reference", marks=pytest.mark.slow), *backend_params()[1:]]


def backend_size_params(sizes: list[int]) -> list[Any]:
    """(backend, size) pairs; the slow reference backend runs large sizes only with -m slow."""
    out = []
    for bp in backend_params():
        name = bp.values[0]
        for n in sizes:
            if name == "reference" and n > REFERENCE_MAX:
                continue
            marks = list(bp.marks)
            if name == "reference" and n > REFERENCE_FAST_LIMIT:
                marks.append(pytest.mark.slow)
            out.append(pytest.param(name, n, id=f"{name}-{n}", marks=marks))
    return out


@pytest.fixture(scope="module", params=backend_params())
def backend(request: pytest.FixtureRequest) -> ProverBackend:
    return _get(request.param)


def _get(name: str) -> ProverBackend:
    try:
        return get_backend(name)
    except BackendUnavailable as exc:
        # gpu is the only backend that may legitimately be absent (no CUDA device here), except on the
        # device run (scripts/device-gpu-check sets RELAYER_REQUIRE_GPU): there a skip would look green
        if name == "gpu" and not os.environ.get("RELAYER_REQUIRE_GPU"):
            pytest.skip(f"backend {name} not usable here: {exc}")
        pytest.fail(f"backend {name} must be usable on every machine: {exc}")


# ---- bases with known discrete logs --------------------------------------------------------
GROUP_OPS = {
    "g1": (curve.G1_GEN, curve.g1_add, curve.g1_mul, g1_to_array, "prepare_g1", "msm_g1"),
    "g2": (curve.G2_GEN, curve.g2_add, curve.g2_mul, g2_to_array, "prepare_g2", "msm_g2"),
}


@lru_cache(maxsize=None)
def _ladder(group: str, n: int, seed: int) -> tuple[tuple[int, ...], tuple[Any, ...]]:
    """n points b_i*G with b_i = b_0 + i*d (one group addition each), and their logs b_i."""
    gen, add, mul, _, _, _ = GROUP_OPS[group]
    rng = random.Random(seed)
    b0, d = rng.randrange(1, R), rng.randrange(1, R)
    p, step = mul(gen, b0), mul(gen, d)
    logs, pts = [], []
    for i in range(n):
        logs.append((b0 + i * d) % R)
        pts.append(p)
        p = add(p, step)
    return tuple(logs), tuple(pts)


def _special_bases(group: str, n: int, seed: int) -> tuple[list[int], list[Any]]:
    """Ladder bases with edge cases mixed in: infinity, repeats, P and -P (logs kept in step)."""
    logs, pts = (list(x) for x in _ladder(group, n, seed))
    gen = GROUP_OPS[group][0]
    neg = curve.g1_neg if group == "g1" else curve.g2_neg
    if n >= 3:
        pts[1], logs[1] = None, 0  # infinity in the bases
        pts[2], logs[2] = neg(pts[0]), (-logs[0]) % R  # P and -P
    if n >= 6:
        pts[5], logs[5] = pts[4], logs[4]  # repeated point
        pts[3], logs[3] = gen, 1
    return logs, pts


def _special_scalars(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    edge = [0, 1, R - 1, R, R + 1, 2 * R + 5, (1 << 256) - 1, 2, R - 2]
    out = []
    for i in range(n):
        u = rng.random()
        if u < 0.2:
            out.append(0)
        elif u < 0.3:
            out.append(1)
        elif u < 0.45:
            out.append(rng.choice(edge))
        elif u < 0.55:
            out.append(rng.randrange(1 << 256))  # >= r most of the time: must be reduced
        elif u < 0.6:
            out.append(rng.randrange(1 << rng.randrange(1, 64)))  # small scalars
        else:
            out.append(rng.randrange(R))
    return out


def _expected(group: str, logs: list[int], scalars: list[int]) -> Any:
    gen, _, mul, _, _, _ = GROUP_OPS[group]
    return mul(gen, sum(s * b for s, b in zip(scalars, logs)) % R)


def _msm(backend: ProverBackend, group: str, pts: list[Any], scalars: list[int]) -> Any:
    _, _, _, to_arr, prep, msm = GROUP_OPS[group]
    handle = getattr(backend, prep)(to_arr(pts))
    return getattr(backend, msm)(handle, ints_to_limbs(scalars) if scalars else np.zeros((0, 4), np.uint64))


# ---- MSM --------------------------------------------------------------------------------------
@pytest.mark.parametrize("group", ["g1", "g2"])
@pytest.mark.parametrize(("backend_name", "n"), backend_size_params([1, 2, 3, 17, 256, 1000, 4096]))
def test_msm_matches_known_logs(backend_name: str, n: int, group: str) -> None:
    backend = _get(backend_name)
    logs, pts = _special_bases(group, n, seed=n)
    scalars = _special_scalars(n, seed=1000 + n)
    assert _msm(backend, group, pts, scalars) == _expected(group, logs, scalars)


@lru_cache(maxsize=None)
def _pool(group: str) -> tuple[tuple[int, ...], tuple[Any, ...]]:
    """12 points with known logs plus their negations and infinity: bases for property tests."""
    logs, pts = _ladder(group, 12, seed=99)
    neg = curve.g1_neg if group == "g1" else curve.g2_neg
    return (
        logs + tuple((-b) % R for b in logs) + (0,),
        pts + tuple(neg(p) for p in pts) + (None,),
    )


@pytest.mark.parametrize("backend", slow_reference_params(), indirect=True)
@pytest.mark.parametrize("group", ["g1", "g2"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_msm_property(backend: ProverBackend, group: str, data: Any) -> None:
    """Random mixes of repeated points, P/-P pairs, infinity and 0/1/edge/large scalars."""
    logs, pts = _pool(group)
    idx = data.draw(st.lists(st.integers(0, len(pts) - 1), min_size=1, max_size=40))
    scalar = st.one_of(
        st.sampled_from([0, 1, 2, R - 1, R, R + 1, (1 << 256) - 1]),
        st.integers(0, (1 << 256) - 1),
        st.integers(0, 1 << 20),
    )
    scalars = data.draw(st.lists(scalar, min_size=len(idx), max_size=len(idx)))
    got = _msm(backend, group, [pts[i] for i in idx], scalars)
    assert got == _expected(group, [logs[i] for i in idx], scalars)


@pytest.mark.parametrize("group", ["g1", "g2"])
def test_msm_edge_inputs(backend: ProverBackend, group: str) -> None:
    logs, pts = _special_bases(group, 8, seed=3)
    # all scalars zero, and a cancelling pair P, -P with equal scalars: infinity
    assert _msm(backend, group, pts, [0] * 8) is None
    assert _msm(backend, group, [pts[0], pts[2]], [7, 7]) is None
    # scalars r and r-1 on one point: (r-1)P = -P
    neg = curve.g1_neg if group == "g1" else curve.g2_neg
    assert _msm(backend, group, [pts[0]], [R - 1]) == neg(pts[0])
    assert _msm(backend, group, [pts[0], pts[0]], [R, 1]) == pts[0]
    # only ones (the witness fast path), and only points at infinity
    assert _msm(backend, group, pts, [1] * 8) == _expected(group, logs, [1] * 8)
    assert _msm(backend, group, [None, None], [5, 1]) is None
    # the same point many times: the bucket sees P + P (doubling branch)
    same = [pts[0]] * 20
    assert _msm(backend, group, same, [3] * 20) == _expected(group, [logs[0]] * 20, [3] * 20)


@pytest.mark.parametrize("group", ["g1", "g2"])
def test_msm_fewer_scalars_than_bases_and_handle_reuse(backend: ProverBackend, group: str) -> None:
    _, _, _, to_arr, prep, msm = GROUP_OPS[group]
    logs, pts = _special_bases(group, 40, seed=9)
    handle = getattr(backend, prep)(to_arr(pts))
    for m, seed in ((25, 1), (40, 2), (0, 3), (7, 4)):
        scalars = _special_scalars(m, seed)
        sc = ints_to_limbs(scalars) if m else np.zeros((0, 4), np.uint64)
        assert getattr(backend, msm)(handle, sc) == _expected(group, logs[:m], scalars)


@pytest.mark.parametrize("group", ["g1", "g2"])
def test_msm_rejects_bad_input(backend: ProverBackend, group: str) -> None:
    _, _, _, to_arr, prep, msm = GROUP_OPS[group]
    logs, pts = _special_bases(group, 4, seed=5)
    handle = getattr(backend, prep)(to_arr(pts))
    with pytest.raises(ProverError, match="scalars"):
        getattr(backend, msm)(handle, ints_to_limbs([1] * 5))  # more scalars than bases
    with pytest.raises(ProverError):
        getattr(backend, msm)(handle, np.zeros((4, 3), np.uint64))  # wrong shape
    with pytest.raises(ProverError):
        getattr(backend, msm)(handle, np.zeros((4, 4), np.int64))  # wrong dtype
    other = "msm_g2" if group == "g1" else "msm_g1"
    with pytest.raises(ProverError):
        getattr(backend, other)(handle, ints_to_limbs([1] * 4))  # a handle of the other group
    # a base off the curve, and a coordinate >= q, are rejected at prepare time
    arr = to_arr(pts)
    bad = arr.copy()
    bad[0, 1, ..., 0] ^= np.uint64(1)
    with pytest.raises(ProverError, match="not on the curve|not a point"):
        getattr(backend, prep)(bad)
    big = arr.copy()
    big[0, 0, ..., :] = ints_to_limbs([Q + 3])[0]
    with pytest.raises(ProverError):
        getattr(backend, prep)(big)
    with pytest.raises(ProverError):
        getattr(backend, prep)(np.zeros((3, 4), np.uint64))


# ---- fixed-base multiplication ---------------------------------------------------------------
FIXED = {
    "g1": (curve.G1_GEN, curve.g1_mul, array_to_g1, "fixed_base_mul_g1"),
    "g2": (curve.G2_GEN, curve.g2_mul, array_to_g2, "fixed_base_mul_g2"),
}


@pytest.mark.parametrize("group", ["g1", "g2"])
def test_fixed_base_mul(backend: ProverBackend, group: str) -> None:
    gen, mul, from_arr, fn = FIXED[group]
    base = mul(gen, 0xC0FFEE)
    scalars = _special_scalars(12, seed=21) + [0, 1, R - 1, R, (1 << 256) - 1]
    out = getattr(backend, fn)(base, ints_to_limbs(scalars))
    assert out.shape == ((len(scalars), 2, 4) if group == "g1" else (len(scalars), 2, 2, 4))
    assert from_arr(out) == [mul(base, s) for s in scalars]
    # base at infinity gives infinity everywhere; no scalars gives an empty array
    assert from_arr(getattr(backend, fn)(None, ints_to_limbs([3, 0]))) == [None, None]
    assert getattr(backend, fn)(base, np.zeros((0, 4), np.uint64)).shape[0] == 0


@pytest.mark.parametrize("group", ["g1", "g2"])
def test_fixed_base_rejects_bad_input(backend: ProverBackend, group: str) -> None:
    gen, mul, _, fn = FIXED[group]
    if group == "g1":
        off = (gen[0], gen[1] + 1)
    else:
        off = (gen[0], (gen[1][0], (gen[1][1] + 1) % Q))
    with pytest.raises(ProverError):
        getattr(backend, fn)(off, ints_to_limbs([1]))
    with pytest.raises(ProverError):
        getattr(backend, fn)(gen, np.zeros((2, 5), np.uint64))


@pytest.mark.parametrize("backend", slow_reference_params(), indirect=True)
@pytest.mark.parametrize("group", ["g1", "g2"])
def test_fixed_base_mul_large(backend: ProverBackend, group: str) -> None:
    """At a size where the table window differs from the small case (setup-sized batches)."""
    gen, mul, from_arr, fn = FIXED[group]
    rng = random.Random(77)
    scalars = [rng.randrange(1 << 256) for _ in range(3000)]
    out = from_arr(getattr(backend, fn)(gen, ints_to_limbs(scalars)))
    for i in (0, 1, 1499, 2999):
        assert out[i] == mul(gen, scalars[i])
    # consecutive differences: out[i] - out[i-1] = (s_i - s_{i-1}) G on a sample
    neg = curve.g1_neg if group == "g1" else curve.g2_neg
    add = curve.g1_add if group == "g1" else curve.g2_add
    for i in rng.sample(range(1, 3000), 5):
        assert add(out[i], neg(out[i - 1])) == mul(gen, scalars[i] - scalars[i - 1])
    on_curve = curve.is_on_curve_g1 if group == "g1" else curve.is_on_curve_g2
    assert all(p is not None and on_curve(p) for p in out)


# ---- NTT, compute_h, batch inverse -------------------------------------------------------------
def _ntt_direct(v: list[int], inverse: bool, coset: bool) -> list[int]:
    """The definition in ProverBackend.ntt, O(n^2)."""
    n = len(v)
    w = fr_root_of_unity(n)
    g = fr_root_of_unity(2 * n) if coset else 1
    if not inverse:
        return [sum(x * pow(g * pow(w, j, R), i, R) for i, x in enumerate(v)) % R for j in range(n)]
    wi, ni, gi = pow(w, -1, R), pow(n, -1, R), pow(g, -1, R)
    coeffs = [sum(x * pow(wi, i * j, R) for j, x in enumerate(v)) * ni % R for i in range(n)]
    return [c * pow(gi, i, R) % R for i, c in enumerate(coeffs)]


def _rand_fr(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    vals = [rng.randrange(R) for _ in range(n)]
    for i, e in zip(range(0, n, 3), [0, 1, R - 1]):
        vals[i] = e
    return vals


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("coset", [False, True])
@pytest.mark.parametrize("n", [1, 2, 4, 32])
def test_ntt_matches_definition(backend: ProverBackend, n: int, coset: bool, inverse: bool) -> None:
    v = _rand_fr(n, seed=n)
    out = backend.ntt(ints_to_limbs(v), inverse=inverse, coset=coset)
    assert out.shape == (n, 4) and out.dtype == np.uint64
    assert limbs_to_ints(out) == _ntt_direct(v, inverse, coset)


@pytest.mark.parametrize("coset", [False, True])
@pytest.mark.parametrize("n", [256, 4096, 1 << 15])
def test_ntt_round_trip_and_against_reference(backend: ProverBackend, n: int, coset: bool) -> None:
    # 2^15 takes the cpu backend's multi-core path (blocks, then global stages)
    v = ints_to_limbs(_rand_fr(n, seed=n + 1))
    fwd = backend.ntt(v, coset=coset)
    assert np.array_equal(backend.ntt(fwd, inverse=True, coset=coset), v)
    if backend.name != "reference" and n in (256, 1 << 15):
        ref = _get("reference")
        assert np.array_equal(fwd, ref.ntt(v, coset=coset))
        assert np.array_equal(backend.ntt(v, inverse=True, coset=coset), ref.ntt(v, inverse=True, coset=coset))


def test_ntt_rejects_bad_input(backend: ProverBackend) -> None:
    with pytest.raises(ProverError, match="power of two"):
        backend.ntt(ints_to_limbs([1, 2, 3]))
    with pytest.raises(ProverError):
        backend.ntt(np.zeros((0, 4), np.uint64))
    with pytest.raises(ProverError):
        backend.ntt(np.zeros((4, 2), np.uint64))


@pytest.mark.parametrize("n", [1, 8, 64])
def test_compute_h_matches_base_definition(backend: ProverBackend, n: int) -> None:
    a, b, c = (ints_to_limbs(_rand_fr(n, seed=s)) for s in (n, n + 7, n + 13))
    got = backend.compute_h(a, b, c)
    # the generic composition of ntt() in the base class, and the math done on plain ints
    assert np.array_equal(got, ProverBackend.compute_h(backend, a, b, c))
    ca, cb, cc = (_ntt_direct(_ntt_direct(limbs_to_ints(x), True, False), False, True) for x in (a, b, c))
    assert limbs_to_ints(got) == [(x * y - z) % R for x, y, z in zip(ca, cb, cc)]


@pytest.mark.parametrize("backend", slow_reference_params(), indirect=True)
def test_compute_h_large_matches_base_definition(backend: ProverBackend) -> None:
    """At 2^15 (the cpu backend's multi-core NTT path) the fused version equals the composition."""
    n = 1 << 15
    a, b, c = (ints_to_limbs(_rand_fr(n, seed=s)) for s in (1, 2, 3))
    assert np.array_equal(backend.compute_h(a, b, c), ProverBackend.compute_h(backend, a, b, c))


def test_compute_h_of_a_satisfied_qap_is_divisible(backend: ProverBackend) -> None:
    """With C = A·B mod (x^n - 1), A·B - C = h·(x^n - 1) for h the high half of A·B; at the odd
    points x^n = -1, so d must equal -2·h there (what the Groth16 H query relies on)."""
    n = 16
    rng = random.Random(4)
    pa = [rng.randrange(R) for _ in range(n // 2)] + [0] * (n // 2)
    pb = [rng.randrange(R) for _ in range(n // 2)] + [0] * (n // 2)
    prod = [0] * (2 * n)
    for i, x in enumerate(pa):
        for j, y in enumerate(pb):
            prod[i + j] = (prod[i + j] + x * y) % R
    # C = A·B mod (x^n - 1) agrees with A·B on the domain; A·B - C = h·(x^n - 1), h = high half
    pc = [(prod[i] + prod[i + n]) % R for i in range(n)]
    h = prod[n : 2 * n]
    evals = [backend.ntt(ints_to_limbs(p)) for p in (pa, pb, pc)]
    d = limbs_to_ints(backend.compute_h(*evals))
    h_coset = _ntt_direct(h, False, True)
    assert d == [(-2 * x) % R for x in h_coset]


def test_batch_inverse(backend: ProverBackend) -> None:
    vals = [0, 1, R - 1, 2, 0, 0] + _rand_fr(50, seed=3) + [0]
    out = limbs_to_ints(backend.batch_inverse(ints_to_limbs(vals)))
    assert out == [pow(v, -1, R) if v % R else 0 for v in vals]
    assert limbs_to_ints(backend.batch_inverse(ints_to_limbs([0, 0, 0]))) == [0, 0, 0]
    assert backend.batch_inverse(np.zeros((0, 4), np.uint64)).shape == (0, 4)
    with pytest.raises(ProverError):
        backend.batch_inverse(np.zeros((3,), np.uint64))
    # large enough to be split in chunks (one inversion each), zeros on chunk edges included
    big = _rand_fr(5000, seed=8)
    for i in (0, 1023, 1024, 2500, 4999):
        big[i] = 0
    out = limbs_to_ints(backend.batch_inverse(ints_to_limbs(big)))
    assert out == [pow(v, -1, R) if v else 0 for v in big]


def test_describe_and_name(backend: ProverBackend) -> None:
    assert backend.describe().startswith(backend.name)
