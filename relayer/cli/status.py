"""`relayer status`: per chain the head, last proven block, the feed's last round and ratio and the
operators' balances; per recent round its state, stage timings and submissions. `--json` for machines."""

from __future__ import annotations

import json
from pathlib import Path

import click

from relayer.cli.round import CONFIG_OPTION, fmt_ratio, load, table


def _eth(wei: int) -> str:
    whole, frac = divmod(wei, 10**18)
    return f"{whole}.{frac // 10**14:04d}"


@click.command("status")
@CONFIG_OPTION
@click.option("--rounds", type=int, default=5, show_default=True, help="how many recent rounds to show")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status(config_path: Path, rounds: int, as_json: bool) -> None:
    """What the relayer and every feed hold now."""
    from relayer.pipeline.inspect import status as get_status

    cfg = load(config_path)
    st = get_status(cfg, rounds=rounds)
    if as_json:
        click.echo(json.dumps(st, indent=1))
        return
    rows = []
    for c in st["chains"]:
        bal = ", ".join(f"{a[:8]}..:{_eth(v)}" for a, v in c["signer_balances_wei"].items()) or "-"
        rows.append([c["name"], c["chain_id"], c["head"], c["last_proven_block"], c["feed_round"],
                     fmt_ratio(c["feed_ratio_e8"]), bal if not c["error"] else f"DOWN: {c['error'].splitlines()[0][:120]}"])
    click.echo(table(rows, ["chain", "id", "head", "last proven block", "feed round", "feed ratio", "operator balances (ETH)"]))
    if st["problems"]:
        click.echo("")
        click.echo("problems (`relayer run` / `round` would refuse to start):")
        for p in st["problems"]:
            click.echo(f"  - {p}")
    click.echo("")
    rrows = []
    for r in st["rounds"]:
        stages = " ".join(f"{k}={v:.1f}s" for k, v in r["stage_seconds"].items())
        subs = ", ".join(f"{k}:{v}" for k, v in r["submissions"].items())
        rrows.append([r["round"], r["state"] + (f" ({r['reason'][:50]})" if r["reason"] else ""), stages, subs])
    click.echo(table(rrows, ["round", "state", "stage timings", "submissions"]) if rrows else "no rounds yet")
