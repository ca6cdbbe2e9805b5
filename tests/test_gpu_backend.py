"""The `gpu` backend on a real CUDA device: differential against plain ints, py_ecc and the cpu backend.

Marked `gpu`: run with scripts/test-gpu (or scripts/device-gpu-check on the device machine). Expected
values come from outside the backend: bases with known discrete logs b_i*G make sum s_i*b_i*G one
py_ecc multiplication at any size; the cpu backend is the second opinion at moderate sizes.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import pytest
from py_ecc import optimized_bn128 as ob

from relayer.errors import BackendUnavailable, ProverError
from relayer.zk.backends import get_backend
from relayer.zk.backends.base import ProverBackend
from relayer.zk.field import (
    Q,
    R,
    array_to_g1,
    array_to_g2,
    fr_root_of_unity,
    ints_to_limbs,
    limbs_to_ints,
)

pytestmark = pytest.mark.gpu

G1_GEN = (1, 2)
G2_GEN = (
    (
        10857046999023057135944570762232829481370756359578518086990519993285655852781,
        11559732032986387107991004021392285783925812861821192530917403151452391805634,
    ),
    (
        8495653923123431417604973247489272438418190587263600148770280649306958101930,
        4082367875863433681332203403145435568316851327593401208105741076214120093531,
    ),
)
rng = random.Random(6)


@pytest.fixture(scope="module")
def gpu() -> Any:
    try:
        return get_backend("gpu")
    except BackendUnavailable as exc:
        if os.environ.get("RELAYER_REQUIRE_GPU"):  # scripts/device-gpu-check on the GPU machine
            pytest.fail(f"RELAYER_REQUIRE_GPU is set but the gpu backend is unavailable: {exc}")
        pytest.skip(f"no usable GPU here: {exc}")


@pytest.fixture(scope="module")
def cpu() -> ProverBackend:
    try:
        return get_backend("cpu")
    except BackendUnavailable as exc:  # pragma: no cover - cpu is always present where numba is
        pytest.skip(f"cpu backend not usable: {exc}")


def g1_mul(p: Any, s: int) -> Any:
    if s % R == 0:
        return None
    x, y = ob.normalize(ob.multiply((ob.FQ(p[0]), ob.FQ(p[1]), ob.FQ(1)), s % R))
    return (int(x.n), int(y.n))


def g2_mul(p: Any, s: int) -> Any:
    if s % R == 0:
        return None
    q = (ob.FQ2(list(p[0])), ob.FQ2(list(p[1])), ob.FQ2([1, 0]))
    x, y = ob.normalize(ob.multiply(q, s % R))
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))


def known_bases(be: Any, n: int, group: int) -> tuple[list[int], np.ndarray]:
    """n bases b_i*G with random b_i, computed by the gpu's fixed-base kernel; a sample is checked."""
    logs = [rng.randrange(1, R) for _ in range(n)]
    if group == 1:
        arr = be.fixed_base_mul_g1(G1_GEN, ints_to_limbs(logs))
        pts = array_to_g1(arr[:3])
        for i in range(len(pts)):
            assert pts[i] == g1_mul(G1_GEN, logs[i])
    else:
        arr = be.fixed_base_mul_g2(G2_GEN, ints_to_limbs(logs))
        pts2 = array_to_g2(arr[:2])
        for i in range(len(pts2)):
            assert pts2[i] == g2_mul(G2_GEN, logs[i])
    return logs, arr


def witness_like(n: int) -> list[int]:
    """Half bits, some small values, the rest full-size; a few >= r (must be reduced)."""
    out = []
    for _ in range(n):
        u = rng.random()
        if u < 0.5:
            out.append(rng.randrange(2))
        elif u < 0.55:
            out.append(rng.randrange(1 << 20))
        elif u < 0.57:
            out.append(rng.randrange(R, 1 << 256))
        else:
            out.append(rng.randrange(R))
    return out


def expected(logs: list[int], scalars: list[int], group: int) -> Any:
    e = sum(s * b for s, b in zip(scalars, logs)) % R
    return g1_mul(G1_GEN, e) if group == 1 else g2_mul(G2_GEN, e)


# --- device arithmetic directly (the __umul64hi path is not the one the host tests ran) -------------


@pytest.mark.parametrize("kernel,p", [("fq_op", Q), ("fr_op", R)], ids=["fq", "fr"])
def test_device_field_mul_and_inverse(gpu: Any, kernel: str, p: int) -> None:
    eng = gpu.engine
    xs = [0, 1, p - 1, p - 2, (1 << 64) - 1] + [rng.randrange(p) for _ in range(4000)]
    ys = [p - 1, p - 1, p - 1, 2, (1 << 64) + 1] + [rng.randrange(p) for _ in range(4000)]
    m = 1 << 256
    a = eng.upload(ints_to_limbs([x * m % p for x in xs]).reshape(-1))
    b = eng.upload(ints_to_limbs([y * m % p for y in ys]).reshape(-1))
    out = eng.xp.zeros_like(a)
    minv = pow(m, -1, p)
    for op, f in ((2, lambda x, y: x * y % p), (0, lambda x, y: (x + y) % p), (1, lambda x, y: (x - y) % p),
                  (4, lambda x, y: pow(x, -1, p) if x else 0)):
        eng.launch(kernel, len(xs), op, a, b, out)
        got = [v * minv % p for v in limbs_to_ints(eng.download(out))]
        assert got == [f(x, y) for x, y in zip(xs, ys)], f"op {op}"


# --- MSM --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 5, 300, 4096, 1 << 16])
def test_msm_g1_known_logs(gpu: Any, n: int) -> None:
    logs, arr = known_bases(gpu, n, 1)
    h = gpu.prepare_g1(arr)
    sc = witness_like(n)
    assert gpu.msm_g1(h, ints_to_limbs(sc)) == expected(logs, sc, 1)
    full = [rng.randrange(1 << 256) for _ in range(n)]
    assert gpu.msm_g1(h, ints_to_limbs(full)) == expected(logs, full, 1)


@pytest.mark.parametrize("n", [1, 3, 500, 1 << 14])
def test_msm_g2_known_logs(gpu: Any, n: int) -> None:
    logs, arr = known_bases(gpu, n, 2)
    h = gpu.prepare_g2(arr)
    sc = witness_like(n)
    assert gpu.msm_g2(h, ints_to_limbs(sc)) == expected(logs, sc, 2)


@pytest.mark.parametrize("c", [4, 9, 12, 14, 16])
def test_msm_every_window_size(gpu: Any, c: int) -> None:
    logs, arr = known_bases(gpu, 2048, 1)
    h = gpu.prepare_g1(arr)
    sc = witness_like(2048)
    gpu.window_bits = c
    try:
        assert gpu.msm_g1(h, ints_to_limbs(sc)) == expected(logs, sc, 1)
    finally:
        gpu.window_bits = None


def test_msm_edge_cases_zero_repeats_infinity(gpu: Any) -> None:
    logs, arr = known_bases(gpu, 64, 1)
    arr = arr.copy()
    arr[5] = arr[4]
    logs[5] = logs[4]  # repeated point
    arr[7] = 0
    logs[7] = 0  # infinity base
    h = gpu.prepare_g1(arr)
    sc = witness_like(64)
    sc[4] = sc[5] = 12345  # same point, same scalar: the doubling branch in a bucket
    assert gpu.msm_g1(h, ints_to_limbs(sc)) == expected(logs, sc, 1)
    assert gpu.msm_g1(h, ints_to_limbs([0] * 64)) is None
    assert gpu.msm_g1(h, ints_to_limbs([R] * 64)) is None
    assert gpu.msm_g1(h, ints_to_limbs([1] * 10)) == expected(logs[:10], [1] * 10, 1)


def test_msm_all_ones_at_2_16_uses_the_bucket_tree(gpu: Any) -> None:
    n = 1 << 16
    logs, arr = known_bases(gpu, n, 1)
    h = gpu.prepare_g1(arr)
    assert gpu.msm_g1(h, ints_to_limbs([1] * n)) == expected(logs, [1] * n, 1)


def test_msm_against_cpu_backend(gpu: Any, cpu: ProverBackend) -> None:
    n = 3000
    logs, arr = known_bases(gpu, n, 1)
    sc = ints_to_limbs(witness_like(n))
    assert gpu.msm_g1(gpu.prepare_g1(arr), sc) == cpu.msm_g1(cpu.prepare_g1(arr), sc)
    logs2, arr2 = known_bases(gpu, 400, 2)
    sc2 = ints_to_limbs(witness_like(400))
    assert gpu.msm_g2(gpu.prepare_g2(arr2), sc2) == cpu.msm_g2(cpu.prepare_g2(arr2), sc2)


def test_bases_stay_on_the_device_across_msms(gpu: Any) -> None:
    logs, arr = known_bases(gpu, 1000, 1)
    h = gpu.prepare_g1(arr)
    h2d = gpu.bytes_h2d
    sc = witness_like(1000)
    assert gpu.msm_g1(h, ints_to_limbs(sc)) == expected(logs, sc, 1)
    # only the scalars went up (and a few small constants at most), never the bases again
    assert gpu.bytes_h2d - h2d < 1000 * 32 + 4096


def test_prepare_rejects_points_off_the_curve(gpu: Any) -> None:
    _, arr = known_bases(gpu, 10, 1)
    bad = arr.copy()
    bad[6, 1, 0] ^= np.uint64(1)
    with pytest.raises(ProverError, match="index 6 is not on the curve"):
        gpu.prepare_g1(bad)


# --- NTT / h / inverse / fixed base ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 64, 1 << 12, 1 << 16])
@pytest.mark.parametrize("coset", [False, True])
def test_ntt_round_trip_and_against_cpu(gpu: Any, cpu: ProverBackend, n: int, coset: bool) -> None:
    v = ints_to_limbs([rng.randrange(R) for _ in range(n)])
    fwd = gpu.ntt(v, coset=coset)
    assert np.array_equal(fwd, cpu.ntt(v, coset=coset))
    assert np.array_equal(gpu.ntt(fwd, inverse=True, coset=coset), v)
    assert np.array_equal(gpu.ntt(v, inverse=True, coset=coset), cpu.ntt(v, inverse=True, coset=coset))


def test_ntt_small_against_definition(gpu: Any) -> None:
    n = 16
    v = [rng.randrange(R) for _ in range(n)]
    w, g = fr_root_of_unity(n), fr_root_of_unity(2 * n)
    exp = [sum(x * pow(g * pow(w, j, R), i, R) for i, x in enumerate(v)) % R for j in range(n)]
    assert limbs_to_ints(gpu.ntt(ints_to_limbs(v), coset=True)) == exp


@pytest.mark.parametrize("n", [1, 8, 1 << 12, 1 << 16])
def test_compute_h_against_cpu_and_generic(gpu: Any, cpu: ProverBackend, n: int) -> None:
    a, b, c = (ints_to_limbs([rng.randrange(R) for _ in range(n)]) for _ in range(3))
    got = gpu.compute_h(a, b, c)
    assert np.array_equal(got, cpu.compute_h(a, b, c))
    if n <= 4096:
        assert np.array_equal(got, ProverBackend.compute_h(gpu, a, b, c))


def test_batch_inverse(gpu: Any) -> None:
    v = [0, 1, R - 1, R + 1] + [rng.randrange(R) for _ in range(5000)]
    got = limbs_to_ints(gpu.batch_inverse(ints_to_limbs(v)))
    assert got == [pow(x % R, -1, R) if x % R else 0 for x in v]


def test_fixed_base_against_cpu(gpu: Any, cpu: ProverBackend) -> None:
    sc = ints_to_limbs([0, 1, R - 1, R, (1 << 256) - 1] + [rng.randrange(1 << 256) for _ in range(5000)])
    base = g1_mul(G1_GEN, 987654321)
    assert np.array_equal(gpu.fixed_base_mul_g1(base, sc), cpu.fixed_base_mul_g1(base, sc))
    base2 = g2_mul(G2_GEN, 123456789)
    assert np.array_equal(gpu.fixed_base_mul_g2(base2, sc[:800]), cpu.fixed_base_mul_g2(base2, sc[:800]))


# --- whole proofs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [6, 12])
def test_whole_proof_on_gpu_verifies(gpu: Any, cpu: ProverBackend, k: int) -> None:
    # the Groth16 modules are written in parallel: skip only if they are absent from this tree
    prover = pytest.importorskip("relayer.zk.groth16.prover", reason="Groth16 prover not in this tree")
    setup = pytest.importorskip("relayer.zk.groth16.setup", reason="Groth16 setup not in this tree")
    from relayer.zk.examples import make_bench_circuit
    from relayer.zk.groth16.verifier import verify

    circuit, inputs = make_bench_circuit(1 << k)
    r1cs = circuit.compile()
    wit = circuit.witness(inputs)
    pk = setup.dev_setup(r1cs, backend=gpu)  # setup through the gpu fixed-base kernels
    proof, public = prover.prove(pk, wit, gpu, r1cs=r1cs)
    assert verify(pk.vk, public, proof)
    assert not verify(pk.vk, [(public[0] + 1) % R, *public[1:]], proof)
    # the same key proven by the cpu backend verifies too (backend-neutral artifacts)
    proof_cpu, public_cpu = prover.prove(pk, wit, cpu, r1cs=r1cs)
    assert public_cpu == public and verify(pk.vk, public, proof_cpu)


# --- resident proving: witness, QAP rows, first unsatisfied row and h on the device -------------------


@pytest.fixture(scope="module")
def bench_key(gpu: Any) -> tuple[Any, Any, list[int], Any]:
    from relayer.zk.examples import make_bench_circuit
    from relayer.zk.groth16.setup import dev_setup

    bc = make_bench_circuit((1 << 14) - 4)  # domain exactly 2^14
    r1cs = bc.circuit.compile()
    return bc.circuit, r1cs, bc.circuit.witness(bc.inputs), dev_setup(r1cs, backend=gpu)


def _device_qap(gpu: Any, q: Any) -> Any:
    from relayer.zk.groth16.qap_kernel import coefficient_arrays, coefficient_csr

    csr = coefficient_csr(q, coefficient_arrays(q))
    return gpu.prepare_qap(csr["row_ptr"], csr["wires"], csr["coefs"], csr["domain"], csr["n_check"])


def test_device_qap_rows_and_h_equal_the_numba_path(gpu: Any, bench_key: Any) -> None:
    from relayer.zk.groth16.qap_kernel import coefficient_arrays, evaluate_limbs

    circuit, r1cs, wit, pk = bench_key
    w = ints_to_limbs(wit)
    a, b, c, bad = evaluate_limbs(pk.qap, coefficient_arrays(pk.qap), w)
    rows, dbad = gpu.evaluate_qap(_device_qap(gpu, pk.qap), gpu.load_witness(w))
    assert bad == dbad == -1
    ga, gb, gc = gpu.qap_rows_to_host(rows)
    assert np.array_equal(ga, a) and np.array_equal(gb, b) and np.array_equal(gc, c)
    assert np.array_equal(gpu.scalars_to_host(gpu.h_resident(rows)), gpu.compute_h(a, b, c))


def test_device_qap_check_reports_the_smallest_bad_row_under_concurrency(gpu: Any, bench_key: Any) -> None:
    """Hundreds of broken rows evaluated by concurrent threads: the atomic minimum is the first one."""
    from relayer.zk.groth16 import qap as qapmod

    circuit, r1cs, wit, pk = bench_key
    dq = _device_qap(gpu, pk.qap)
    for first_block in (0, 7, 200):
        changes = {f"b{blk}.bit{i}": 2 + i for blk in range(first_block, 250, 3) for i in (1, 17, 30)}
        bad_w = circuit.tamper(wit, changes)
        a, b, c = qapmod.evaluate_rows(pk.qap, bad_w)
        bad_rows = [i for i in range(pk.qap.n_constraints) if a[i] * b[i] % R != c[i]]
        assert len(bad_rows) > 50
        _, got = gpu.evaluate_qap(dq, gpu.load_witness(ints_to_limbs(bad_w)))
        assert got == bad_rows[0]


def test_resident_proof_names_the_bad_constraint_and_moves_only_the_witness(gpu: Any, bench_key: Any) -> None:
    from relayer.errors import UnsatisfiedConstraint
    from relayer.zk.groth16.prover import prove
    from relayer.zk.groth16.verifier import verify

    circuit, r1cs, wit, pk = bench_key
    proof, public = prove(pk, wit, gpu)
    assert verify(pk.vk, public, proof)
    h0, d0 = gpu.bytes_h2d, gpu.bytes_d2h
    proof, public = prove(pk, wit, gpu)
    assert verify(pk.vk, public, proof)
    assert gpu.bytes_h2d - h0 == 32 * len(wit)  # the witness, once
    assert gpu.bytes_d2h - d0 < 1024  # five points and a few counters
    bad_w = circuit.tamper(wit, {"b3.bit9": 2})
    with pytest.raises(UnsatisfiedConstraint, match=r"constraint b3\.bit9:bool"):
        prove(pk, bad_w, gpu, r1cs=r1cs)
