"""`relayer bench`: benchmarks that write JSON results with the machine described."""

from __future__ import annotations

from pathlib import Path

import click

# log2 of the benchmark circuit's QAP domain: 2^k - 4 constraints (relayer.bench.prover) needs k >= 3
# for its at least 2; the circuit is built and set up in this process, unbounded by --timeout, at
# about 3 GiB and 35 s per 2^20 on 2 cores (README): 2^24 (~50 GiB) is the largest worth trying
MIN_LOG2, MAX_LOG2 = 4, 24


def _sizes(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    """--sizes as a list of integers in MIN_LOG2..MAX_LOG2 (click.BadParameter otherwise)."""
    ks: list[int] = []
    for part in value.split(","):
        if not part.strip():
            continue
        try:
            k = int(part.strip())
        except ValueError:
            raise click.BadParameter(f"{part.strip()!r} is not an integer (log2 of the domain, e.g. 12,14,16)") from None
        if not MIN_LOG2 <= k <= MAX_LOG2:
            raise click.BadParameter(f"2^{k} is outside the benchmark's range 2^{MIN_LOG2}..2^{MAX_LOG2} "
                                     "(the circuit is built and set up in memory before any --timeout applies)")
        if k not in ks:
            ks.append(k)
    if not ks:
        raise click.BadParameter("no size given (e.g. 12,14,16)")
    return ks


def _backends(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    """--backends as registered prover backend names (click.BadParameter for any other)."""
    from relayer.zk.backends import BACKEND_NAMES

    names: list[str] = []
    for part in value.split(","):
        name = part.strip()
        if not name:
            continue
        if name not in BACKEND_NAMES:
            raise click.BadParameter(f"unknown prover backend {name!r}; choose from {', '.join(BACKEND_NAMES)}")
        if name not in names:
            names.append(name)
    if not names:
        raise click.BadParameter(f"no backend given; choose from {', '.join(BACKEND_NAMES)}")
    return names


@click.group()
def bench() -> None:
    """Benchmarks (prover throughput vs snarkjs, verifier gas)."""


@bench.command("prover")
@click.option("--sizes", default="12,14,16", show_default=True, callback=_sizes,
              help=f"log2 of the QAP domain, comma separated ({MIN_LOG2}..{MAX_LOG2})")
@click.option("--large", is_flag=True, help="also 2^18 and 2^20")
@click.option("--backends", default="cpu", show_default=True, callback=_backends, help="comma separated: cpu,gpu,reference,auto")
@click.option("--reps", default=2, show_default=True, type=click.IntRange(0, 20), help="warm proofs after the cold one")
@click.option("--no-snarkjs", is_flag=True, help="skip the snarkjs baseline")
@click.option("--no-gas", is_flag=True, help="skip the on-chain verification gas measurement")
@click.option("--timeout", default=1800.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="seconds per prover process (each backend, snarkjs) per size; the circuit build and setup "
                   "before them are not bounded by it")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("bench-results/prover.json"), show_default=True)
def prover(sizes: list[int], large: bool, backends: list[str], reps: int, no_snarkjs: bool, no_gas: bool, timeout: float, out: Path) -> None:
    """Groth16 prove time per backend and snarkjs on the same circuit and key; peak memory; gas."""
    from relayer.bench.prover import run

    from relayer.cli.outputs import ensure_parent
    from relayer.errors import ProverError

    ensure_parent(out, "--out")  # results are written after the first size: an unwritable --out fails now
    ks = list(sizes)
    if large:
        ks += [k for k in (18, 20) if k not in ks]
    res = run(ks, backends, reps, not no_snarkjs, not no_gas, out, timeout, lambda m: click.echo(m, err=True))
    failed: list[str] = []
    for s in res["sizes"]:
        sj = s.get("snarkjs", {}).get("best_s")
        for name, r in s["backends"].items():
            if "best_s" not in r:
                # the worker's traceback stays in the JSON; the line here is its last (the error itself)
                lines = [ln for ln in str(r.get("error")).splitlines() if ln.strip()]
                click.echo(f"2^{s['log2_domain']:>2}  {name:<9} error: {lines[-1] if lines else r.get('error')}")
                failed.append(f"2^{s['log2_domain']} {name}")
                continue
            extra = f"  snarkjs {sj:.2f}s  ratio {r.get('speedup_vs_snarkjs')}x" if sj else ""
            click.echo(
                f"2^{s['log2_domain']:>2}  {name:<9} prove {r['best_prove_s']:.2f}s"
                f" (+ local verify {r['local_verify_s']:.2f}s){extra}"
            )
    click.echo(f"results written to {out}")
    if failed:
        raise ProverError(f"{len(failed)} prover run(s) failed ({', '.join(failed)}); the errors are in {out}")


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
