"""The main job (`./scripts/demo`): 3 Anvil chains with everything deployed and seeded, the relayer
daemon proving and relaying rounds while a scripted market moves prices and trades — a slide, a
crash that makes the venue insolvent (the lending guard on every chain pauses itself), a recovery,
a new deposit — then a table of what every feed holds. Finishes by itself; `--keep` leaves the
chains running.

    python -m relayer.pipeline.demo [--dir .devnet-demo] [--base-port 18545] [--keep]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from relayer.config import RelayerConfig, load_config
from relayer.devnet.deploy import contract
from relayer.devnet.keys import DEV_KEYSTORE_PASSWORD
from relayer.devnet.manager import devnet_down, devnet_up
from relayer.errors import RelayerError
from relayer.pipeline.round import RoundOutcome
from relayer.risk.ledger import Account, load_json, save_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    title: str
    apply: Callable[[RelayerConfig], None]


def _w3(cfg: RelayerConfig, i: int) -> Web3:
    return Web3(Web3.HTTPProvider(cfg.chains[i].rpc[0], request_kwargs={"timeout": 30}))


def _mine(cfg: RelayerConfig) -> None:
    # the relayer reads one block behind the head: mine one so the move is visible to it
    for i in range(len(cfg.chains)):
        _w3(cfg, i).provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def _weth_feed(cfg: RelayerConfig, i: int) -> Any:
    a = next(a for a in cfg.chains[i].assets if a.symbol == "WETH")
    return contract(_w3(cfg, i), "PriceAggregator", a.price_feed)


def set_weth(cfg: RelayerConfig, pct_of_start: int, start: dict[int, int]) -> None:
    """WETH/USD on every chain to `pct_of_start` % of its starting price (owner = dev account 0)."""
    for i in range(len(cfg.chains)):
        w3 = _w3(cfg, i)
        agg = _weth_feed(cfg, i)
        tx = agg.functions.updateAnswer(start[i] * pct_of_start // 100).transact({"from": w3.eth.accounts[0]})
        w3.eth.wait_for_transaction_receipt(tx)
    _mine(cfg)


def trade_perps(cfg: RelayerConfig, chain_index: int, lots: int) -> None:
    """The first account of the chain's book buys `lots` perps at the mark: cash pays for them, so
    equity is unchanged now and moves with the price later."""
    c = cfg.chains[chain_index]
    book = load_json(c.ledger)  # type: ignore[arg-type]
    perp = book.instruments[0]
    spot_e8 = int(_weth_feed(cfg, chain_index).functions.latestRoundData().call()[1])
    mark = spot_e8 * 10**6 // 10**8 // 10**perp.lot_decimals  # micro-USD per lot
    a = book.accounts[0]
    pos = dict(a.positions)
    pos[perp.id] = pos.get(perp.id, 0) + lots
    accounts = (Account(a.id, a.salt, a.cash - lots * mark, pos),) + book.accounts[1:]
    save_json(type(book)(book.chain_id, book.instruments, accounts), c.ledger)  # type: ignore[arg-type]


def deposit(cfg: RelayerConfig, chain_index: int, usdc_units: int) -> None:
    """A new USDC deposit into the vault (on chain) credited to a depositor's cash (in the ledger)."""
    c = cfg.chains[chain_index]
    w3 = _w3(cfg, chain_index)
    usdc = next(a for a in c.assets if a.symbol == "USDC")
    owner, who = w3.eth.accounts[0], w3.eth.accounts[1]
    token = contract(w3, "TestERC20", usdc.token)
    vault = contract(w3, "CollateralVault", c.vault)
    for fn, sender in ((token.functions.mint(who, usdc_units), owner), (token.functions.approve(c.vault, usdc_units), who),
                       (vault.functions.deposit(usdc.token, usdc_units, who), who)):
        w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender}))
    book = load_json(c.ledger)  # type: ignore[arg-type]
    # the depositor accounts are the cash-only ones; credit the richest
    idx = max(range(len(book.accounts)), key=lambda k: book.accounts[k].cash if not book.accounts[k].positions else -1)
    a = book.accounts[idx]
    credited = Account(a.id, a.salt, a.cash + usdc_units * 999 // 1000, a.positions)  # USDC at $0.999x, credited 99.9%
    accounts = book.accounts[:idx] + (credited,) + book.accounts[idx + 1:]
    save_json(type(book)(book.chain_id, book.instruments, accounts), c.ledger)  # type: ignore[arg-type]
    _mine(cfg)


def script(cfg: RelayerConfig) -> list[Step]:
    start = {i: int(_weth_feed(cfg, i).functions.latestRoundData().call()[1]) for i in range(len(cfg.chains))}
    return [
        Step("opening: the books and vaults as seeded", lambda c: None),
        Step("a trade: an account on devnet-0 buys 40 ETH perps (ratio barely moves: no trigger)",
             lambda c: trade_perps(c, 0, 40)),
        Step("WETH slides 12% on every chain (deviation trigger)", lambda c: set_weth(c, 88, start)),
        Step("WETH crashes to 30% of its start: collateral no longer covers what is owed (INSOLVENT)",
             lambda c: set_weth(c, 30, start)),
        Step("recovery: WETH back to 105% of its start", lambda c: set_weth(c, 105, start)),
        Step("a new 2,000,000 USDC deposit on devnet-1", lambda c: deposit(c, 1, 2_000_000 * 10**6)),
    ]


def fmt_ratio(r: int) -> str:
    return "inf" if r >= 2**255 - 1 else f"{r // 10**8}.{r % 10**8:08d}"


def fmt_usd(micro: int) -> str:
    return f"{micro // 10**6:,}.{micro % 10**6 // 10**4:02d}"


def feeds_table(cfg: RelayerConfig) -> str:
    from relayer.cli.round import table

    rows = []
    for i, c in enumerate(cfg.chains):
        w3 = _w3(cfg, i)
        f = contract(w3, "SolvencyFeed", c.feed)
        att = f.functions.latestAttestation().call()
        rid, answer, started, updated, _ = f.functions.latestRoundData().call()
        guard_paused = None
        for addr in f.functions.subscribers().call():
            guard_paused = contract(w3, "LendingGuard", addr).functions.paused().call()
        rows.append([c.name, c.chain_id, rid, fmt_ratio(int(answer)), att[10], f.functions.isSolvent(3600).call(),
                     fmt_usd(int(att[4])), fmt_usd(int(att[5])), fmt_usd(int(att[7])), att[8],
                     time.strftime("%H:%M:%S", time.gmtime(int(updated))) if updated else "-",
                     {True: "paused", False: "open", None: "-"}[guard_paused]])
    return table(rows, ["feed", "chain id", "round", "ratio", "solvent", "isSolvent(1h)", "assets USD", "liabilities USD",
                        "bad debt USD", "under-margined", "updated (UTC)", "lending guard"])


def per_chain_table(cfg: RelayerConfig) -> str:
    from relayer.cli.round import table

    f = contract(_w3(cfg, 0), "SolvencyFeed", cfg.chains[0].feed)
    att = f.functions.latestAttestation().call()
    names = {c.chain_id: c.name for c in cfg.chains}
    rows = [[names.get(int(e[0]), e[0]), e[1], fmt_usd(int(e[3])), fmt_usd(int(e[4])), fmt_usd(int(e[5])),
             fmt_usd(int(e[6])), e[7], "0x" + bytes(e[8]).hex()[:16] + ".."] for e in att[12]]
    return f"round {att[0]} as every feed holds it, per chain:\n" + table(
        rows, ["chain", "block", "A_i USD", "L_i USD", "MM_i USD", "D_i USD", "U_i", "Merkle-sum root"])


def guards(cfg: RelayerConfig) -> str:
    """The example consumer on every chain: paused by the feed's callback while insolvent."""
    states = []
    for i, c in enumerate(cfg.chains):
        w3 = _w3(cfg, i)
        subs = contract(w3, "SolvencyFeed", c.feed).functions.subscribers().call()
        states += ["paused" if contract(w3, "LendingGuard", a).functions.paused().call() else "open" for a in subs]
    return ", ".join(states) or "-"


# Submission states that leave the round on a feed: included by this round's transaction, or
# skipped because the feed already held it.
_ON_FEED = ("included", "skipped")


def unfinished_rounds(outcomes: Sequence[RoundOutcome], steps: int, chain_ids: Collection[int]) -> list[str]:
    """What went wrong in the demo's rounds, one line each (empty: every step's round reached every
    feed). outcomes[i] is step i+1's; a round that failed, is still submitting, or is done without an
    answer from every chain in `chain_ids` is listed, and so are steps that never ran. A skipped
    round (no trigger) is fine: the script has steps that must not publish."""
    problems: list[str] = []
    for i, o in enumerate(outcomes):
        where = f"step {i + 1}: round {o.round or '-'}"
        if o.status == "skipped":
            continue
        if o.status != "done":
            problems.append(f"{where} {o.status} ({o.reason})")
            continue
        # done means the relay saw no failed submission; the demo also wants every feed to hold it
        missing = sorted(set(chain_ids) - set(o.submissions))
        off = {c: s for c, s in sorted(o.submissions.items()) if s not in _ON_FEED}
        if missing or off:
            why = [f"chain {c}: no submission" for c in missing] + [f"chain {c}: {s}" for c, s in off.items()]
            problems.append(f"{where} done but not on every feed ({'; '.join(why)})")
    if len(outcomes) < steps:
        problems.append(f"only {len(outcomes)} of {steps} steps ran a round")
    return problems


def demo_exit_status(outcomes: Sequence[RoundOutcome], steps: int, chain_ids: Collection[int]) -> int:
    """The demo's exit status: 0 when every step's round reached every feed (or had no trigger), else 1."""
    return 1 if unfinished_rounds(outcomes, steps, chain_ids) else 0


def run_demo(devnet_dir: Path, base_port: int, keep: bool = False, out: Callable[[str], None] = print) -> int:
    from relayer.daemon import Daemon
    from relayer.pipeline.build import build_pipeline

    env = {**os.environ}
    env.setdefault("RELAYER_KEYSTORE_PASSWORD", DEV_KEYSTORE_PASSWORD)
    t0 = time.time()
    # a fresh relayer database: rounds of an earlier demo belong to chains that no longer exist
    for suffix in ("", "-wal", "-shm"):
        (Path(devnet_dir) / f"relayer.db{suffix}").unlink(missing_ok=True)
    out(f"== bringing up 3 anvil chains in {devnet_dir} (ports {base_port}..{base_port + 2})")
    state = devnet_up(3, devnet_dir, base_port=base_port, env=env, progress=lambda m: out(f"   {m}"))
    try:
        # 1 s round job; a 0.5% move publishes; the heartbeat would publish hourly
        cfg = load_config(Path(state["config"]), env={}, overrides={
            "relayer.round_interval_s": 1, "relayer.heartbeat_s": 3600, "relayer.deviation_bps": 50, "prover": "cpu"})
        out(f"== devnet ready in {time.time() - t0:.0f}s; relayer: prover cpu, quorum {cfg.relayer.quorum} of "
            f"{len(cfg.relayer.keys)}, DEVELOPMENT circuit keys ({cfg.relayer.circuit_dir})")
        steps = script(cfg)
        pipeline = build_pipeline(cfg, env=env, prover_workers=0, progress=lambda m: out(f"   {m}"))
        step_no = [0]
        outcomes: list[RoundOutcome] = []  # one per step: they decide the exit status
        out(f"-- step 1/{len(steps)}: {steps[0].title}")

        def after_round(o: RoundOutcome) -> None:
            outcomes.append(o)
            out(f"   => round {o.round or '-'}: {o.status}" + (f", ratio {fmt_ratio(o.ratio_e8)}" if o.ratio_e8 else "")
                + (f", solvent {o.solvent}" if o.solvent is not None else "") + (f" ({o.reason})" if o.reason else "")
                + (f"; lending guards: {guards(cfg)}" if o.status == "done" else ""))
            step_no[0] += 1
            if step_no[0] < len(steps):
                s = steps[step_no[0]]
                out(f"-- step {step_no[0] + 1}/{len(steps)}: {s.title}")
                s.apply(cfg)

        Daemon(pipeline, max_runs=len(steps), on_outcome=after_round).run()
        out("")
        out(feeds_table(cfg))
        out("")
        out(per_chain_table(cfg))
        out(f"\n== done in {time.time() - t0:.0f}s" + (f". Inspect: relayer status -c {state['config']}; relayer verify "
                                                       f"ROUND -c {state['config']}" if keep else " (--keep leaves the "
                                                       "chains up for `relayer status` / `relayer verify ROUND`)"))
        unfinished = unfinished_rounds(outcomes, len(steps), [c.chain_id for c in cfg.chains])
        if unfinished:
            out("demo FAILED: not every round reached every feed:\n  " + "\n  ".join(unfinished))
        return demo_exit_status(outcomes, len(steps), [c.chain_id for c in cfg.chains])
    except RelayerError as exc:
        out(f"demo failed: {exc}")
        return 1
    finally:
        if keep:
            out(f"chains left running; stop them with: relayer devnet down --dir {devnet_dir}")
        else:
            devnet_down(devnet_dir)
            out("chains stopped")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path(".devnet-demo"))
    ap.add_argument("--base-port", type=int, default=18545)
    ap.add_argument("--keep", action="store_true", help="leave the chains running at the end")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")

    def terminate(*_: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM tears down like Ctrl-C

    signal.signal(signal.SIGTERM, terminate)
    try:
        return run_demo(args.dir.resolve(), args.base_port, args.keep, out=lambda m: print(m, flush=True))
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
