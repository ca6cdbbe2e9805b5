"""`devnet up` / `devnet down`: N anvil chains with everything deployed and seeded, a loadable
`<dir>/chains.toml` for them and a `<dir>/devnet.json` recording PIDs, ports, addresses and logs.

Up is all-or-nothing: if any step fails, the anvils it started are stopped and no state is left.
A relayer database left in the folder by an earlier devnet (its rounds and nonces belong to chains
that are gone) is moved aside, never deleted, once the fresh chains are up.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from web3 import Web3

from relayer.config import DEFAULT_MAX_PRICE_AGE_S, DEFAULT_PASSWORD_ENV, RelayerConfig, load_config
from relayer.devnet.anvil import AnvilProcess, start_anvil, stop_pid
from relayer.devnet.deploy import ChainDeployment, deploy_chain
from relayer.devnet.keys import DEV_KEYSTORE_PASSWORD, devnet_password, ensure_operator_keys
from relayer.devnet.state import (
    STATE_VERSION,
    identify_anvil,
    process_start_time,
    read_state,
    state_path,
    write_state,
)
from relayer.errors import ChainError, ConfigError
from relayer.tools import anvil_binary

log = logging.getLogger(__name__)

FIRST_CHAIN_ID = 31337
DEFAULT_BASE_PORT = 8545
DEFAULT_DIR = Path(".devnet")
N_OPERATORS = 3
QUORUM = 2
MAX_CHAINS = 16
# Longest --block-time: the relay counts a transaction without a receipt after 30 s as stuck
# (relayer.relay.submitter receipt_timeout_s), so a longer interval would make every submission look stuck.
MAX_BLOCK_TIME_S = 30
CONFIG_FILE = "chains.toml"
# the devnet's chains.toml names `sqlite:///relayer.db`, which load_config resolves beside that file
DATABASE_FILE = "relayer.db"
# SQLite's companions of a database file: they must keep the database's name (plus the suffix) to be
# found again, and a WAL left beside a new database of the same name would be replayed into it
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def chain_name(index: int) -> str:
    return f"devnet-{index}"


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass(frozen=True)
class StopResult:
    name: str
    pid: int
    outcome: str  # "stopped" | "already stopped" | "refused: ..."


def devnet_up(
    n_chains: int,
    devnet_dir: Path = DEFAULT_DIR,
    base_port: int | None = None,
    fork_urls: Sequence[str | None] | None = None,
    verifier_addresses: Sequence[str | None] | None = None,
    env: Mapping[str, str] | None = None,
    progress: Callable[[str], None] = lambda msg: None,
    solvency: bool = True,
    block_time: int | None = None,
) -> dict[str, Any]:
    """Start, deploy, seed and record a devnet; returns the state written to devnet.json.

    `verifier_addresses` (one per chain) is the hook for the Groth16 verifier: until it is
    passed, feeds are deployed with address(0) and reject every submission.
    `block_time` (seconds): every chain mines a block on that interval, with or without
    transactions (anvil --block-time); None keeps anvil's automine (one block per transaction).
    """
    env = os.environ if env is None else env
    if not 1 <= n_chains <= MAX_CHAINS:
        raise ConfigError(f"--chains must be between 1 and {MAX_CHAINS}, got {n_chains}")
    if block_time is not None and (isinstance(block_time, bool) or not isinstance(block_time, int)
                                   or not 1 <= block_time <= MAX_BLOCK_TIME_S):
        # whole seconds: block timestamps are whole seconds, so a shorter interval would give
        # consecutive blocks the same timestamp, which no real chain does
        raise ConfigError(f"--block-time must be a whole number of seconds in 1..{MAX_BLOCK_TIME_S}, got {block_time!r}; "
                          "leave it out for automine (a block per transaction)")
    fork_list = list(fork_urls or [])
    if fork_list and len(fork_list) != n_chains:
        raise ConfigError(f"give --fork-url once per chain ({n_chains}), or not at all; got {len(fork_list)} "
                          "(use 'none' for a chain that should not fork)")
    forks: list[str | None] = [None if (u is None or u.lower() in ("", "none")) else u for u in fork_list] or [None] * n_chains
    verifiers = list(verifier_addresses or [None] * n_chains)
    if len(verifiers) != n_chains:
        raise ConfigError(f"verifier_addresses needs one entry per chain ({n_chains}), got {len(verifiers)}")

    devnet_dir = Path(devnet_dir).resolve()
    devnet_dir.mkdir(parents=True, exist_ok=True)
    _refuse_if_running(devnet_dir)

    base = DEFAULT_BASE_PORT if base_port is None else base_port
    ports = [base + i for i in range(n_chains)]
    if ports[0] < 1024 or ports[-1] > 65535:
        raise ConfigError(f"ports {ports[0]}..{ports[-1]} are outside 1024..65535; pick another --base-port")
    busy = [p for p in ports if not _port_free(p)]
    if busy:
        raise ChainError(f"port(s) {', '.join(map(str, busy))} on 127.0.0.1 are in use; pick another --base-port "
                         f"(the devnet needs {n_chains} consecutive free ports)")

    password, default_password = devnet_password(env)
    progress("creating operator keystores" if not (devnet_dir / "keys").exists() else "opening operator keystores")
    keys = ensure_operator_keys(devnet_dir / "keys", N_OPERATORS, password)
    operators = [k.address for k in keys]

    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "created_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "dir": str(devnet_dir),
        "anvil_binary": str(anvil_binary()),
        "config": str(devnet_dir / CONFIG_FILE),
        "operators": [{"address": k.address, "keystore": str(k.path)} for k in keys],
        "quorum": QUORUM,
        "password_env": DEFAULT_PASSWORD_ENV,
        "default_dev_password": default_password,
        # None: anvil automine (a block per transaction); N: a block every N seconds (anvil --block-time)
        "block_time_s": block_time,
        "chains": [],
    }
    started: list[AnvilProcess] = []
    try:
        for i in range(n_chains):
            chain_id = FIRST_CHAIN_ID + i
            progress(f"starting anvil chain {chain_id} on port {ports[i]}" + (f" (fork of {forks[i]})" if forks[i] else ""))
            proc = start_anvil(chain_id, port=ports[i], log_dir=devnet_dir / "logs", fork_url=forks[i],
                               block_time=block_time, detach=True, startup_timeout=120.0 if forks[i] else 30.0)
            started.append(proc)
            state["chains"].append({
                "name": chain_name(i), "chain_id": chain_id, "port": proc.port, "rpc_url": proc.rpc_url,
                "pid": proc.pid, "started_at": process_start_time(proc.pid), "log_path": str(proc.log_path),
                "fork_url": forks[i], "deployment": None,
            })
            # recorded before deploying: if this process dies now, `devnet down` still finds the PID
            write_state(devnet_dir, state)
            if block_time is not None:
                # deploy and seed under automine: ~40 transactions each waiting for the next
                # interval block would make `up` take 40 x block_time per chain; the interval is
                # restored below, once everything is deployed
                _rpc(proc.rpc_url, "evm_setAutomine", [True])
        for i, proc in enumerate(started):
            progress(f"deploying and seeding contracts on chain {proc.chain_id}")
            w3 = Web3(Web3.HTTPProvider(proc.rpc_url, request_kwargs={"timeout": 60}))
            dep = deploy_chain(w3, i, operators, QUORUM, verifier_address=verifiers[i])
            state["chains"][i]["deployment"] = dep.to_json()
            write_state(devnet_dir, state)
        if solvency and not any(verifiers):
            # issue 5 item 4 (relayer/devnet/solvency.py): circuit keys, Groth16 verifier on every feed, books
            from relayer.devnet.solvency import seed_solvency

            seed_solvency(devnet_dir, state, progress=progress)
            write_state(devnet_dir, state)
        config_path = write_devnet_config(devnet_dir, state)
        # the file we hand to users must load; check it here rather than at their first `relayer run`
        load_config(config_path, env={}).check_keystores()
        if block_time is not None:
            for proc in started:
                _rpc(proc.rpc_url, "evm_setIntervalMining", [block_time])
                if _rpc(proc.rpc_url, "anvil_getIntervalMining", []) != block_time:
                    raise ChainError(f"chain {proc.chain_id}: anvil did not switch to a block every {block_time} s")
            progress(f"every chain now mines a block every {block_time} s, with or without transactions")
        # last, so that a failed `up` leaves the folder's database where it was
        moved = move_aside_database(devnet_dir)
        if moved:
            state["database_moved_aside"] = [str(dst) for _, dst in moved]
            write_state(devnet_dir, state)
            progress(f"moved the previous devnet's database aside to {moved[0][1].name} (its rounds and nonces "
                     "belong to chains that no longer exist); the relayer starts a new one")
    except BaseException:
        # all-or-nothing, also on Ctrl-C: leave no anvil and no state behind
        for proc in started:
            proc.stop()
        state_path(devnet_dir).unlink(missing_ok=True)
        (devnet_dir / CONFIG_FILE).unlink(missing_ok=True)
        raise
    return state


def move_aside_database(devnet_dir: Path, now: _dt.datetime | None = None) -> list[tuple[Path, Path]]:
    """Rename `<dir>/relayer.db` and its -wal/-shm/-journal files to `relayer.db.<UTC timestamp>`
    (+ the same suffix, so SQLite still pairs them); returns (old, new) pairs, [] when there is none.

    Never deletes: the old rounds stay readable. If one rename fails, the ones already done are undone."""
    names = [DATABASE_FILE + sfx for sfx in ("", *_SQLITE_COMPANIONS)]
    present = [n for n in names if (devnet_dir / n).exists()]
    if not present:
        return []
    stamp = (now or _dt.datetime.now(_dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    # two `up`s within a second (tests, scripts): never rename onto an earlier set
    base, n = f"{DATABASE_FILE}.{stamp}", 1
    while any((devnet_dir / (base + sfx)).exists() for sfx in ("", *_SQLITE_COMPANIONS)):
        n += 1
        base = f"{DATABASE_FILE}.{stamp}-{n}"
    done: list[tuple[Path, Path]] = []
    try:
        for name in present:
            src, dst = devnet_dir / name, devnet_dir / (base + name[len(DATABASE_FILE):])
            os.rename(src, dst)
            done.append((src, dst))
    except OSError as exc:
        for src, dst in reversed(done):
            os.rename(dst, src)
        raise ConfigError(f"cannot move the previous devnet's database {devnet_dir / DATABASE_FILE} aside ({exc}); "
                          "move or remove it, then run `relayer devnet up` again") from exc
    for src, dst in done:
        log.info("moved %s aside to %s: it belongs to an earlier devnet's chains", src, dst)
    return done


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    """One JSON-RPC call to a devnet anvil (its mining controls); an error reply is a ChainError."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))
    try:
        reply = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    except Exception as exc:  # web3/requests raise many unrelated types
        raise ChainError(f"{url}: {method} failed: {exc}") from exc
    if "error" in reply:
        raise ChainError(f"{url}: {method} failed: {reply['error']}")
    return reply.get("result")


def _refuse_if_running(devnet_dir: Path) -> None:
    state = read_state(devnet_dir)
    if state is None:
        return
    live = [c for c in state["chains"]
            if identify_anvil(int(c["pid"]), int(c["port"]), c.get("started_at")).status == "ours"]
    if live:
        raise ConfigError(f"a devnet is already running from {devnet_dir} (anvil PIDs "
                          f"{', '.join(str(c['pid']) for c in live)}); run `relayer devnet down --dir {devnet_dir}` first")
    log.warning("%s: replacing the state of a devnet whose anvils are gone", state_path(devnet_dir))
    state_path(devnet_dir).unlink(missing_ok=True)


def password_hint(state: dict[str, Any]) -> str:
    """The line that makes the devnet's keystores openable by `relayer round`/`run`: they never fall
    back to a known password, so even the devnet's documented one has to be exported."""
    var = state["password_env"]
    if state.get("default_dev_password"):
        return f"export {var}={DEV_KEYSTORE_PASSWORD}"
    return f"export {var}=<the password that was in ${var} when `relayer devnet up` made the keystores>"


def write_devnet_config(devnet_dir: Path, state: dict[str, Any]) -> Path:
    """Write `<dir>/chains.toml` for the devnet's chains (loadable by relayer.config.load_config)."""
    chains = []
    for c in state["chains"]:
        dep = c["deployment"]
        chains.append({
            "name": c["name"],
            "chain_id": c["chain_id"],
            "rpc": [c["rpc_url"]],
            # anvil never reorgs on its own, but a feed only accepts a block strictly below the one
            # that includes the submission (OwnBlockNotPast; eth_estimateGas runs at the head):
            # read one block behind the head
            "confirmations": 1,
            "vault": dep["contracts"]["vault"],
            "feed": dep["contracts"]["feed"],
            "gas": {"max_fee_gwei": 100, "priority_fee_gwei": 1},
            "assets": [
                {"symbol": a["symbol"], "token": a["token"], "price_feed": a["price_feed"],
                 "decimals": a["decimals"], "haircut_bps": a["haircut_bps"]}
                for a in dep["assets"]
            ],
        })
    doc = {
        "relayer": {
            "database_url": "sqlite:///relayer.db",  # beside this file (load_config resolves it there)
            "round_interval_s": 10,
            "heartbeat_s": 300,
            "deviation_bps": 50,
            "prover": "auto",
            "keys": [str(Path(o["keystore"]).relative_to(devnet_dir)) for o in state["operators"]],
            "quorum": state["quorum"],
            "password_env": state["password_env"],
            # written out, not left to the default: the devnet's aggregators are updated by the demo
            # and the tests; a price older than this at the snapshot block refuses the round
            "max_price_age_s": DEFAULT_MAX_PRICE_AGE_S,
        },
        "chains": chains,
    }
    header = (
        "# Written by `relayer devnet up` for the local anvil chains recorded in devnet.json.\n"
        f"# Keystore paths are relative to this file. `relayer round`/`relayer run` read their password from\n"
        f"# ${state['password_env']}, which must be set (there is no default):\n"
        f"#   {password_hint(state)}\n"
        "# The database (relayer.db) is beside this file; `devnet up` moves an earlier devnet's aside.\n"
        "# Regenerated by every `devnet up`; edit the repository's chains.toml for real chains.\n\n"
    )
    path = devnet_dir / CONFIG_FILE
    path.write_text(header + tomli_w.dumps(doc))
    return path


def devnet_down(devnet_dir: Path = DEFAULT_DIR) -> list[StopResult] | None:
    """Stop exactly the recorded anvil PIDs; None when no devnet is recorded in `devnet_dir`.

    A PID that is no longer our anvil (dead, or reused by another process) is not signalled.
    The state file and the generated chains.toml are removed; logs, keystores and the relayer's
    database stay (the next `up` moves that database aside: it belongs to these chains).
    """
    devnet_dir = Path(devnet_dir).resolve()
    state = read_state(devnet_dir)
    if state is None:
        return None
    results: list[StopResult] = []
    for c in state["chains"]:
        pid, port = int(c["pid"]), int(c["port"])
        ident = identify_anvil(pid, port, c.get("started_at"))
        if ident.status == "ours":
            stop_pid(pid)
            if identify_anvil(pid, port, c.get("started_at")).status == "ours":
                raise ChainError(f"anvil PID {pid} ({c['name']}) did not stop; state kept in {state_path(devnet_dir)}")
            results.append(StopResult(c["name"], pid, "stopped"))
        elif ident.status == "dead":
            results.append(StopResult(c["name"], pid, "already stopped"))
        else:
            results.append(StopResult(c["name"], pid, f"refused: {ident.detail}; not signalled"))
    state_path(devnet_dir).unlink(missing_ok=True)
    (devnet_dir / CONFIG_FILE).unlink(missing_ok=True)
    return results


def load_devnet_config(devnet_dir: Path = DEFAULT_DIR) -> RelayerConfig:
    """The devnet's chains.toml as a typed config."""
    return load_config(Path(devnet_dir) / CONFIG_FILE, env={})


def deployments(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-chain deployment records of a devnet state (for tables and tests)."""
    return [c["deployment"] for c in state["chains"]]


__all__ = ["ChainDeployment", "StopResult", "chain_name", "deployments", "devnet_down", "devnet_up",
           "load_devnet_config", "move_aside_database", "password_hint", "write_devnet_config"]
