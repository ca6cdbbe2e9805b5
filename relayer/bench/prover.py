"""Prover benchmark: Groth16 prove time per backend and snarkjs on the same circuit and key.

For each size 2^k the benchmark circuit (relayer.zk.examples) gets 2^k − n_public − 1 constraints, so
its QAP domain is exactly 2^k. One dev setup (cpu backend) produces the key; our backends prove from
our key files and snarkjs proves from the same key written as a .zkey, each in its own process
(peak RSS per process, polled from /proc). Reported: cold (first proof: compile/prepare included) and warm
(best of the following reps) seconds, per-stage seconds of the warm run, and the ratio to snarkjs.
Our prover verifies every proof with a pairing check before returning it (snarkjs does not): the
ratio `speedup_vs_snarkjs` compares the proving work alone, `..._incl_local_verify` the whole call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SNARKJS_SCRIPT = r"""
const snarkjs = require(process.argv[2]);
const [zkey, wtns, reps] = [process.argv[3], process.argv[4], parseInt(process.argv[5])];
(async () => {
  let t = performance.now();
  await snarkjs.groth16.prove(zkey, wtns);
  const cold = (performance.now() - t) / 1000;
  const warm = [];
  for (let i = 0; i < reps; i++) {
    t = performance.now();
    await snarkjs.groth16.prove(zkey, wtns);
    warm.push((performance.now() - t) / 1000);
  }
  console.log(JSON.stringify({cold_s: cold, warm_s: warm}));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
"""


def _vm_hwm_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM) in KiB, 0 if it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _run_measured(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> tuple[str, int]:
    """Run cmd, return (stdout, peak RSS in KiB of that process).

    The peak is polled from /proc/PID/status (VmHWM), not taken from wait4's ru_maxrss: on Linux
    the latter also counts the parent's memory that the child had between fork and exec.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + timeout
    out_chunks: list[bytes] = []
    # communicate() would reap the child before wait4 could; read pipes in a thread instead
    import threading

    err_chunks: list[bytes] = []
    t_out = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()))  # type: ignore[union-attr]
    t_err = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()))  # type: ignore[union-attr]
    t_out.start()
    t_err.start()
    peak = 0
    while True:
        peak = max(peak, _vm_hwm_kib(proc.pid))
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, rusage = os.wait4(proc.pid, 0)
            t_out.join()
            t_err.join()
            raise TimeoutError(f"{cmd[0]} ... exceeded {timeout:.0f}s")
        time.sleep(0.02)
    t_out.join()
    t_err.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}): {b''.join(err_chunks).decode()[-2000:]}")
    return b"".join(out_chunks).decode(), peak


def worker(keys: Path, wtns: Path, backend_name: str, reps: int) -> dict[str, Any]:
    """Runs in its own process: load key and witness, prove cold then `reps` warm times."""
    from relayer.zk.backends import get_backend
    from relayer.zk.formats.wtns_file import read_wtns_limbs
    from relayer.zk.groth16.keys import load_proving_key
    from relayer.zk.groth16.prover import prove

    t = time.perf_counter()
    backend = get_backend(backend_name)
    pk = load_proving_key(keys)
    witness = read_wtns_limbs(wtns)  # the path `relayer zk prove --wtns` takes
    load_s = time.perf_counter() - t
    stages_cold: dict[str, float] = {}
    t = time.perf_counter()
    prove(pk, witness, backend, timings=stages_cold)
    cold = time.perf_counter() - t
    warm: list[float] = []
    best_stages: dict[str, float] = {}
    for _ in range(reps):
        st: dict[str, float] = {}
        t = time.perf_counter()
        prove(pk, witness, backend, timings=st)
        warm.append(time.perf_counter() - t)
        if warm[-1] == min(warm):
            best_stages = st
    best_stages = best_stages or stages_cold
    return {
        "backend": backend.describe(),
        # the proving work alone (what snarkjs's prove does), without our mandatory local pairing check
        "best_prove_s": (min(warm) if warm else cold) - best_stages.get("verify", 0.0),
        "local_verify_s": best_stages.get("verify", 0.0),
        "load_s": load_s,
        "cold_s": cold,
        "cold_stages_s": stages_cold,
        "warm_s": warm,
        "best_s": min(warm) if warm else cold,
        "best_stages_s": best_stages,
    }


def _node_snarkjs(zkey: Path, wtns: Path, reps: int, timeout: float) -> dict[str, Any]:
    from relayer.tools import node_binary, npm_script

    with tempfile.NamedTemporaryFile("w", suffix=".cjs", delete=False) as f:
        f.write(SNARKJS_SCRIPT)
        script = f.name
    try:
        out, rss = _run_measured(
            [node_binary(), script, str(npm_script("snarkjs/build/main.cjs")), str(zkey), str(wtns), str(reps)],
            timeout,
        )
    finally:
        os.unlink(script)
    res = json.loads(out.strip().splitlines()[-1])
    res["best_s"] = min(res["warm_s"]) if res["warm_s"] else res["cold_s"]
    res["peak_rss_mib"] = round(rss / 1024, 1)
    return res


def bench_size(
    k: int, backends: list[str], reps: int, snarkjs: bool, work: Path, timeout: float, log: Any
) -> dict[str, Any]:
    from relayer.zk.examples import make_bench_circuit
    from relayer.zk.formats.r1cs_file import write_r1cs
    from relayer.zk.formats.wtns_file import write_wtns
    from relayer.zk.formats.zkey_file import write_zkey
    from relayer.zk.groth16.keys import save_keys
    from relayer.zk.groth16.setup import dev_setup

    n_public = 3  # the benchmark circuit: 1 output + 2 public inputs
    n_constraints = (1 << k) - n_public - 1
    res: dict[str, Any] = {"log2_domain": k, "constraints": n_constraints}
    t = time.perf_counter()
    bc = make_bench_circuit(n_constraints)
    r1cs = bc.circuit.compile()
    witness = bc.circuit.witness(bc.inputs)
    res["build_s"] = time.perf_counter() - t
    res["wires"] = r1cs.n_wires
    res["zero_or_one_witness_fraction"] = round(sum(1 for x in witness if x in (0, 1)) / len(witness), 3)
    log(f"2^{k}: {n_constraints} constraints, {r1cs.n_wires} wires; dev setup (cpu)...")
    t = time.perf_counter()
    pk = dev_setup(r1cs, backend="cpu")
    res["setup_s"] = time.perf_counter() - t
    assert pk.qap.domain_size == 1 << k, (pk.qap.domain_size, k)
    d = work / f"k{k}"
    d.mkdir(parents=True, exist_ok=True)
    save_keys(d / "keys", pk)
    write_r1cs(d / "circuit.r1cs", r1cs)
    write_wtns(d / "witness.wtns", witness)
    res["backends"] = {}
    for name in backends:
        log(f"2^{k}: proving with {name} ({reps} warm reps)...")
        try:
            out, rss = _run_measured(
                [sys.executable, "-m", "relayer.bench.prover", "--worker", str(d / "keys"), str(d / "witness.wtns"), name, str(reps)],
                timeout,
            )
            r = json.loads(out.strip().splitlines()[-1])
            r["peak_rss_mib"] = round(rss / 1024, 1)
        except (RuntimeError, TimeoutError) as exc:
            r = {"error": str(exc)}
        res["backends"][name] = r
        log(f"2^{k}: {name}: {r.get('best_s', r.get('error'))}")
    if snarkjs:
        write_zkey(d / "circuit.zkey", pk)
        log(f"2^{k}: proving with snarkjs...")
        try:
            res["snarkjs"] = _node_snarkjs(d / "circuit.zkey", d / "witness.wtns", reps, timeout)
        except (RuntimeError, TimeoutError) as exc:
            res["snarkjs"] = {"error": str(exc)}
        sj = res["snarkjs"].get("best_s")
        if sj:
            for name, r in res["backends"].items():
                if "best_s" in r:
                    r["speedup_vs_snarkjs"] = round(sj / r["best_prove_s"], 2)
                    r["speedup_vs_snarkjs_incl_local_verify"] = round(sj / r["best_s"], 2)
        log(f"2^{k}: snarkjs: {res['snarkjs'].get('best_s', res['snarkjs'].get('error'))}")
    return res


def verifier_gas(log: Any) -> dict[str, Any]:
    """Gas of single and batched on-chain verification (n = 1..8) with real proofs, on a fresh anvil."""
    from web3 import Web3

    from relayer.devnet.anvil import start_anvil
    from relayer.zk.backends import get_backend
    from relayer.zk.examples import make_bench_circuit
    from relayer.zk.groth16.prover import prove
    from relayer.zk.groth16.setup import dev_setup
    from relayer.zk.solidity import measure_verifier_gas

    log("verifier gas: proving 8 proofs of a 12-public-input circuit (the feed's per-chain shape)...")
    backend = get_backend("cpu")
    bc = make_bench_circuit(252)
    r1cs = bc.circuit.compile()
    pk = dev_setup(r1cs, backend="cpu")
    items = []
    for i in range(8):
        w = bc.circuit.witness({**bc.inputs, "a": bc.inputs["a"] + i})
        proof, public = prove(pk, w, backend)
        items.append((public, proof))
    with tempfile.TemporaryDirectory() as tmp:
        chain = start_anvil(31337, log_dir=tmp)
        try:
            w3 = Web3(Web3.HTTPProvider(chain.rpc_url))
            real = measure_verifier_gas(w3, pk.vk, items, max_batch=8, n_public=pk.vk.n_public)
            feed_shape = measure_verifier_gas(w3, max_batch=8)  # 12 public inputs per proof, as the feed derives
        finally:
            chain.stop()
    return {"bench_circuit_3_public": real, "feed_shape_12_public_simulated": feed_shape}


def run(
    sizes: list[int], backends: list[str], reps: int, snarkjs: bool, gas: bool, out: Path, timeout: float, log: Any
) -> dict[str, Any]:
    from relayer.bench.machine import describe_machine

    result: dict[str, Any] = {"benchmark": "prover", "machine": describe_machine(), "sizes": []}
    with tempfile.TemporaryDirectory(prefix="bench-prover-") as tmp:
        for k in sizes:
            result["sizes"].append(bench_size(k, backends, reps, snarkjs, Path(tmp), timeout, log))
            _write(out, result)
    if gas:
        result["verifier_gas"] = verifier_gas(log)
    _write(out, result)
    return result


def _write(out: Path, result: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str) + "\n")
    tmp.replace(out)


# ------------------------------------------------------------------------------------------------
# The gpu device benchmark (scripts/device-gpu-check): one process on the device machine, the cpu
# backend as the baseline on the same circuits and keys, JSON rewritten after every measurement so a
# run cut short still leaves its results. `--dry-run` runs the same code through the host-built
# kernels (HostEngine) at tiny sizes, so that a mistake here cannot waste the device run.
# ------------------------------------------------------------------------------------------------

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


def _sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as exc:  # the machine description is best effort: a missing tool is noted
        return f"unavailable ({exc.__class__.__name__})"


class _Recorder:
    """Results JSON written atomically after every record, with a wall-clock budget."""

    def __init__(self, out: Path, budget: float, dry: bool) -> None:
        import platform

        import numpy as np

        self.out, self.budget, self.t_start = out, budget, time.perf_counter()
        cpu_model = "?"
        try:
            with open("/proc/cpuinfo") as f:
                cpu_model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
        except OSError:
            pass
        self.res: dict[str, Any] = {
            "benchmark": "gpu device check",
            "machine": {
                "gpu": _sh(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]),
                "cpu_count": os.cpu_count(),
                "cpu_model": cpu_model,
                "python": sys.version.split()[0],
                "numpy": np.__version__,
                "platform": platform.platform(),
            },
            "dry_run": dry,
            "budget_s": budget,
            "results": [],
            "skipped": [],
            "errors": [],
            "goals": {},
        }

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.t_start)

    def save(self) -> None:
        self.res["elapsed_s"] = round(time.perf_counter() - self.t_start, 2)
        _write(self.out, self.res)

    def record(self, **kw: Any) -> None:
        kw["t_since_start_s"] = round(time.perf_counter() - self.t_start, 2)
        self.res["results"].append(kw)
        print(json.dumps(kw, default=str), flush=True)
        self.save()

    def fits(self, what: str, estimate_s: float, slack_s: float, note: str = "") -> bool:
        """True when `estimate_s` (+ `slack_s`) fits in the time left; otherwise records why `what` is skipped."""
        if self.left() >= estimate_s + slack_s:
            return True
        self.skip(what, f"budget: {self.left():.0f}s left, estimate {estimate_s:.0f}s{note}")
        return False

    def skip(self, what: str, why: str) -> None:
        self.res["skipped"].append({"what": what, "why": why})
        print("SKIP", what, why, flush=True)
        self.save()

    def error(self, what: str) -> None:
        import traceback

        self.res["errors"].append({"what": what, "error": traceback.format_exc()[-3000:]})
        print("ERROR", what, traceback.format_exc()[-1500:], flush=True)
        self.save()


def _timed(fn: Any, reps: int) -> tuple[float, list[float], Any]:
    import statistics

    ts, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), ts, out


def _known_msm(logs: list[int], sc: list[int], group: int) -> Any:
    """sum s_i (b_i G) = (sum s_i b_i) G: one py_ecc multiplication checks an MSM of any size."""
    from py_ecc import optimized_bn128 as ob

    from relayer.zk.field import R

    e = sum(s * b for s, b in zip(sc, logs)) % R
    if e == 0:
        return None
    x, y = ob.normalize(ob.multiply(ob.G1 if group == 1 else ob.G2, e))
    if group == 1:
        return (int(x.n), int(y.n))
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))


def device_gpu_backend(dry: bool) -> Any:
    """The gpu backend on the device; in a dry run (no CUDA) the same kernels built for the host with g++
    (HostEngine, in $BENCH_HOST_DIR), so the device scripts' code runs here before it costs device time."""
    if dry:
        from relayer.zk.backends.gpu import GpuBackend, HostEngine, build_host_library

        host_dir = Path(os.environ.get("BENCH_HOST_DIR", tempfile.gettempdir()))
        host_dir.mkdir(parents=True, exist_ok=True)
        return GpuBackend(HostEngine(build_host_library(host_dir)))
    from relayer.zk.backends import get_backend

    return get_backend("gpu")


def gpu_device_benchmark(out: Path, budget: float, dry: bool = False) -> int:
    """G1 MSM, whole proofs (gpu and cpu, stage breakdown, transfers), NTT/compute_h, G2 MSM, then a
    2^22 proof if the budget allows. Returns 1 if any step raised or computed a wrong result."""
    import random

    import numpy as np

    from relayer.zk.field import R, ints_to_limbs

    rec = _Recorder(out, budget, dry)
    rng = random.Random(2026)
    t = time.perf_counter()
    try:
        gpu: Any = device_gpu_backend(dry)
    except Exception:  # BackendUnavailable, a CUDA error: the JSON still says why, then stop
        rec.error("gpu backend")
        return 1
    rec.res["machine"]["gpu_backend"] = gpu.describe()
    rec.res["kernel_load_s"] = round(time.perf_counter() - t, 3)
    rec.res["kernel_origin"] = getattr(gpu.engine, "module_origin", "host")
    rec.save()

    msm_k = [6, 8] if dry else [16, 18, 20]
    msm2_k = [6, 7] if dry else [16, 18, 20]
    sweep = [4, 5] if dry else [13, 15, 16]
    ntt_k = 8 if dry else 20
    proof_k = [5, 6] if dry else [16, 18, 20]
    big_k = 7 if dry else 22
    reps = 2 if dry else 3
    wrong = False

    def witness_like(n: int) -> list[int]:
        return [rng.randrange(2) if rng.random() < 0.5 else rng.randrange(R) for _ in range(n)]

    # ---- 1. G1 MSM: bases b_i*G from the fixed-base kernel, results checked against py_ecc ----
    last = None
    for k in msm_k:
        n = 1 << k
        if last is not None and not rec.fits(f"msm_g1 2^{k}", last * 6, 20):
            continue
        try:
            t_all = time.perf_counter()
            logs = [rng.randrange(1, R) for _ in range(n)]
            sc_full, sc_wit = [rng.randrange(R) for _ in range(n)], witness_like(n)
            sf, sw = ints_to_limbs(sc_full), ints_to_limbs(sc_wit)
            t = time.perf_counter()
            bases = gpu.fixed_base_mul_g1((1, 2), ints_to_limbs(logs))
            t_fb = time.perf_counter() - t
            h2d0 = gpu.bytes_h2d
            t = time.perf_counter()
            h = gpu.prepare_g1(bases)
            t_prep = time.perf_counter() - t
            prep_bytes = gpu.bytes_h2d - h2d0
            gpu.msm_g1(h, sf)  # warm-up: CuPy's elementwise kernels compile on first use
            dev = gpu.load_witness(sf)
            h2d1, d2h1 = gpu.bytes_h2d, gpu.bytes_d2h
            med_r, ts_r, out_r = _timed(lambda: gpu.msm_g1(h, dev), reps)  # scalars resident (as in a proof)
            per_h2d = (gpu.bytes_h2d - h2d1) // reps
            per_d2h = (gpu.bytes_d2h - d2h1) // reps
            med, ts, out_f = _timed(lambda: gpu.msm_g1(h, sf), reps)  # scalars uploaded each call
            med_w, _, out_w = _timed(lambda: gpu.msm_g1(h, sw), reps)
            ok = out_r == out_f == _known_msm(logs, sc_full, 1) and out_w == _known_msm(logs, sc_wit, 1)
            wrong |= not ok
            rec.record(what="msm_g1", log2n=k, n=n, median_s=med_r, runs_s=ts_r, with_upload_median_s=med,
                       with_upload_runs_s=ts, witness_like_median_s=med_w, correct=ok, fixed_base_g1_s=t_fb,
                       prepare_s=t_prep, prepare_h2d_bytes=prep_bytes, per_msm_h2d_bytes=per_h2d,
                       per_msm_d2h_bytes=per_d2h, window_bits=gpu._window(n))
            if k == msm_k[-1]:
                rec.res["goals"][f"msm_g1_2^{k}_s"] = med_r
                rec.res["goals"][f"msm_g1_2^{k}_under_50ms"] = bool(ok and med_r < 0.05)
                for c in sweep:
                    if rec.left() < 3 * med + 10:
                        rec.skip(f"msm_g1 window sweep c={c}", "budget")
                        break
                    gpu.window_bits = c
                    gpu.msm_g1(h, dev)
                    m2, ts2, o2 = _timed(lambda: gpu.msm_g1(h, dev), 2)
                    wrong |= o2 != out_f
                    rec.record(what="msm_g1_window", log2n=k, window_bits=c, median_s=m2, runs_s=ts2, correct=o2 == out_f)
                gpu.window_bits = None
            last = time.perf_counter() - t_all
            del h, bases, dev
        except Exception:
            rec.error(f"msm_g1 2^{k}")

    # ---- 2. whole proofs: gpu (resident path) and the cpu baseline on the same circuit and key ----
    try:
        # an import the device image cannot satisfy (a wheel not carried) is recorded, not fatal: the
        # NTT and G2 steps below still run and the JSON says what failed
        from relayer.zk.backends import get_backend
        from relayer.zk.examples import make_bench_circuit
        from relayer.zk.groth16.prover import prove
        from relayer.zk.groth16.setup import dev_setup
        from relayer.zk.groth16.verifier import verify
    except Exception:
        rec.error("proof imports")
        proof_k = []

    cpu = None
    try:
        cpu = get_backend("cpu")
    except Exception:
        rec.error("cpu baseline backend")

    def proof_size(k: int, with_cpu: bool, n_reps: int) -> float:
        nonlocal wrong
        t_all = time.perf_counter()
        n_constraints = (1 << k) - 4  # 3 public signals + the constant: the domain is exactly 2^k
        t = time.perf_counter()
        bc = make_bench_circuit(n_constraints)
        r1cs = bc.circuit.compile()
        wit = bc.circuit.witness(bc.inputs)
        t_circ = time.perf_counter() - t
        t = time.perf_counter()
        pk = dev_setup(r1cs, backend=gpu)
        t_setup = time.perf_counter() - t
        assert pk.qap.domain_size == 1 << k, (pk.qap.domain_size, k)
        first: dict[str, float] = {}
        t = time.perf_counter()
        prove(pk, wit, gpu, timings=first)
        first_s = time.perf_counter() - t
        runs = []
        for _ in range(n_reps):
            st: dict[str, float] = {}
            h2d0, d2h0 = gpu.bytes_h2d, gpu.bytes_d2h
            t = time.perf_counter()
            proof, pub = prove(pk, wit, gpu, timings=st)
            runs.append((time.perf_counter() - t, st, gpu.bytes_h2d - h2d0, gpu.bytes_d2h - d2h0, proof, pub))
        best = min(runs, key=lambda r: r[0])
        ok = all(verify(pk.vk, r[5], r[4]) for r in runs)
        wrong |= not ok
        w_limbs = ints_to_limbs(wit)
        t = time.perf_counter()
        proof_l, pub_l = prove(pk, w_limbs, gpu)
        limbs_s = time.perf_counter() - t
        ok_l = verify(pk.vk, pub_l, proof_l)
        wrong |= not ok_l
        host = ("check", "blind", "verify")
        rec.record(what="proof", backend="gpu", log2n=k, domain=1 << k, constraints=r1cs.n_constraints,
                   wires=r1cs.n_wires, prove_s=best[0], runs_s=[r[0] for r in runs], stages_s=best[1],
                   host_stages_s=round(sum(best[1].get(x, 0.0) for x in host), 4),
                   per_proof_h2d_bytes=best[2], per_proof_d2h_bytes=best[3], first_prove_s=first_s,
                   first_stages_s=first, prove_from_limbs_s=limbs_s, verified=bool(ok and ok_l),
                   setup_s=t_setup, circuit_and_witness_s=t_circ, backend_desc=gpu.describe())
        if k == 20:
            rec.res["goals"]["proof_2^20_s"] = best[0]
            rec.res["goals"]["proof_2^20_under_1s"] = bool(ok and best[0] < 1.0)
        if with_cpu and cpu is not None:
            tc: dict[str, float] = {}
            t = time.perf_counter()
            proof_c, pub_c = prove(pk, wit, cpu, timings=tc)
            cpu_s = time.perf_counter() - t
            ok_c = verify(pk.vk, pub_c, proof_c) and pub_c == best[5]
            wrong |= not ok_c
            rec.record(what="proof", backend="cpu", log2n=k, domain=1 << k, prove_s=cpu_s,
                       prove_s_excl_prepare=cpu_s - tc.get("prepare", 0.0), stages_s=tc, verified=bool(ok_c),
                       ratio_cpu_over_gpu=round((cpu_s - tc.get("prepare", 0.0)) / best[0], 2),
                       note="first cpu proof of this key: prepare (bases) is reported apart", backend_desc=cpu.describe())
            if k == 20:
                rec.res["goals"]["ratio_cpu_over_gpu_2^20"] = round((cpu_s - tc.get("prepare", 0.0)) / best[0], 2)
        del pk
        return time.perf_counter() - t_all

    last = None
    for k in proof_k:
        if last is not None and not rec.fits(f"proof 2^{k}", last * 4.5, 10):
            continue
        try:
            last = proof_size(k, True, reps)
        except Exception:
            rec.error(f"proof 2^{k}")

    # ---- 3. NTT and compute_h through the array API (host <-> device transfers included) ----
    try:
        n = 1 << ntt_k
        v = ints_to_limbs([rng.randrange(R) for _ in range(n)])
        gpu.ntt(v)
        med, ts, _ = _timed(lambda: gpu.ntt(v), reps)
        medc, _, fwdc = _timed(lambda: gpu.ntt(v, coset=True), reps)
        back = gpu.ntt(fwdc, inverse=True, coset=True)
        a, b, c = (ints_to_limbs([rng.randrange(R) for _ in range(n)]) for _ in range(3))
        gpu.compute_h(a, b, c)
        medh, _, _ = _timed(lambda: gpu.compute_h(a, b, c), reps)
        ok = bool(np.array_equal(back, v))
        wrong |= not ok
        rec.record(what="ntt", log2n=ntt_k, median_s=med, runs_s=ts, coset_median_s=medc, round_trip_ok=ok,
                   compute_h_median_s=medh, note="array API: times include host<->device transfer of the vectors")
    except Exception:
        rec.error("ntt")

    # ---- 4. G2 MSM ----
    last = None
    for k in msm2_k:
        n = 1 << k
        if last is not None and not rec.fits(f"msm_g2 2^{k}", last * 5, 30):
            continue
        try:
            t_all = time.perf_counter()
            logs = [rng.randrange(1, R) for _ in range(n)]
            sc = [rng.randrange(R) for _ in range(n)]
            t = time.perf_counter()
            bases = gpu.fixed_base_mul_g2(G2_GEN, ints_to_limbs(logs))
            t_fb = time.perf_counter() - t
            h = gpu.prepare_g2(bases)
            dev = gpu.load_witness(ints_to_limbs(sc))
            gpu.msm_g2(h, dev)
            med, ts, o = _timed(lambda: gpu.msm_g2(h, dev), 2)
            ok = o == _known_msm(logs, sc, 2)
            wrong |= not ok
            rec.record(what="msm_g2", log2n=k, n=n, median_s=med, runs_s=ts, correct=ok, fixed_base_g2_s=t_fb)
            last = time.perf_counter() - t_all
            del h, bases, dev
        except Exception:
            rec.error(f"msm_g2 2^{k}")

    # ---- 5. the largest proof, if the rest of the budget covers the estimate from 2^20 ----
    prev = next((r for r in reversed(rec.res["results"]) if r["what"] == "proof" and r["backend"] == "gpu"), None)
    if prev is None:
        rec.skip(f"proof 2^{big_k}", "no smaller proof finished")
    else:
        scale = 1 << (big_k - prev["log2n"])
        est = (prev["setup_s"] + prev["circuit_and_witness_s"] + prev["first_prove_s"] + 2 * prev["prove_s"]) * scale * 1.1
        # the cpu baseline at the same size too, when its proof at the smaller size says it fits
        prev_cpu = next((r for r in reversed(rec.res["results"]) if r["what"] == "proof" and r["backend"] == "cpu"
                         and r["log2n"] == prev["log2n"]), None)
        est_cpu = prev_cpu["prove_s"] * scale * 1.2 if prev_cpu is not None else None
        with_cpu = est_cpu is not None and rec.left() >= est + est_cpu + 10
        if with_cpu or rec.fits(f"proof 2^{big_k}", est, 10, " (setup and circuit dominate)"):
            if not with_cpu:
                rec.skip(f"cpu proof 2^{big_k}", f"budget: {rec.left():.0f}s left, estimate {est:.0f}s gpu + {est_cpu}s cpu")
            try:
                proof_size(big_k, with_cpu, 1)
            except Exception:
                rec.error(f"proof 2^{big_k}")

    rec.res["transfers_total"] = gpu.transfer_counters()
    rec.res["wrong_results"] = wrong
    rec.save()
    print("BENCH DONE", json.dumps({"elapsed_s": rec.res["elapsed_s"], "goals": rec.res["goals"]}), flush=True)
    for r in rec.res["results"]:
        print({k: r[k] for k in r if k in ("what", "backend", "log2n", "window_bits", "median_s", "prove_s", "correct", "verified", "host_stages_s")})
    return 1 if rec.res["errors"] or wrong else 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        print(json.dumps(worker(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], int(sys.argv[5]))))
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "--gpu-device" and sys.argv[4:] in ([], ["--dry-run"]):
        sys.exit(gpu_device_benchmark(Path(sys.argv[2]), float(sys.argv[3]), dry=len(sys.argv) == 5))
    else:
        sys.exit(
            "usage: relayer bench prover (this module's main is the per-backend worker), or\n"
            "       python -m relayer.bench.prover --gpu-device OUT.json BUDGET_S [--dry-run]"
        )
