"""The gpu backend's CUDA kernels, run HERE without a GPU: gpu_kernels.cu built by g++ as plain C++.

Checks field/curve arithmetic against plain ints and py_ecc, then the whole GpuBackend pipeline
(MSM, NTT, compute_h, fixed-base, a Groth16 proof) through HostEngine; and that nvcc accepts the file.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from py_ecc import optimized_bn128 as ob

from relayer.errors import BackendUnavailable, ProverError
from relayer.zk.backends.base import ProverBackend
from relayer.zk.backends.gpu import (
    KERNEL_ARGS,
    GpuBackend,
    HostEngine,
    build_host_library,
    kernel_source,
)
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

MONT = 1 << 256
rng = random.Random(20261126)


@pytest.fixture(scope="module")
def host_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed: cannot build the kernels as host C++")
    return build_host_library(tmp_path_factory.mktemp("gpu_host"))


@pytest.fixture(scope="module")
def eng(host_lib: Path) -> HostEngine:
    return HostEngine(host_lib)


@pytest.fixture()
def be(eng: HostEngine) -> GpuBackend:
    return GpuBackend(eng)


# --- helpers ---------------------------------------------------------------------------------------


def mont(x: int, p: int) -> int:
    return x * MONT % p


def unmont(x: int, p: int) -> int:
    return x * pow(MONT, -1, p) % p


def g1_aff(p: object) -> tuple[int, int] | None:
    if ob.is_inf(p):
        return None
    x, y = ob.normalize(p)
    return (int(x.n), int(y.n))


def g2_aff(p: object) -> tuple[tuple[int, int], tuple[int, int]] | None:
    if ob.is_inf(p):
        return None
    x, y = ob.normalize(p)
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))


def g1_from_aff(p: tuple[int, int] | None) -> object:
    return ob.Z1 if p is None else (ob.FQ(p[0]), ob.FQ(p[1]), ob.FQ(1))


def g2_from_aff(p: tuple[tuple[int, int], tuple[int, int]] | None) -> object:
    if p is None:
        return ob.Z2
    return (ob.FQ2(list(p[0])), ob.FQ2(list(p[1])), ob.FQ2([1, 0]))


def g1_points(n: int) -> list[object]:
    """Random-looking G1 points cheaply: a random start and random small steps."""
    p = ob.multiply(ob.G1, rng.randrange(1, R))
    step = ob.multiply(ob.G1, rng.randrange(1, R))
    out = []
    for _ in range(n):
        out.append(p)
        p = ob.add(p, step)
    return out


def g2_points(n: int) -> list[object]:
    p = ob.multiply(ob.G2, rng.randrange(1, R))
    step = ob.multiply(ob.G2, rng.randrange(1, R))
    out = []
    for _ in range(n):
        out.append(p)
        p = ob.add(p, step)
    return out


def msm_ref(points: list[object], scalars: list[int], group: int) -> object:
    acc = ob.Z1 if group == 1 else ob.Z2
    for p, s in zip(points, scalars):
        if s % R:
            acc = ob.add(acc, ob.multiply(p, s % R))
    return acc


EDGE_SCALARS = [0, 1, 2, R - 1, R, R + 1, 2 * R - 1, (1 << 256) - 1, 1 << 253, (1 << 254) - 1, R - 2]


# --- the kernel source itself ----------------------------------------------------------------------


def test_every_kernel_in_the_table_exists_in_the_source() -> None:
    src = kernel_source()
    for name in KERNEL_ARGS:
        assert f"KERNEL({name}," in src, name


def _kernel_signatures(src: str) -> dict[str, str]:
    """KERNEL_ARGS-style kinds read from the C declarations; AssertionError on a non-i64 scalar."""
    import re

    found = {}
    for m in re.finditer(r"^KERNEL\((\w+),\s*([^)]*)\)", src, re.M):
        kinds = ""
        for prm in (x.strip() for x in m.group(2).replace("\n", " ").split(",")):
            if "*" in prm:
                kinds += "p"
            else:
                assert re.fullmatch(r"i64 \w+", prm), f"{m.group(1)}: scalar parameter {prm!r} must be i64"
                kinds += "i"
        found[m.group(1)] = kinds
    return found


def test_kernel_argument_table_matches_the_c_signatures() -> None:
    """CupyEngine passes each 'i' argument as an 8-byte np.int64 and each 'p' as a device pointer, by
    KERNEL_ARGS alone. A C parameter of another width (int, u32) would read garbage on the GPU while the
    host build's ctypes call (registers) still works: so every scalar must be i64, and the table must
    list every kernel of the source with exactly its parameters."""
    assert _kernel_signatures(kernel_source()) == KERNEL_ARGS
    planted = "KERNEL(bad_kernel, const u64 *a, int log_n, u64 *out)\n"
    with pytest.raises(AssertionError, match="bad_kernel: scalar parameter 'int log_n' must be i64"):
        _kernel_signatures(planted)
    assert _kernel_signatures("KERNEL(k2, const u64 *a,\n       i64 c, u32 *o)\n") == {"k2": "pip"}


def test_host_library_exports_every_kernel(eng: HostEngine) -> None:
    for name in KERNEL_ARGS:
        assert hasattr(eng.lib, name)


# --- field arithmetic ------------------------------------------------------------------------------


FIELD_OPS = {0: "add", 1: "sub", 2: "mul", 3: "sqr", 4: "inv", 5: "neg"}


def _field_expect(op: int, x: int, y: int, p: int) -> int:
    return {
        0: (x + y) % p,
        1: (x - y) % p,
        2: x * y % p,
        3: x * x % p,
        4: pow(x, -1, p) if x else 0,
        5: (-x) % p,
    }[op]


@pytest.mark.parametrize("kernel,p", [("fq_op", Q), ("fr_op", R)])
@pytest.mark.parametrize("op", sorted(FIELD_OPS))
def test_prime_field_ops_match_ints(eng: HostEngine, kernel: str, p: int, op: int) -> None:
    edge = [0, 1, 2, p - 1, p - 2, (p - 1) // 2, 1 << 64, (1 << 192) - 1, (1 << 253) % p]
    xs = edge + [rng.randrange(p) for _ in range(40)]
    ys = list(reversed(edge)) + [rng.randrange(p) for _ in range(40)]
    # all pairs of edge values too
    xs += [a for a in edge for _ in edge]
    ys += [b for _ in edge for b in edge]
    a = ints_to_limbs([mont(x, p) for x in xs]).reshape(-1)
    b = ints_to_limbs([mont(y, p) for y in ys]).reshape(-1)
    out = np.zeros_like(a)
    eng.launch(kernel, len(xs), op, a, b, out)
    got = [unmont(v, p) for v in limbs_to_ints(out)]
    raw = limbs_to_ints(out)
    assert all(v < p for v in raw), "Montgomery outputs must be fully reduced"
    assert got == [_field_expect(op, x, y, p) for x, y in zip(xs, ys)]


def _fq2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def _fq2_inv(a: tuple[int, int]) -> tuple[int, int]:
    n = (a[0] * a[0] + a[1] * a[1]) % Q
    if n == 0:
        return (0, 0)
    ni = pow(n, -1, Q)
    return (a[0] * ni % Q, (-a[1]) * ni % Q)


@pytest.mark.parametrize("op", [0, 1, 2, 3, 4, 5])
def test_fq2_ops_match_ints(eng: HostEngine, op: int) -> None:
    edge = [(0, 0), (1, 0), (0, 1), (Q - 1, Q - 1), (Q - 1, 0), (0, Q - 1), (2, Q - 2)]
    xs = edge + [(rng.randrange(Q), rng.randrange(Q)) for _ in range(30)]
    ys = list(reversed(edge)) + [(rng.randrange(Q), rng.randrange(Q)) for _ in range(30)]
    a = ints_to_limbs([mont(c, Q) for x in xs for c in x]).reshape(-1)
    b = ints_to_limbs([mont(c, Q) for y in ys for c in y]).reshape(-1)
    out = np.zeros_like(a)
    eng.launch("fq2_op", len(xs), op, a, b, out)
    v = [unmont(c, Q) for c in limbs_to_ints(out)]
    got = [(v[i], v[i + 1]) for i in range(0, len(v), 2)]
    exp = []
    for x, y in zip(xs, ys):
        if op == 0:
            exp.append(((x[0] + y[0]) % Q, (x[1] + y[1]) % Q))
        elif op == 1:
            exp.append(((x[0] - y[0]) % Q, (x[1] - y[1]) % Q))
        elif op == 2:
            exp.append(_fq2_mul(x, y))
        elif op == 3:
            exp.append(_fq2_mul(x, x))
        elif op == 4:
            exp.append(_fq2_inv(x))
        else:
            exp.append(((-x[0]) % Q, (-x[1]) % Q))
    assert got == exp


def test_montgomery_conversions_and_reduction(eng: HostEngine) -> None:
    vals = [0, 1, R - 1, R, R + 7, (1 << 256) - 1, 5 * R, 5 * R + 3] + [rng.randrange(1 << 256) for _ in range(20)]
    a = ints_to_limbs(vals).reshape(-1)
    m = np.zeros_like(a)
    eng.launch("fr_to_mont", len(vals), a, m)
    assert limbs_to_ints(m) == [mont(v % R, R) for v in vals]
    back = np.zeros_like(a)
    eng.launch("fr_from_mont", len(vals), m, back)
    assert limbs_to_ints(back) == [v % R for v in vals]
    qv = [0, 1, Q - 1] + [rng.randrange(Q) for _ in range(10)]
    qa = ints_to_limbs(qv).reshape(-1)
    eng.launch("fq_to_mont", len(qv), qa, qa)  # in place
    assert limbs_to_ints(qa) == [mont(v, Q) for v in qv]
    eng.launch("fq_from_mont", len(qv), qa, qa)
    assert limbs_to_ints(qa) == qv


# --- curve arithmetic ------------------------------------------------------------------------------


def _jac_limbs(points: list[object], group: int) -> np.ndarray:
    """py_ecc Jacobian-free points -> our Montgomery Jacobian words with Z = 1 (or Z = 0: infinity)."""
    vals: list[int] = []
    for p in points:
        a = g1_aff(p) if group == 1 else g2_aff(p)
        if group == 1:
            if a is None:
                vals += [mont(1, Q), mont(1, Q), 0]
            else:
                vals += [mont(a[0], Q), mont(a[1], Q), mont(1, Q)]
        else:
            if a is None:
                vals += [mont(1, Q), 0, mont(1, Q), 0, 0, 0]
            else:
                vals += [mont(a[0][0], Q), mont(a[0][1], Q), mont(a[1][0], Q), mont(a[1][1], Q), mont(1, Q), 0]
    return ints_to_limbs(vals).reshape(-1)


def _scale_jac(points_words: np.ndarray, group: int, k: list[int]) -> np.ndarray:
    """Rescale each Jacobian point (X, Y, Z) -> (k^2 X, k^3 Y, k Z): same point, another Z."""
    fl = 4 if group == 1 else 8
    v = [unmont(x, Q) for x in limbs_to_ints(points_words)]
    out: list[int] = []
    per = 3 * fl // 4
    for i, kk in enumerate(k):
        coords = v[i * per : (i + 1) * per]
        if group == 1:
            x, y, z = coords
            out += [x * kk**2 % Q, y * kk**3 % Q, z * kk % Q]
        else:
            x, y, z = (coords[0], coords[1]), (coords[2], coords[3]), (coords[4], coords[5])
            kf = (kk, 0)
            k2 = _fq2_mul(kf, kf)
            k3 = _fq2_mul(k2, kf)
            for c in (_fq2_mul(x, k2), _fq2_mul(y, k3), _fq2_mul(z, kf)):
                out += list(c)
    return ints_to_limbs([mont(x, Q) for x in out]).reshape(-1)


def _read_jac(words: np.ndarray, eng: HostEngine, group: int) -> list[object]:
    n = words.size // (12 if group == 1 else 24)
    aff = np.zeros(n * (8 if group == 1 else 16), dtype=np.uint64)
    eng.launch(f"jac_to_affine_g{group}", n, words, aff)
    if group == 1:
        return [g1_from_aff(p) for p in array_to_g1(aff.reshape(-1, 2, 4))]
    return [g2_from_aff(p) for p in array_to_g2(aff.reshape(-1, 2, 2, 4))]


@pytest.mark.parametrize("group", [1, 2])
def test_point_add_double_mixed_match_py_ecc(eng: HostEngine, group: int) -> None:
    gen, zero = (ob.G1, ob.Z1) if group == 1 else (ob.G2, ob.Z2)
    pts = g1_points(6) if group == 1 else g2_points(6)
    p0 = pts[0]
    # pairs: random, P + P (doubling through add), P + (-P), inf + P, P + inf, inf + inf, P + 2P
    ps = [pts[1], p0, p0, zero, p0, zero, p0, pts[2]]
    qs = [pts[3], p0, ob.neg(p0), p0, zero, zero, ob.double(p0), pts[4]]
    a = _jac_limbs(ps, group)
    b = _jac_limbs(qs, group)
    # non-trivial Z on the left operand (k = 0 keeps infinity as Z = 0)
    ks = [rng.randrange(2, Q) for _ in ps]
    a = _scale_jac(a, group, ks)
    b = _scale_jac(b, group, [rng.randrange(2, Q) for _ in qs])
    words = 12 if group == 1 else 24
    out = np.zeros(len(ps) * words, dtype=np.uint64)
    eng.launch(f"g{group}_point_op", len(ps), 0, a, b, out)
    got = _read_jac(out, eng, group)
    for g, p, q in zip(got, ps, qs):
        assert ob.eq(g, ob.add(p, q))
    # doubling
    eng.launch(f"g{group}_point_op", len(ps), 1, a, b, out)
    for g, p in zip(_read_jac(out, eng, group), ps):
        assert ob.eq(g, ob.double(p))
    # mixed addition with affine right operands (affine infinity = zeros)
    aff_q = g1_to_array([g1_aff(q) for q in qs]) if group == 1 else g2_to_array([g2_aff(q) for q in qs])
    aq = aff_q.reshape(-1).copy()
    nq = aq.size
    m = np.zeros(nq, dtype=np.uint64)
    eng.launch("fq_to_mont", nq // 4, aq, m)
    eng.launch(f"g{group}_point_op", len(ps), 2, a, m, out)
    for g, p, q in zip(_read_jac(out, eng, group), ps, qs):
        assert ob.eq(g, ob.add(p, q))
    # negation
    eng.launch(f"g{group}_point_op", len(ps), 3, a, b, out)
    for g, p in zip(_read_jac(out, eng, group), ps):
        assert ob.eq(g, ob.neg(p))
    assert gen is not None


# --- MSM pieces --------------------------------------------------------------------------------------


@pytest.mark.parametrize("c", [2, 3, 5, 8, 11, 13, 16])
def test_signed_digits_reconstruct_the_reduced_scalar(eng: HostEngine, c: int) -> None:
    scalars = EDGE_SCALARS + [rng.randrange(1 << 256) for _ in range(40)]
    n = len(scalars)
    nw = (255 + c - 1) // c
    keys = np.zeros(nw * n, dtype=np.int32)
    vals = np.zeros(nw * n, dtype=np.uint32)
    eng.launch("msm_digits", n, ints_to_limbs(scalars).reshape(-1), c, nw, keys, vals)
    half = 1 << (c - 1)
    for i, s in enumerate(scalars):
        total = 0
        for w in range(nw):
            k, v = int(keys[w * n + i]), int(vals[w * n + i])
            if k == 0x7FFFFFFF:
                continue
            assert w * half <= k < (w + 1) * half, "key must stay in its window's bucket range"
            assert v & 0x7FFFFFFF == i
            mag = k - w * half + 1
            total += (-mag if v >> 31 else mag) << (c * w)
        assert total == s % R


@pytest.mark.parametrize("group", [1, 2])
def test_msm_random_with_edge_scalars_zero_repeats_and_infinity(be: GpuBackend, group: int) -> None:
    n = 40 if group == 1 else 24
    pts = g1_points(n) if group == 1 else g2_points(n)
    pts[3] = pts[2]  # repeated point
    pts[7] = ob.Z1 if group == 1 else ob.Z2  # infinity base
    pts[9] = ob.neg(pts[8])  # P and -P with equal scalars cancel
    scalars = [rng.randrange(R) for _ in range(n)]
    scalars[: len(EDGE_SCALARS)] = EDGE_SCALARS
    scalars[9] = scalars[8]
    if group == 1:
        h = be.prepare_g1(g1_to_array([g1_aff(p) for p in pts]))
        got = be.msm_g1(h, ints_to_limbs(scalars))
        assert got == g1_aff(msm_ref(pts, scalars, 1))
    else:
        h = be.prepare_g2(g2_to_array([g2_aff(p) for p in pts]))
        got2 = be.msm_g2(h, ints_to_limbs(scalars))
        assert got2 == g2_aff(msm_ref(pts, scalars, 2))


@pytest.mark.parametrize("c", [2, 4, 7, 12, 16])
def test_msm_every_window_size(be: GpuBackend, c: int) -> None:
    pts = g1_points(20)
    scalars = [rng.randrange(1 << 256) for _ in range(20)]
    h = be.prepare_g1(g1_to_array([g1_aff(p) for p in pts]))
    be.window_bits = c
    assert be.msm_g1(h, ints_to_limbs(scalars)) == g1_aff(msm_ref(pts, scalars, 1))


def test_msm_prefix_all_zero_and_cancelling(be: GpuBackend) -> None:
    pts = g1_points(10)
    h = be.prepare_g1(g1_to_array([g1_aff(p) for p in pts]))
    sc = [rng.randrange(R) for _ in range(4)]
    assert be.msm_g1(h, ints_to_limbs(sc)) == g1_aff(msm_ref(pts[:4], sc, 1))  # first 4 bases only
    assert be.msm_g1(h, ints_to_limbs([0] * 10)) is None
    assert be.msm_g1(h, ints_to_limbs([R] * 10)) is None  # r = 0 mod r
    assert be.msm_g1(h, np.zeros((0, 4), dtype=np.uint64)) is None
    # s*P + (r - s)*P = infinity
    h2 = be.prepare_g1(g1_to_array([g1_aff(pts[0]), g1_aff(pts[0])]))
    s = rng.randrange(R)
    assert be.msm_g1(h2, ints_to_limbs([s, R - s])) is None


def test_msm_skewed_scalars_take_the_multi_level_bucket_tree(be: GpuBackend) -> None:
    # 1500 scalars equal to 1 land in one bucket: > CHUNK_FIRST * CHUNK_REDUCE entries, so the
    # partial sums are reduced over more than one level. Bases i*G make the expected value exact.
    n = 1500
    pts = []
    p = ob.G1
    for _ in range(n):
        pts.append(p)
        p = ob.add(p, ob.G1)
    h = be.prepare_g1(g1_to_array([g1_aff(q) for q in pts]))
    ones = [1] * n
    assert be.msm_g1(h, ints_to_limbs(ones)) == g1_aff(ob.multiply(ob.G1, n * (n + 1) // 2))
    # a bit-like witness: half zeros, half ones, a few full scalars
    mixed = [rng.choice([0, 1]) for _ in range(n)]
    for i in range(0, n, 97):
        mixed[i] = rng.randrange(R)
    exp = sum((i + 1) * s for i, s in enumerate(mixed)) % R
    assert be.msm_g1(h, ints_to_limbs(mixed)) == g1_aff(ob.multiply(ob.G1, exp))


def test_msm_rejects_bad_input(be: GpuBackend) -> None:
    pts = g1_points(3)
    arr = g1_to_array([g1_aff(p) for p in pts])
    h = be.prepare_g1(arr)
    with pytest.raises(ProverError, match="prepared bases"):
        be.msm_g1(h, ints_to_limbs([1, 2, 3, 4]))
    with pytest.raises(ProverError, match="shape"):
        be.msm_g1(h, np.zeros((3, 3), dtype=np.uint64))
    with pytest.raises(ProverError, match="uint64"):
        be.msm_g1(h, np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(ProverError, match="prepare_g2"):
        be.msm_g2(h, ints_to_limbs([1, 2, 3]))
    with pytest.raises(ProverError, match="prepare_g1"):
        be.msm_g1(object(), ints_to_limbs([1]))
    bad = arr.copy()
    bad[1, 0] = ints_to_limbs([Q])[0]  # x = q is not a reduced coordinate
    with pytest.raises(ProverError, match="not reduced"):
        be.prepare_g1(bad)
    with pytest.raises(ProverError, match="shape"):
        be.prepare_g2(arr)
    be.window_bits = 17
    with pytest.raises(ProverError, match="window_bits"):
        be.msm_g1(h, ints_to_limbs([1, 2, 3]))


# --- NTT, compute_h, batch inverse --------------------------------------------------------------------


def _dft(v: list[int], g: int, w: int) -> list[int]:
    n = len(v)
    return [sum(v[i] * pow(g * pow(w, j, R), i, R) for i in range(n)) % R for j in range(n)]


@pytest.mark.parametrize("n", [1, 2, 4, 8, 32])
@pytest.mark.parametrize("coset", [False, True])
def test_ntt_matches_the_definition_and_inverts(be: GpuBackend, n: int, coset: bool) -> None:
    v = [rng.randrange(R) for _ in range(n)]
    v[0] = R - 1
    w = fr_root_of_unity(n)
    g = fr_root_of_unity(2 * n) if coset else 1
    fwd = limbs_to_ints(be.ntt(ints_to_limbs(v), coset=coset))
    assert fwd == _dft(v, g, w)
    assert limbs_to_ints(be.ntt(ints_to_limbs(fwd), inverse=True, coset=coset)) == v
    # the inverse applied first is the inverse too
    inv_first = be.ntt(ints_to_limbs(v), inverse=True, coset=coset)
    assert limbs_to_ints(be.ntt(inv_first, coset=coset)) == v


def test_ntt_reduces_unreduced_input_and_rejects_bad_sizes(be: GpuBackend) -> None:
    v = [R + 3, (1 << 256) - 1, 0, 5]
    assert limbs_to_ints(be.ntt(ints_to_limbs(v))) == _dft([x % R for x in v], 1, fr_root_of_unity(4))
    with pytest.raises(ProverError, match="power of two"):
        be.ntt(ints_to_limbs([1, 2, 3]))
    with pytest.raises(ProverError, match="power of two"):
        be.ntt(np.zeros((0, 4), dtype=np.uint64))


@pytest.mark.parametrize("n", [1, 2, 16, 64])
def test_compute_h_matches_the_generic_version_and_the_formula(be: GpuBackend, n: int) -> None:
    a, b, c = ([rng.randrange(R) for _ in range(n)] for _ in range(3))
    got = limbs_to_ints(be.compute_h(ints_to_limbs(a), ints_to_limbs(b), ints_to_limbs(c)))
    generic = limbs_to_ints(ProverBackend.compute_h(be, ints_to_limbs(a), ints_to_limbs(b), ints_to_limbs(c)))
    assert got == generic
    # from the definition: interpolate over {w^i}, evaluate at the odd powers of w_2n
    w, g = fr_root_of_unity(n), fr_root_of_unity(2 * n)
    ninv, winv = pow(n, -1, R), pow(w, -1, R)

    def coeffs(v: list[int]) -> list[int]:
        return [x * ninv % R for x in _dft(v, 1, winv)]

    def at(cf: list[int], x: int) -> int:
        return sum(cc * pow(x, i, R) for i, cc in enumerate(cf)) % R

    ca, cb, cc = coeffs(a), coeffs(b), coeffs(c)
    xs = [g * pow(w, j, R) % R for j in range(n)]
    assert got == [(at(ca, x) * at(cb, x) - at(cc, x)) % R for x in xs]
    with pytest.raises(ProverError, match="same length"):
        be.compute_h(ints_to_limbs(a), ints_to_limbs(b), ints_to_limbs(c + [1]))


def test_batch_inverse(be: GpuBackend) -> None:
    v = [0, 1, 2, R - 1, R + 2] + [rng.randrange(R) for _ in range(30)]
    got = limbs_to_ints(be.batch_inverse(ints_to_limbs(v)))
    assert got == [pow(x % R, -1, R) if x % R else 0 for x in v]


# --- fixed-base multiplication ---------------------------------------------------------------------


def test_fixed_base_g1_and_g2(be: GpuBackend) -> None:
    sc = EDGE_SCALARS + [rng.randrange(1 << 256) for _ in range(8)]
    base1 = g1_aff(ob.multiply(ob.G1, rng.randrange(1, R)))
    out1 = array_to_g1(be.fixed_base_mul_g1(base1, ints_to_limbs(sc)))
    assert out1 == [g1_aff(ob.multiply(g1_from_aff(base1), s % R)) for s in sc]
    sc2 = sc[:6]
    base2 = g2_aff(ob.multiply(ob.G2, rng.randrange(1, R)))
    out2 = array_to_g2(be.fixed_base_mul_g2(base2, ints_to_limbs(sc2)))
    assert out2 == [g2_aff(ob.multiply(g2_from_aff(base2), s % R)) for s in sc2]
    # infinity base, empty scalars
    assert not be.fixed_base_mul_g1(None, ints_to_limbs([1, 2])).any()
    assert be.fixed_base_mul_g2(base2, np.zeros((0, 4), dtype=np.uint64)).shape == (0, 2, 2, 4)


def test_fixed_base_rejects_points_off_the_curve(be: GpuBackend) -> None:
    x, y = g1_aff(ob.G1)  # type: ignore[misc]
    with pytest.raises(ProverError, match="not on the BN254 curve"):
        be.fixed_base_mul_g1((x, y + 1), ints_to_limbs([1]))
    p2 = g2_aff(ob.G2)
    assert p2 is not None
    with pytest.raises(ProverError, match="twist"):
        be.fixed_base_mul_g2((p2[0], (p2[1][0], (p2[1][1] + 1) % Q)), ints_to_limbs([1]))
    with pytest.raises(ProverError, match="reduced"):
        be.fixed_base_mul_g1((x + Q, y), ints_to_limbs([1]))


# --- counters, availability --------------------------------------------------------------------------


def test_transfer_counters_count_both_directions(be: GpuBackend) -> None:
    h0, d0 = be.bytes_h2d, be.bytes_d2h
    be.ntt(ints_to_limbs([1, 2, 3, 4]))
    assert be.bytes_h2d - h0 >= 4 * 32
    assert be.bytes_d2h - d0 == 4 * 32
    assert set(be.transfer_counters()) == {"bytes_h2d", "bytes_d2h"}


def test_gpu_without_a_device_is_a_clear_error() -> None:
    """`--prover gpu` where CuPy or a device is missing: BackendUnavailable with the install hint."""
    from relayer.zk.backends import get_backend

    try:
        GpuBackend.check_available()
    except BackendUnavailable:
        pass
    else:
        pytest.skip("a usable GPU is present here: the error path cannot be exercised")
    with pytest.raises(BackendUnavailable, match=r"pip install -e '\.\[gpu\]'"):
        get_backend("gpu")


def test_whole_proof_through_the_host_built_kernels(be: GpuBackend) -> None:
    """Setup (fixed-base kernels) and proof (h, MSMs) by the gpu kernels; prove() verifies it."""
    prover = pytest.importorskip("relayer.zk.groth16.prover", reason="the Groth16 prover module is not in this tree")
    setup = pytest.importorskip("relayer.zk.groth16.setup", reason="the Groth16 setup module is not in this tree")
    from relayer.zk.examples import make_bench_circuit
    from relayer.zk.groth16.verifier import verify

    circuit, inputs = make_bench_circuit(40)
    r1cs = circuit.compile()
    wit = circuit.witness(inputs)
    pk = setup.dev_setup(r1cs, backend=be)
    proof, public = prover.prove(pk, wit, be, r1cs=r1cs)
    assert verify(pk.vk, public, proof)
    assert not verify(pk.vk, [(public[0] + 1) % R, *public[1:]], proof)


# --- the CUDA build ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_nvcc_compiles_the_kernels_for_sm90(tmp_path: Path) -> None:
    nvcc = shutil.which("nvcc") or ("/usr/local/bin/nvcc" if Path("/usr/local/bin/nvcc").exists() else None)
    if nvcc is None:
        pytest.skip("nvcc is not installed here (CI without the CUDA toolkit)")
    src = tmp_path / "k.cu"
    src.write_text(kernel_source())
    proc = subprocess.run(
        [nvcc, "-std=c++17", "-arch=sm_90", "--ptx", "-o", str(tmp_path / "k.ptx"), str(src)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ptx = (tmp_path / "k.ptx").read_text()
    for name in KERNEL_ARGS:
        assert f".entry {name}(" in ptx, name


def test_cli_prove_with_gpu_and_no_device_exits_with_the_hint(tmp_path: Path) -> None:
    """`relayer zk prove --prover gpu` as a real process: exit code of ProverError and the install hint."""
    import sys

    try:
        GpuBackend.check_available()
    except BackendUnavailable:
        pass
    else:
        pytest.skip("a usable GPU is present here: the error path cannot be exercised")
    pytest.importorskip("relayer.cli.zk", reason="the zk CLI is not in this tree")
    from relayer.errors import ProverError as _PE
    from relayer.zk.circuit import Circuit
    from relayer.zk.formats.r1cs_file import write_r1cs
    from relayer.zk.formats.wtns_file import write_wtns

    c = Circuit("gpucli")
    x = c.public_input("x")
    y = c.private_input("y")
    c.output("out", c.mul(x, y, "t"))
    write_r1cs(tmp_path / "c.r1cs", c.compile())
    write_wtns(tmp_path / "w.wtns", c.witness({"x": 3, "y": 4}))
    run = [sys.executable, "-c", "from relayer.cli.main import main; main()"]
    setup = subprocess.run(
        [*run, "zk", "setup", "--r1cs", str(tmp_path / "c.r1cs"), "--out", str(tmp_path / "keys"), "--backend", "reference"],
        capture_output=True, text=True, timeout=300,
    )
    assert setup.returncode == 0, setup.stderr
    proc = subprocess.run(
        [*run, "zk", "prove", "--keys", str(tmp_path / "keys"), "--wtns", str(tmp_path / "w.wtns"),
         "--proof", str(tmp_path / "p.json"), "--public", str(tmp_path / "pub.json"), "--prover", "gpu"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == _PE.exit_code, proc.stderr
    assert "pip install -e '.[gpu]'" in proc.stderr
    assert not (tmp_path / "p.json").exists()


# --- the one-shot device script ------------------------------------------------------------------------

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "device-gpu-check"


def test_device_script_is_valid_bash_and_lists_its_wheels() -> None:
    proc = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    text = SCRIPT.read_text()
    for name in ("py_ecc-8.0.0", "pydantic_core-", "eth_utils-", "eth_abi-6.0.0", "parsimonious-0.10.0",
                 "--target \"$SITE\"", "bench-gpu.json", "gpu-tests.log", "--continue-on-collection-errors"):
        assert name in text


@pytest.mark.slow
def test_device_script_dry_run(tmp_path: Path) -> None:
    """Everything but the GPU: wheel archives, test collection, the benchmark through host-built kernels."""
    import os
    import sys

    root = SCRIPT.parent.parent
    if not list((root / ".whl").glob("py_ecc-*.whl")):
        pytest.skip(".whl/ has not been populated (see the download command in scripts/device-gpu-check)")
    if not (root / "build" / "gpu").is_dir():
        pytest.skip("build/gpu has no prebuilt cubin (python -m relayer.zk.backends.gpu build-cubin build/gpu)")
    env = dict(os.environ, OUT=str(tmp_path), PYTHON=sys.executable, DRY_TEST_BUDGET="900", BENCH_BUDGET="300")
    proc = subprocess.run([str(SCRIPT), "--dry-run"], capture_output=True, text=True, env=env, timeout=1300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    import json

    res = json.loads((tmp_path / "bench-gpu.json").read_text())
    assert res["dry_run"] and not res["errors"]
    msm = [r for r in res["results"] if r["what"] == "msm_g1"]
    assert msm and all(r["correct"] for r in msm)
    assert res["wrong_results"] is False
    proofs = [r for r in res["results"] if r["what"] == "proof" and r["backend"] == "gpu"]
    assert proofs and all(r["verified"] for r in proofs)
    # the resident path: per proof only the witness goes up, only points and counters come down
    assert all(r["per_proof_h2d_bytes"] == 32 * r["wires"] and r["per_proof_d2h_bytes"] < 1024 for r in proofs)
    assert {"check", "upload", "qap", "h", "msm_a", "msm_h", "verify"} <= set(proofs[0]["stages_s"])
    assert (tmp_path / "summary.txt").read_text().count("proof 2^") >= 1
    assert "tests exit code 0" in (tmp_path / "steps.log").read_text()
    # the gpu-marked tests ran (through the host stand-in), not just collected
    assert " passed" in (tmp_path / "gpu-tests.log").read_text() and "failed" not in (tmp_path / "gpu-tests.log").read_text()
    assert len(list(tmp_path.iterdir())) <= 8  # what the device tool brings back
    # the dry run's import blocker: what the device image lacks fails here, what it has (or a carried
    # wheel gives) imports
    env_b = dict(os.environ, PYTHONPATH=f"{root / 'build' / 'device-dry'}:{root}")
    blocked = subprocess.run([sys.executable, "-c", "import web3"], capture_output=True, text=True, env=env_b)
    assert blocked.returncode != 0 and "not on the device image" in blocked.stderr
    fine = subprocess.run([sys.executable, "-c", "import eth_abi, numpy, py_ecc, relayer.zk.groth16.prover"],
                          capture_output=True, text=True, env=env_b)
    assert fine.returncode == 0, fine.stderr


def test_a_device_that_computes_wrongly_makes_the_backend_unavailable(host_lib: Path) -> None:
    class FlakyEngine(HostEngine):
        def launch(self, name: str, n_threads: int, *args: object) -> None:
            super().launch(name, n_threads, *args)
            if name == "fq_op":
                out = args[-1]
                assert isinstance(out, np.ndarray)
                out[4] ^= np.uint64(1)  # one wrong bit in the second product

    with pytest.raises(BackendUnavailable, match="self-check"):
        GpuBackend(FlakyEngine(host_lib))
    GpuBackend(HostEngine(host_lib))  # the honest build passes


# --- resident proving: witness, QAP, check and h on the device (base.py `resident_qap`) ---------------


def _bench_key(be: GpuBackend, n_constraints: int) -> tuple[object, object, list[int], object]:
    from relayer.zk.examples import make_bench_circuit
    from relayer.zk.groth16.setup import dev_setup

    bc = make_bench_circuit(n_constraints)
    r1cs = bc.circuit.compile()
    return bc.circuit, r1cs, bc.circuit.witness(bc.inputs), dev_setup(r1cs, backend=be)


def _device_qap(be: GpuBackend, q: object) -> object:
    from relayer.zk.groth16.qap_kernel import coefficient_arrays, coefficient_csr

    csr = coefficient_csr(q, coefficient_arrays(q))
    return be.prepare_qap(csr["row_ptr"], csr["wires"], csr["coefs"], csr["domain"], csr["n_check"])


def _plain_first_bad(q: object, witness: list[int]) -> int:
    from relayer.zk.groth16 import qap as qapmod

    a, b, c = qapmod.evaluate_rows(q, witness)
    return next((i for i in range(q.n_constraints) if a[i] * b[i] % R != c[i]), -1)


def test_qap_rows_and_h_on_the_device_match_plain_ints(be: GpuBackend) -> None:
    """A, B, C = A·B over the domain equal qap.evaluate; h from the resident rows equals compute_h."""
    from relayer.zk.groth16 import qap as qapmod

    circuit, r1cs, wit, pk = _bench_key(be, 150)
    q = pk.qap
    assert q.has_c and q.domain_size == 256
    dq = _device_qap(be, q)
    rows, bad = be.evaluate_qap(dq, be.load_witness(ints_to_limbs(wit)))
    assert bad == -1
    a, b, c = qapmod.evaluate(q, wit)
    ga, gb, gc = be.qap_rows_to_host(rows)
    assert (limbs_to_ints(ga), limbs_to_ints(gb), limbs_to_ints(gc)) == (a, b, c)
    d = be.h_resident(rows)
    n = q.domain_size
    expect = ProverBackend.compute_h(be, ints_to_limbs(a, n), ints_to_limbs(b, n), ints_to_limbs(c, n))
    assert np.array_equal(be.scalars_to_host(d), expect)


def test_qap_check_on_the_device_finds_the_first_unsatisfied_row(be: GpuBackend) -> None:
    """Several rows broken far apart: the device reports the smallest index, as plain ints find it."""
    circuit, r1cs, wit, pk = _bench_key(be, 200)
    dq = _device_qap(be, pk.qap)
    for changes in ({"b2.bit5": 2}, {"z90": 7, "b2.bit5": 2, "b0.bit31": 1 - circuit.value(wit, "b0.bit31")}, {"z95": 3}, {"z40": 1, "z95": 3}):
        bad_w = circuit.tamper(wit, changes)
        first = _plain_first_bad(pk.qap, bad_w)
        assert first >= 0
        _, got = be.evaluate_qap(dq, be.load_witness(ints_to_limbs(bad_w)))
        assert got == first, changes


def test_prove_on_the_resident_path_names_the_first_bad_constraint(be: GpuBackend) -> None:
    """prove() with the host-built kernels: an unsatisfying witness is UnsatisfiedConstraint naming the
    constraint (by name with the R1CS, by index without), never a proof."""
    from relayer.errors import UnsatisfiedConstraint
    from relayer.zk.groth16.prover import prove

    assert be.resident_qap
    circuit, r1cs, wit, pk = _bench_key(be, 100)
    bad_w = circuit.tamper(wit, {"b0.bit7": 5})
    first = _plain_first_bad(pk.qap, bad_w)
    with pytest.raises(UnsatisfiedConstraint, match=rf"constraint {r1cs._name(first)} \(index {first}\) is not satisfied"):
        prove(pk, bad_w, be, r1cs=r1cs)
    with pytest.raises(UnsatisfiedConstraint, match=rf"constraint #{first} \(index {first}\)"):
        prove(pk, bad_w, be)
    t: dict[str, float] = {}
    proof, public = prove(pk, wit, be, timings=t)  # the good witness still proves on the same key
    assert {"check", "prepare", "upload", "qap", "h", "msm_a", "msm_h", "verify"} <= set(t)


def test_key_without_c_skips_the_device_check_and_uses_the_r1cs(be: GpuBackend) -> None:
    """A .zkey has no C coefficients: the device check is off (n_check 0), C = A·B feeds h, and a
    bad witness is caught by the circuit's own checker when the R1CS is given."""
    import dataclasses

    from relayer.errors import UnsatisfiedConstraint
    from relayer.zk.groth16.prover import prove
    from relayer.zk.groth16.verifier import verify

    circuit, r1cs, wit, pk = _bench_key(be, 100)
    q = pk.qap
    q_noc = dataclasses.replace(q, coeffs=tuple(c for c in q.coeffs if c[0] != 2), has_c=False)
    pk_noc = dataclasses.replace(pk, qap=q_noc, prepared={})
    bad_w = circuit.tamper(wit, {"b0.bit2": 3})
    dq = _device_qap(be, q_noc)
    assert dq.n_check == 0
    rows, bad = be.evaluate_qap(dq, be.load_witness(ints_to_limbs(bad_w)))
    assert bad == -1
    ga, gb, gc = be.qap_rows_to_host(rows)
    assert limbs_to_ints(gc) == [x * y % R for x, y in zip(limbs_to_ints(ga), limbs_to_ints(gb))]
    with pytest.raises(UnsatisfiedConstraint):
        prove(pk_noc, bad_w, be, r1cs=r1cs)
    proof, public = prove(pk_noc, wit, be)
    assert verify(pk.vk, public, proof)


def test_resident_proof_uploads_only_the_witness(be: GpuBackend) -> None:
    """After the first proof (key bases and coefficients uploaded once), a proof moves the witness up
    once and only points and a few counters down: no vector makes a round trip."""
    from relayer.zk.groth16.prover import prove

    circuit, r1cs, wit, pk = _bench_key(be, 100)
    prove(pk, wit, be)
    h0, d0 = be.bytes_h2d, be.bytes_d2h
    prove(pk, wit, be)
    assert be.bytes_h2d - h0 == 32 * len(wit)
    assert be.bytes_d2h - d0 < 1024
    key_handles = pk.prepared["_qap:gpu"]
    prove(pk, wit, be)
    assert pk.prepared["_qap:gpu"] is key_handles


def test_resident_calls_reject_bad_input(be: GpuBackend) -> None:
    circuit, r1cs, wit, pk = _bench_key(be, 30)
    from relayer.zk.groth16.qap_kernel import coefficient_arrays, coefficient_csr

    csr = coefficient_csr(pk.qap, coefficient_arrays(pk.qap))
    rp, wi, co, n = csr["row_ptr"], csr["wires"], csr["coefs"], csr["domain"]
    with pytest.raises(ProverError, match="row_ptr"):
        be.prepare_qap(rp[:-1], wi, co, n, 0)
    with pytest.raises(ProverError, match="row_ptr"):
        be.prepare_qap(np.concatenate([rp[:1], rp[2:3], rp[1:2], rp[3:]]), wi, co, n, 0)  # not monotone
    with pytest.raises(ProverError, match="wires"):
        be.prepare_qap(rp, wi.astype(np.int64) - 1, co, n, 0)
    bad_co = co.copy()
    bad_co[3] = ints_to_limbs([R])[0]
    with pytest.raises(ProverError, match="not reduced"):
        be.prepare_qap(rp, wi, bad_co, n, 0)
    with pytest.raises(ProverError, match="power of two"):
        be.prepare_qap(rp, wi, co, n - 1, 0)
    with pytest.raises(ProverError, match="n_check"):
        be.prepare_qap(rp, wi, co, n, n + 1)
    dq = be.prepare_qap(rp, wi, co, n, csr["n_check"])
    with pytest.raises(ProverError, match="witness has"):
        be.evaluate_qap(dq, be.load_witness(ints_to_limbs(wit[:-1])))
    with pytest.raises(ProverError, match="prepare_qap"):
        be.evaluate_qap(ints_to_limbs(wit), be.load_witness(ints_to_limbs(wit)))
    with pytest.raises(ProverError, match="evaluate_qap"):
        be.h_resident(ints_to_limbs(wit))
    with pytest.raises(ProverError, match="witness"):
        be.load_witness(np.zeros((3, 4), np.int64))
    sc = be.load_witness(ints_to_limbs(wit))
    with pytest.raises(ProverError, match="outside"):
        be.scalars_tail(sc, len(wit) + 1)


def test_resident_scalars_msm_equals_array_msm(be: GpuBackend) -> None:
    """msm_* on a load_witness handle (and its tail) give the same points as on the arrays."""
    pts = g1_points(40)
    h1 = be.prepare_g1(g1_to_array([g1_aff(p) for p in pts]))
    h2 = be.prepare_g2(g2_to_array([g2_aff(p) for p in g2_points(40)]))
    sc = [0, 1, R - 1] + [rng.randrange(R) for _ in range(37)]
    arr = ints_to_limbs(sc)
    dev = be.load_witness(arr)
    assert be.msm_g1(h1, dev) == be.msm_g1(h1, arr) == g1_aff(msm_ref(pts, sc, 1))
    assert be.msm_g1(h1, be.scalars_tail(dev, 5)) == be.msm_g1(h1, arr[5:])
    assert be.msm_g2(h2, dev) == be.msm_g2(h2, arr)
    assert be.msm_g1(h1, be.scalars_tail(dev, 40)) is None


def test_backends_without_the_capability_refuse_resident_calls() -> None:
    """cpu and reference keep the host path: the capability is declared False and its calls are errors."""
    from relayer.zk.backends import get_backend

    for name in ("cpu", "reference"):
        b = get_backend(name)
        assert b.resident_qap is False
        with pytest.raises(ProverError, match="resident_qap"):
            b.load_witness(ints_to_limbs([1]))
        with pytest.raises(ProverError, match="resident_qap"):
            b.evaluate_qap(None, None)
        assert np.array_equal(b.scalars_tail(ints_to_limbs([1, 2, 3]), 1), ints_to_limbs([2, 3]))


# --- thread order: a GPU runs a launch's threads in no fixed order -------------------------------------


@pytest.fixture()
def ordered_eng(host_lib: Path) -> Iterator[HostEngine]:
    """A HostEngine whose thread order the test may change; ascending again afterwards (the order is
    a global of the shared library, so every HostEngine of this module would see it)."""
    e = HostEngine(host_lib)
    try:
        yield e
    finally:
        e.set_thread_order("ascending")


def test_the_thread_order_option_exposes_an_order_dependent_launch(ordered_eng: HostEngine) -> None:
    """fr_bitrev in place (in == out, which its contract forbids) reads elements other threads already
    moved: its result changes with the order, so the option does show a race to the order tests below."""
    n, log_n = 64, 6
    v = ints_to_limbs(list(range(1, n + 1))).reshape(-1)
    results = {}
    for order in ("ascending", "descending", "scattered"):
        ordered_eng.set_thread_order(order)
        d = ordered_eng.upload(v)
        ordered_eng.launch("fr_bitrev", n, d, d, log_n)
        results[order] = limbs_to_ints(d)
    assert len({tuple(r) for r in results.values()}) == 3
    with pytest.raises(ProverError, match="thread order must be one of"):
        ordered_eng.set_thread_order("random")


def _order_sensitive_run(be: GpuBackend, key: Any) -> dict[str, Any]:
    """Every kind of launch the backend makes, on inputs that take the rare branches (repeated and
    cancelling points, skewed buckets over several reduction levels, many broken QAP rows)."""
    r = random.Random(77)
    out: dict[str, Any] = {}
    n = 1200
    p = ob.G1
    pts = []
    for _ in range(n):
        pts.append(p)
        p = ob.add(p, ob.G1)
    arr = g1_to_array([g1_aff(q) for q in pts])
    arr[10] = arr[9]
    h1 = be.prepare_g1(arr)
    skew = [1 if r.random() < 0.6 else r.randrange(R) for _ in range(n)]
    skew[9] = skew[10] = 5
    out["msm_g1_skewed"] = be.msm_g1(h1, ints_to_limbs(skew))
    assert out["msm_g1_skewed"] == g1_aff(ob.multiply(ob.G1, (sum((i + 1) * s for i, s in enumerate(skew)) - 5) % R))
    out["msm_g1_full"] = be.msm_g1(h1, ints_to_limbs([r.randrange(1 << 256) for _ in range(n)]))
    be.window_bits = 4
    out["msm_g1_c4"] = be.msm_g1(h1, ints_to_limbs(skew))
    be.window_bits = None
    g2 = [ob.multiply(ob.G2, 1000 + 77 * i) for i in range(12)]
    g2[3] = g2[2]
    h2 = be.prepare_g2(g2_to_array([g2_aff(q) for q in g2]))
    sc2 = [1, 1, 1, 1, 2, R - 1] + [r.randrange(R) for _ in range(6)]
    out["msm_g2"] = be.msm_g2(h2, ints_to_limbs(sc2))
    assert out["msm_g2"] == g2_aff(msm_ref(g2, sc2, 2))
    v = ints_to_limbs([r.randrange(R) for _ in range(256)])
    out["ntt"] = be.ntt(v, coset=True).tobytes()
    out["intt"] = be.ntt(v, inverse=True, coset=True).tobytes()
    out["h"] = be.compute_h(v, v[::-1].copy(), v).tobytes()
    out["inv"] = be.batch_inverse(v).tobytes()
    out["fb1"] = be.fixed_base_mul_g1((1, 2), v[:40]).tobytes()
    out["fb2"] = be.fixed_base_mul_g2(g2_aff(g2[1]), v[:6]).tobytes()
    circuit, r1cs, wit, pk = key
    dq = _device_qap(be, pk.qap)
    rows, bad = be.evaluate_qap(dq, be.load_witness(ints_to_limbs(wit)))
    out["qap_rows"] = tuple(x.tobytes() for x in be.qap_rows_to_host(rows))
    out["h_resident"] = be.scalars_to_host(be.h_resident(rows)).tobytes()
    out["bad_good"] = bad
    changes = {f"b{blk}.bit{i}": 2 + i for blk in range(0, 3) for i in (3, 17, 30)}
    out["bad_many"] = be.evaluate_qap(dq, be.load_witness(ints_to_limbs(circuit.tamper(wit, changes))))[1]
    return out


@pytest.mark.parametrize("order", ["descending", "scattered"])
def test_no_kernel_depends_on_the_order_of_its_threads(ordered_eng: HostEngine, order: str) -> None:
    """What the GPU may do (any thread order, unstable sort ties) gives the ascending loop's results,
    and a whole proof made that way verifies and still names the first broken constraint."""
    from relayer.errors import UnsatisfiedConstraint
    from relayer.zk.groth16.prover import prove
    from relayer.zk.groth16.verifier import verify

    be = GpuBackend(ordered_eng)
    key = _bench_key(be, 250)
    base = _order_sensitive_run(be, key)
    assert base["bad_good"] == -1 and base["bad_many"] == _plain_first_bad(key[3].qap, key[0].tamper(
        key[2], {f"b{blk}.bit{i}": 2 + i for blk in range(0, 3) for i in (3, 17, 30)}))
    ordered_eng.set_thread_order(order)
    be2 = GpuBackend(ordered_eng)  # fresh caches (twiddles, constants) made in the new order
    got = _order_sensitive_run(be2, key)
    assert got.keys() == base.keys()
    for k in base:
        assert got[k] == base[k], k
    circuit, r1cs, wit, pk = key
    proof, public = prove(pk, wit, be2)
    assert verify(pk.vk, public, proof)
    with pytest.raises(UnsatisfiedConstraint):
        prove(pk, circuit.tamper(wit, {"b2.bit4": 3}), be2, r1cs=r1cs)


def test_resident_steps_wait_for_the_device_before_returning(host_lib: Path) -> None:
    """GPU launches are asynchronous: h_resident and prepare_qap end with a synchronize (else the
    prover's stage timings put h's work into msm_a); evaluate_qap's result read is its sync point."""
    calls: list[str] = []

    class Recording(HostEngine):
        def launch(self, name: str, n_threads: int, *args: Any) -> None:
            calls.append(name)
            super().launch(name, n_threads, *args)

        def synchronize(self) -> None:
            calls.append("synchronize")

        def to_int(self, value: Any) -> int:
            calls.append("to_int")
            return super().to_int(value)

    be = GpuBackend(Recording(host_lib))
    circuit, r1cs, wit, pk = _bench_key(be, 60)
    calls.clear()
    dq = _device_qap(be, pk.qap)
    assert calls[-1] == "synchronize"
    rows, bad = be.evaluate_qap(dq, be.load_witness(ints_to_limbs(wit)))
    assert bad == -1 and calls[-1] == "to_int" and calls[-2] == "fr_mul_vec"
    calls.clear()
    be.h_resident(rows)
    assert calls[-1] == "synchronize" and "fr_h_combine" in calls


def test_cupy_engine_marshals_arguments_as_the_kernels_declare() -> None:
    """CupyEngine.launch without CUDA (a stand-in for the cupy module and the kernel functions): every
    scalar goes as np.int64, pointers must be contiguous device arrays, the grid covers n_threads."""
    import types

    from relayer.zk.backends.gpu import CupyEngine

    seen: list[tuple[Any, Any, tuple[Any, ...]]] = []
    eng = object.__new__(CupyEngine)
    eng.cp = types.SimpleNamespace(ndarray=np.ndarray)
    eng._fns = {name: (lambda g, b, a: seen.append((g, b, a))) for name in KERNEL_ARGS}
    a = np.zeros(64, dtype=np.uint64)
    out = np.zeros(64, dtype=np.uint64)
    eng.launch("fr_bitrev", 300, a, out, 4)
    (grid, block, args), = seen
    assert grid == (3,) and block == (128,)
    assert [type(x) for x in args] == [np.int64, np.ndarray, np.ndarray, np.int64]
    assert args[0] == 300 and args[3] == 4
    eng.launch("fr_bitrev", 0, a, out, 4)  # nothing to run: no launch
    assert len(seen) == 1
    with pytest.raises(ProverError, match="contiguous device array"):
        eng.launch("fr_bitrev", 16, a[::2], out, 4)
    with pytest.raises(ProverError, match="contiguous device array"):
        eng.launch("fr_bitrev", 16, [0] * 64, out, 4)
    with pytest.raises(ProverError, match="takes 3 arguments"):
        eng.launch("fr_bitrev", 16, a, out)
    with pytest.raises(ProverError, match="exceed one launch's grid"):
        eng.launch("fr_bitrev", 1 << 40, a, out, 4)


def test_device_benchmark_without_a_usable_gpu_still_writes_why(tmp_path: Path) -> None:
    """relayer.bench.prover --gpu-device where the gpu backend is unavailable: exit 1 and a JSON that
    names the error (the device run brings back its JSON, not a bare traceback)."""
    import json

    from relayer.bench.prover import gpu_device_benchmark
    from relayer.zk.backends.gpu import GpuBackend

    try:
        GpuBackend.check_available()
        pytest.skip("a CUDA device is usable here")
    except BackendUnavailable:
        pass
    out = tmp_path / "b.json"
    assert gpu_device_benchmark(out, 30, dry=False) == 1
    res = json.loads(out.read_text())
    assert [e["what"] for e in res["errors"]] == ["gpu backend"]
    assert "BackendUnavailable" in res["errors"][0]["error"]


def test_device_benchmark_budget_records_what_it_skips(tmp_path: Path) -> None:
    """The device benchmark runs a size only when its estimate fits the time left; a skipped size is
    written to the JSON with the budget arithmetic (the device run must say what it did not measure)."""
    from relayer.bench.prover import _Recorder

    rec = _Recorder(tmp_path / "b.json", budget=100.0, dry=True)
    assert rec.fits("msm_g1 2^16", 10.0, 20.0)
    assert not rec.fits("proof 2^22", 500.0, 10.0, " (setup and circuit dominate)")
    saved = json.loads((tmp_path / "b.json").read_text())
    assert [s["what"] for s in saved["skipped"]] == ["proof 2^22"]
    assert re.fullmatch(r"budget: \d+s left, estimate 500s \(setup and circuit dominate\)", saved["skipped"][0]["why"])
