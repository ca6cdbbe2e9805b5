"""`relayer round --once`: resume anything unfinished, then take one round (snapshot, prove,
attest, sign, submit) if a trigger fires, or always with `--force`. Progress on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from relayer.config import RelayerConfig, load_config

CONFIG_OPTION = click.option("-c", "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                             default=Path("chains.toml"), show_default=True, help="chains.toml to use")
PROVER_OPTION = click.option("--prover", type=click.Choice(["cpu", "gpu", "reference", "auto"]), default=None,
                             help="prover backend (overrides relayer.prover and $RELAYER_PROVER)")
WORKERS_OPTION = click.option("--workers", type=int, default=None,
                              help="prover processes (0: prove in this process; default: min(3, cores))")


def load(config_path: Path, prover: str | None = None) -> RelayerConfig:
    return load_config(config_path, overrides={"prover": prover})


def progress(msg: str) -> None:
    click.echo(f"... {msg}", err=True)


def fmt_ratio(r: int | None) -> str:
    if r is None:
        return "-"
    if r >= 2**255 - 1:
        return "inf (nothing owed)"
    return f"{r // 10**8}.{r % 10**8:08d}"


def table(rows: list[list[Any]], header: list[str]) -> str:
    rows = [[("-" if c is None else str(c)) for c in r] for r in rows]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


@click.command("round")
@CONFIG_OPTION
@PROVER_OPTION
@WORKERS_OPTION
@click.option("--once", is_flag=True, required=True, help="run one round and exit (the only mode; see `relayer run`)")
@click.option("--force", is_flag=True, help="publish even when neither the heartbeat nor the deviation trigger fires")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def round_cmd(config_path: Path, prover: str | None, workers: int | None, once: bool, force: bool, as_json: bool) -> None:
    """Run one round now (resuming any unfinished one first)."""
    from relayer.pipeline.build import build_pipeline

    cfg = load(config_path, prover)
    p = build_pipeline(cfg, prover_workers=workers, progress=progress)
    try:
        out = p.run_once(force=force)
    finally:
        p.close()
    data = {"status": out.status, "round": out.round, "reason": out.reason, "ratio_e8": out.ratio_e8,
            "solvent": out.solvent, "stage_seconds": {k: round(v, 3) for k, v in out.timings.items()},
            "submissions": {str(k): v for k, v in out.submissions.items()}}
    if as_json:
        click.echo(json.dumps(data, indent=1))
    else:
        click.echo(f"round {out.round if out.round is not None else '-'}: {out.status}"
                   + (f" ({out.reason})" if out.reason else ""))
        click.echo(f"ratio {fmt_ratio(out.ratio_e8)}  solvent {out.solvent}")
        if out.timings:
            click.echo(table([[k, f"{v:.2f}"] for k, v in out.timings.items()], ["stage", "seconds"]))
        if out.submissions:
            names = {c.chain_id: c.name for c in cfg.chains}
            click.echo(table([[names.get(k, k), v] for k, v in out.submissions.items()], ["chain", "submission"]))
    if out.status == "failed":
        sys.exit(1)
