"""Solvency-circuit benchmark: constraint count and cpu prove time at 64, 256 and 1,024 accounts.

Shape per size: N accounts x 4 instruments x the 16-scenario SPAN grid, a synthetic book filling the
capacity. Reports constraints (total, per account, fixed part), wires, QAP domain, and seconds for
build, witness, dev setup, prove (per stage) and verify. The prover benchmark merges the `solvency`
section of this JSON. Run: `python -m relayer.bench.solvency --out FILE [--sizes 64,256,1024]`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_SIZES = (64, 256, 1024)
INSTRUMENTS = 4
SCENARIOS = 16


def constraint_counts(accounts: int, instruments: int = INSTRUMENTS, scenarios: int = SCENARIOS) -> dict[str, int]:
    """Constraint count of a capacity, and per account / fixed part derived from two sizes."""
    from relayer.circuits.solvency import Capacity, SolvencyCircuit

    n = SolvencyCircuit(Capacity(accounts, instruments, scenarios)).circuit.n_constraints
    n2 = SolvencyCircuit(Capacity(2, instruments, scenarios)).circuit.n_constraints
    n4 = SolvencyCircuit(Capacity(4, instruments, scenarios)).circuit.n_constraints
    per = (n4 - n2) // 2  # one account slot + one tree parent
    return {"constraints": n, "per_account": per, "fixed": n2 - 2 * per}


def _section(name: str) -> str:
    """The named section of one account slot a constraint belongs to (indices folded: qty[0..K) -> qty[])."""
    name = re.sub(r"\[\d+\]", "[]", name)
    if name.startswith("leaf."):
        return "leaf hash Poseidon(4)"
    if name.startswith("tree.l1[]."):
        return "tree parent hash Poseidon(6)" if ".hash." in name else "tree parent sums"
    if name.startswith("pack[]:"):
        return "packed checks: recompositions"
    if name.startswith("pack[].prod"):
        return "packed checks: products q*(R|mark)"
    if name == "mm:one_of":
        return "one_of[]"
    head = name.split(".")[0].split(":")[0]
    return f"{head} bits" if head in ("mm_ge_loss[]", "under") else head


def constraint_breakdown(instruments: int = INSTRUMENTS, scenarios: int = SCENARIOS) -> dict[str, int]:
    """Constraints of ONE account slot plus one tree parent, per named section (slot 1 of a 4-account
    circuit: it has a predecessor and a successor, like almost every slot of a big circuit)."""
    from relayer.circuits.solvency import Capacity, SolvencyCircuit

    c = SolvencyCircuit(Capacity(4, instruments, scenarios)).circuit
    out: dict[str, int] = {}
    for con in c._constraints:
        if con.name.startswith("acct[1]."):
            key = _section(con.name[len("acct[1]."):])
        elif con.name.startswith("tree.l1[0]."):
            key = _section(con.name)
        else:
            continue
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def bench_size(accounts: int, backend: str = "cpu", seed: int = 1, log: Callable[[str], None] = print,
               prove_reps: int = 1) -> dict[str, Any]:
    from relayer.circuits.solvency import Capacity, ChainContext, SolvencyCircuit, expected_public
    from relayer.risk.market import compute_market_data
    from relayer.risk.synthetic import default_market_inputs, generate_book
    from relayer.zk.backends import get_backend
    from relayer.zk.groth16.prover import prove
    from relayer.zk.groth16.setup import dev_setup
    from relayer.zk.groth16.verifier import verify

    cap = Capacity(accounts, INSTRUMENTS, SCENARIOS)
    out: dict[str, Any] = {"accounts": accounts, "instruments": INSTRUMENTS, "scenarios": SCENARIOS, "backend": backend}
    t = time.perf_counter()
    sc = SolvencyCircuit(cap)
    r1 = sc.circuit.compile()
    out["build_s"] = round(time.perf_counter() - t, 3)
    out["constraints"] = r1.n_constraints
    out["wires"] = r1.n_wires
    out["constraints_per_account"] = round(r1.n_constraints / accounts, 1)
    log(f"solvency {cap}: {r1.n_constraints} constraints, {r1.n_wires} wires, built in {out['build_s']}s")
    book = generate_book(31337, accounts, seed)
    market = compute_market_data(book.instruments, default_market_inputs())
    ctx = ChainContext(31337, 1_000_000, bytes(range(32)), 10**15, 1)
    t = time.perf_counter()
    w = sc.witness(sc.inputs(ctx, book, market))
    out["witness_s"] = round(time.perf_counter() - t, 3)
    be = get_backend(backend)
    out["backend_describe"] = be.describe()
    t = time.perf_counter()
    pk = dev_setup(r1, be)
    out["dev_setup_s"] = round(time.perf_counter() - t, 3)
    out["domain_log2"] = pk.qap.domain_size.bit_length() - 1
    log(f"  witness {out['witness_s']}s, dev setup {out['dev_setup_s']}s (domain 2^{out['domain_log2']})")
    runs = []
    for _ in range(max(1, prove_reps)):
        timings: dict[str, float] = {}
        t = time.perf_counter()
        proof, public = prove(pk, w, be, timings=timings)  # includes the prover's own local verification
        total = time.perf_counter() - t
        runs.append({"prove_s_incl_local_verify": round(total, 3),
                     "prove_s": round(total - timings.get("verify", 0.0), 3),
                     "stages_s": {k: round(v, 3) for k, v in timings.items()}})
        log(f"  prove {runs[-1]['prove_s']}s (+ local verify {timings.get('verify', 0.0):.2f}s)")
    out["proofs"] = runs
    out["prove_s"] = min(r["prove_s"] for r in runs)
    assert public == expected_public(ctx, book, market, cap), "circuit and evaluator disagree"
    t = time.perf_counter()
    out["verified"] = verify(pk.vk, public, proof)
    out["verify_s"] = round(time.perf_counter() - t, 3)
    res = {k: public[i] for i, k in enumerate(("chainId", "blockNumber", "bhHi", "bhLo", "marketCommitment", "assets",
                                                "liabilities", "maintenanceMargin", "badDebt", "underMargined"))}
    out["book"] = {"liabilities": res["liabilities"], "maintenanceMargin": res["maintenanceMargin"],
                   "badDebt": res["badDebt"], "underMargined": res["underMargined"]}
    return out


def warm_up(backend: str = "cpu") -> float:
    """Prove once on the smallest capacity so that compiling the backend's kernels (numba JIT, tens of
    seconds on a cold cache) is not counted in the first size's times. Returns its seconds."""
    from relayer.circuits.solvency import Capacity, ChainContext, SolvencyCircuit
    from relayer.risk.market import compact_grid, compute_market_data
    from relayer.risk.synthetic import default_market_inputs, generate_book
    from relayer.zk.backends import get_backend
    from relayer.zk.groth16.prover import prove
    from relayer.zk.groth16.setup import dev_setup

    t = time.perf_counter()
    sc = SolvencyCircuit(Capacity(2, 4, 1))
    book = generate_book(1, 2, 0)
    md = compute_market_data(book.instruments, default_market_inputs(), compact_grid(1))
    w = sc.witness(sc.inputs(ChainContext(1, 1, bytes(32), 0, 1), book, md))
    be = get_backend(backend)
    prove(dev_setup(sc.circuit.compile(), be), w, be)
    return time.perf_counter() - t


def run(sizes: Sequence[int] = DEFAULT_SIZES, backend: str = "cpu", out: Path | None = None,
        log: Callable[[str], None] = print, prove_reps: int = 1) -> dict[str, Any]:
    """The `solvency` section: one entry per size; written to `out` after each size (a long run
    that is cut short keeps what it measured)."""
    from relayer.bench.machine import describe_machine

    result: dict[str, Any] = {"benchmark": "solvency", "machine": describe_machine(),
                              "shape": {"instruments": INSTRUMENTS, "scenarios": SCENARIOS, "grid": "SPAN 16"},
                              "counts": constraint_counts(2), "breakdown": constraint_breakdown(), "sizes": []}
    result["warmup_s"] = round(warm_up(backend), 3)
    log(f"warm-up (kernel compilation) {result['warmup_s']}s")
    if out is not None:
        _write(out, result)
    for n in sizes:
        try:
            result["sizes"].append(bench_size(n, backend, log=log, prove_reps=prove_reps))
        except Exception as e:  # record and go on: a failed size must not lose the others
            result["sizes"].append({"accounts": n, "error": f"{type(e).__name__}: {e}"})
            log(f"solvency {n}: {type(e).__name__}: {e}")
        if out is not None:
            _write(out, result)
    return result


def merge_into(prover_json: Path, solvency: dict[str, Any]) -> None:
    """Add this result as the `solvency` section of a prover benchmark JSON file."""
    data = json.loads(prover_json.read_text()) if prover_json.exists() else {"benchmark": "prover"}
    data["solvency"] = solvency
    _write(prover_json, data)


def _write(out: Path, result: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str) + "\n")
    tmp.replace(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m relayer.bench.solvency", description=__doc__)
    ap.add_argument("--out", type=Path, help="JSON file to write (required unless --breakdown)")
    ap.add_argument("--breakdown", action="store_true",
                    help="print the constraints of one account slot per named section, and the totals; no proofs")
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="accounts per chain, comma separated")
    ap.add_argument("--backend", default="cpu", help="prover backend (cpu, gpu, reference)")
    ap.add_argument("--reps", type=int, default=1, help="proofs per size (the best is reported)")
    ap.add_argument("--merge-into", type=Path, help="also add the result as the `solvency` section of this prover JSON")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.breakdown:
        parts = constraint_breakdown()
        for k, v in parts.items():
            print(f"{v:6d}  {k}")
        print(f"{sum(parts.values()):6d}  per account slot (incl. one tree parent)")
        for n in sizes:
            counts = constraint_counts(n)
            print(f"{n} accounts: {counts['constraints']} constraints (fixed {counts['fixed']})")
        return 0
    if args.out is None:
        ap.error("--out is required unless --breakdown")

    def log(m: str) -> None:
        print(m, file=sys.stderr, flush=True)

    res = run(sizes, args.backend, args.out, log, args.reps)
    if args.merge_into:
        merge_into(args.merge_into, res)
    return 0 if all("error" not in s for s in res["sizes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
