"""Groth16 proofs made by the gpu backend on the device, written down for the judges that cannot run there.

The device machine has no Node.js and no Anvil, so snarkjs and the Solidity verifier cannot judge a
gpu proof where it is made. `python -m relayer.bench.gpu_proofs OUT.json [--dry-run]` (run by
scripts/device-gpu-check) does, for each case below: a development setup of the solvency circuit on
the gpu backend, a proof on the gpu backend, the Python verifier's check there, and writes the
verifying key, proof and public signals (snarkjs JSON) with the statement they are about (chain
context, book seed, capacity) into one file. Its committed copy, tests/vectors/gpu_proofs_h100.json,
is judged in the default test run (tests/test_gpu_proofs_judged.py) by the Python verifier, snarkjs and
the Solidity verifier on Anvil, against public signals recomputed from the statement on the cpu.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# (name, capacity (accounts, instruments, scenarios), accounts in the book, book seed): the devnet's
# capacity, and a larger one whose QAP domain is 2^18
CASES: list[tuple[str, tuple[int, int, int], int, int]] = [
    ("solvency-8x4x4", (8, 4, 4), 6, 101),
    ("solvency-64x4x4", (64, 4, 4), 61, 202),
]


def statement(name: str, cap: tuple[int, int, int], n_accounts: int, seed: int) -> dict[str, Any]:
    """What a case proves: enough to rebuild the book and the chain context on any machine."""
    block_hash = (seed * 0x9E3779B97F4A7C15 + 1).to_bytes(32, "big")
    return {"name": name, "capacity": list(cap), "book": {"chain_id": 31337, "n_accounts": n_accounts, "seed": seed},
            "context": {"chain_id": 31337, "block_number": 1000 + seed, "block_hash": "0x" + block_hash.hex(),
                        "assets": 5 * 10**12 + seed, "round": seed}}


def rebuild(st: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(SolvencyCircuit, ChainContext, Book, MarketData) of a statement, the same on every machine."""
    from relayer.circuits.solvency import Capacity, ChainContext, SolvencyCircuit
    from relayer.risk.market import compact_grid, compute_market_data
    from relayer.risk.synthetic import default_instruments, default_market_inputs, generate_book

    cap = Capacity(*st["capacity"])
    c = st["context"]
    ctx = ChainContext(c["chain_id"], c["block_number"], bytes.fromhex(c["block_hash"][2:]), c["assets"], c["round"])
    book = generate_book(st["book"]["chain_id"], st["book"]["n_accounts"], st["book"]["seed"])
    market = compute_market_data(default_instruments(), default_market_inputs(), compact_grid(cap.scenarios))
    return SolvencyCircuit(cap), ctx, book, market


def make_proofs(out: Path, dry: bool) -> int:
    """Prove every case on the gpu backend; write `out` after each (a run cut short keeps what it made).
    Returns 1 if a case failed or its proof did not verify."""
    from relayer.bench.prover import _Recorder, device_gpu_backend
    from relayer.zk.formats.snarkjs_json import proof_to_json, public_to_json, vk_to_json
    from relayer.zk.groth16.prover import prove
    from relayer.zk.groth16.setup import dev_setup
    from relayer.zk.groth16.verifier import verify

    rec = _Recorder(out, 0.0, dry)  # no budget: the device script's timeout bounds this step
    rec.res.pop("budget_s")
    rec.res["benchmark"] = "gpu proofs for the external judges"
    rec.res["proofs"] = rec.res.pop("results")
    try:
        gpu = device_gpu_backend(dry)
    except Exception:
        rec.error("gpu backend")
        return 1
    rec.res["machine"]["gpu_backend"] = gpu.describe()
    failed = False
    for name, cap, n_accounts, seed in CASES:
        try:
            st = statement(name, cap, n_accounts, seed)
            t = time.perf_counter()
            sc, ctx, book, market = rebuild(st)
            r1cs = sc.circuit.compile()
            w = sc.witness(sc.inputs(ctx, book, market))
            t_build = time.perf_counter() - t
            t = time.perf_counter()
            pk = dev_setup(r1cs, gpu)
            t_setup = time.perf_counter() - t
            t = time.perf_counter()
            proof, public = prove(pk, w, gpu, r1cs=r1cs)
            t_prove = time.perf_counter() - t
            ok = verify(pk.vk, public, proof)
            failed |= not ok
            rec.res["proofs"].append({
                **st, "constraints": r1cs.n_constraints, "domain": pk.qap.domain_size, "backend": gpu.describe(),
                "verified_on_device": bool(ok), "build_s": round(t_build, 3), "setup_s": round(t_setup, 3),
                "prove_s": round(t_prove, 3), "vk": vk_to_json(pk.vk), "proof": proof_to_json(proof),
                "public": public_to_json(public),
            })
            rec.save()
            print(f"{name}: {r1cs.n_constraints} constraints, setup {t_setup:.2f}s, proof {t_prove:.3f}s, "
                  f"verified={ok}", flush=True)
        except Exception:
            rec.error(name)
            failed = True
    return 1 if failed or rec.res["errors"] else 0


if __name__ == "__main__":
    if len(sys.argv) in (2, 3) and sys.argv[2:] in ([], ["--dry-run"]):
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        sys.exit(make_proofs(Path(sys.argv[1]), dry=len(sys.argv) == 3))
    sys.exit("usage: python -m relayer.bench.gpu_proofs OUT.json [--dry-run]")
