"""`relayer bench`: benchmarks that write JSON results with the machine described."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def bench() -> None:
    """Benchmarks (prover throughput vs snarkjs, verifier gas)."""


@bench.command("prover")
@click.option("--sizes", default="12,14,16", show_default=True, help="log2 of the QAP domain, comma separated")
@click.option("--large", is_flag=True, help="also 2^18 and 2^20")
@click.option("--backends", default="cpu", show_default=True, help="comma separated: cpu,gpu,reference")
@click.option("--reps", default=2, show_default=True, type=click.IntRange(0, 20), help="warm proofs after the cold one")
@click.option("--no-snarkjs", is_flag=True, help="skip the snarkjs baseline")
@click.option("--no-gas", is_flag=True, help="skip the on-chain verification gas measurement")
@click.option("--timeout", default=1800.0, show_default=True, help="seconds per backend per size")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("bench-results/prover.json"), show_default=True)
def prover(sizes: str, large: bool, backends: str, reps: int, no_snarkjs: bool, no_gas: bool, timeout: float, out: Path) -> None:
    """Groth16 prove time per backend and snarkjs on the same circuit and key; peak memory; gas."""
    from relayer.bench.prover import run

    ks = [int(s) for s in sizes.split(",") if s.strip()]
    if large:
        ks += [k for k in (18, 20) if k not in ks]
    names = [b.strip() for b in backends.split(",") if b.strip()]
    res = run(ks, names, reps, not no_snarkjs, not no_gas, out, timeout, lambda m: click.echo(m, err=True))
    for s in res["sizes"]:
        sj = s.get("snarkjs", {}).get("best_s")
        for name, r in s["backends"].items():
            if "best_s" not in r:
                click.echo(f"2^{s['log2_domain']:>2}  {name:<9} error: {r.get('error')}")
                continue
            extra = f"  snarkjs {sj:.2f}s  ratio {r.get('speedup_vs_snarkjs')}x" if sj else ""
            click.echo(
                f"2^{s['log2_domain']:>2}  {name:<9} prove {r['best_prove_s']:.2f}s"
                f" (+ local verify {r['local_verify_s']:.2f}s){extra}"
            )
    click.echo(f"results written to {out}")


@bench.command("feed-gas")
@click.option("--chains", default="1-8", show_default=True, help="chain counts: N, LO-HI, comma separated (1..8)")
@click.option("--quorums", default="1/1,2/3,3/5", show_default=True, help="THRESHOLD/SIGNERS, comma separated")
@click.option("--subscribers", default="0,2", show_default=True, help="subscriber counts, comma separated (0..16)")
@click.option("--proofs", type=click.Choice(["real", "simulated"]), default="real", show_default=True,
              help="real: dev setup of the smallest solvency circuit; simulated: trapdoor key (same gas shape)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("bench-results/feed-gas.json"), show_default=True)
def feed_gas(chains: str, quorums: str, subscribers: str, proofs: str, out: Path) -> None:
    """Gas per SolvencyFeed update vs the number of chains (real transactions on a fresh anvil)."""
    from relayer.bench.feed_gas import Quorum, markdown_table, parse_chain_counts, run
    from relayer.errors import ConfigError

    counts = parse_chain_counts(chains)
    qs = [Quorum.parse(q) for q in quorums.split(",") if q.strip()]
    try:
        subs = sorted({int(s) for s in subscribers.split(",") if s.strip()})
    except ValueError:
        raise ConfigError(f"--subscribers {subscribers!r}: comma-separated integers") from None
    res = run(counts, qs, subs, proofs=proofs, out=out, log=lambda m: click.echo(m, err=True))
    click.echo(markdown_table(res))
    click.echo(f"results written to {out}")
