"""End-to-end round latency per stage (SPEC §8): for each book size, a fresh 3-chain Anvil devnet
with the solvency circuit at that capacity, then rounds timed stage by stage (snapshot, statement,
prove, aggregate, reorg check, sign, submit) with the per-chain proof times, on one prover backend.
The first round of a size is reported apart (it pays key loading and compilation warm-up).

    python -m relayer.bench.e2e --accounts 64,256 --rounds 2 --out bench-results/e2e.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from relayer.bench.machine import describe_machine
from relayer.circuits.solvency import Capacity
from relayer.config import load_config
from relayer.devnet.keys import DEV_KEYSTORE_PASSWORD
from relayer.devnet.manager import _port_free, devnet_down, devnet_up, write_devnet_config
from relayer.devnet.solvency import seed_solvency
from relayer.devnet.state import write_state


def _free_base(n: int) -> int:
    for _ in range(500):
        base = random.randrange(30_000, 60_000)
        if all(_port_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no free consecutive ports")


def _move_price(cfg: Any, pct: int) -> None:
    """A WETH move on every chain (so every round has something new to publish), then one block."""
    from web3 import Web3

    from relayer.devnet.deploy import contract

    for c in cfg.chains:
        w3 = Web3(Web3.HTTPProvider(c.rpc[0]))
        weth = next(a for a in c.assets if a.symbol == "WETH")
        agg = contract(w3, "PriceAggregator", weth.price_feed)
        price = int(agg.functions.latestRoundData().call()[1])
        w3.eth.wait_for_transaction_receipt(agg.functions.updateAnswer(price * pct // 100).transact({"from": w3.eth.accounts[0]}))
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def bench_size(accounts: int, rounds: int, backend: str, workers: int, work_dir: Path,
               progress: Callable[[str], None]) -> dict[str, Any]:
    from relayer.pipeline.build import build_pipeline

    env = {**os.environ, "RELAYER_KEYSTORE_PASSWORD": os.environ.get("RELAYER_KEYSTORE_PASSWORD", DEV_KEYSTORE_PASSWORD)}
    d = work_dir / f"accounts-{accounts}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    cap = Capacity(accounts, 4, 4)
    progress(f"{accounts} accounts: devnet + development setup of {cap}")
    t0 = time.perf_counter()
    state = devnet_up(3, d, base_port=_free_base(3), env=env, solvency=False)
    try:
        t_setup = time.perf_counter()
        keys = seed_solvency(d, state, capacity=cap, backend="cpu", progress=progress)
        setup_s = time.perf_counter() - t_setup
        write_state(d, state)
        write_devnet_config(d, state)
        cfg = load_config(d / "chains.toml", env={}, overrides={"prover": backend})
        from relayer.keys_setup import solvency_circuit

        n_constraints = solvency_circuit(cap).circuit.compile().n_constraints
        p = build_pipeline(cfg, backend=backend, prover_workers=workers, env=env)
        runs = []
        try:
            for r in range(rounds + 1):
                if r:
                    _move_price(cfg, 97 if r % 2 else 103)
                t = time.perf_counter()
                out = p.run_once(force=True)
                total = time.perf_counter() - t
                if out.status != "done":
                    raise RuntimeError(f"round {out.round}: {out.status} ({out.reason})")
                runs.append({"round": out.round, "total_s": round(total, 3),
                             "stages_s": {k: round(v, 3) for k, v in out.timings.items()}, "proof_s": out.proof_seconds})
                progress(f"{accounts} accounts: round {out.round} in {total:.1f}s "
                         f"({', '.join(f'{k} {v:.2f}s' for k, v in out.timings.items())})")
        finally:
            p.close()
        warm = runs[1:] or runs
        stages = sorted({k for r in warm for k in r["stages_s"]})
        return {
            "accounts_per_chain": accounts, "chains": 3, "capacity": str(cap), "constraints_per_chain": n_constraints,
            "backend": backend, "prover_workers": workers, "dev_setup_s": round(setup_s, 2),
            "devnet_up_s": round(t_setup - t0, 2), "vk_hash": "0x" + keys.vk_hash.hex(),
            "first_round": runs[0], "rounds": warm,
            "median_total_s": round(statistics.median(r["total_s"] for r in warm), 3),
            "median_stage_s": {s: round(statistics.median(r["stages_s"].get(s, 0.0) for r in warm), 3) for s in stages},
        }
    finally:
        devnet_down(d)


def run(sizes: Sequence[int], rounds: int, backend: str, workers: int, out: Path,
        progress: Callable[[str], None] = print) -> dict[str, Any]:
    work = out.resolve().parent / "e2e-work"
    res: dict[str, Any] = {"benchmark": "e2e-round", "machine": describe_machine(), "started": time.time(),
                           "note": "one 3-chain anvil devnet per size on this machine; timings in seconds; proof_s: "
                                   "witness + prove + the prover's own verification, per chain",
                           "sizes": []}
    for n in sizes:
        res["sizes"].append(bench_size(n, rounds, backend, workers, work, progress))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=1) + "\n")  # partial results survive a later failure
    shutil.rmtree(work, ignore_errors=True)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="end-to-end round latency per stage")
    ap.add_argument("--accounts", default="64,256", help="accounts per chain, comma separated (powers of two)")
    ap.add_argument("--rounds", type=int, default=2, help="timed rounds per size after the first")
    ap.add_argument("--prover", default="cpu", choices=["cpu", "gpu", "reference", "auto"])
    ap.add_argument("--workers", type=int, default=0, help="prover processes (0: in this process)")
    ap.add_argument("--out", type=Path, default=Path("bench-results/e2e.json"))
    a = ap.parse_args(argv)
    res = run([int(x) for x in a.accounts.split(",")], a.rounds, a.prover, a.workers, a.out,
              lambda m: print(m, flush=True))
    for s in res["sizes"]:
        print(f"{s['accounts_per_chain']:>5} accounts x 3 chains: round {s['median_total_s']:.1f}s  "
              + ", ".join(f"{k} {v:.2f}s" for k, v in s["median_stage_s"].items()))
    print(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
