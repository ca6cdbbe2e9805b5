"""The devnet's solvency step (SPEC §7, issue 5 item 4), run by `devnet up` after the contracts are
deployed: a DEVELOPMENT setup of the solvency circuit (`<dir>/circuit`, reused while its capacity
matches), a Groth16Verifier deployed from its verifying key on every chain and set on the feed,
and a synthetic book per chain (`<dir>/ledgers/<chain>.json`).

The book: one cash account per vault depositor (credited 80% of what it deposited, valued at the
oracle prices without haircut, so the venue starts over-collateralized) plus synthetic option/perp
portfolios from `relayer.risk.synthetic` (hedged, naked, under-margined, negative equity).
"""

from __future__ import annotations

import errno
import logging
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3

from relayer.circuits.solvency import Capacity
from relayer.devnet.deploy import contract
from relayer.errors import ChainError, ConfigError, RelayerError
from relayer.keys_setup import CircuitSpec, SolvencyKeys, load_solvency_keys, setup_solvency_keys
from relayer.risk.ledger import Account, Book, save_json
from relayer.risk.market import compact_grid
from relayer.risk.synthetic import default_instruments, default_market_inputs, generate_book
from relayer.risk.units import USD
from relayer.zk.solidity import deploy_verifier

log = logging.getLogger(__name__)

CIRCUIT_DIR = "circuit"
LEDGER_DIR = "ledgers"
# small enough that 3 chains prove in seconds on 2 cores with the cpu backend
DEFAULT_CAPACITY = Capacity(accounts=8, instruments=4, scenarios=4)
DEPOSITOR_CREDIT_BPS = 8_000
PRICE_DECIMALS = 8


def ensure_keys(circuit_dir: Path, spec: CircuitSpec, backend: str = "cpu",
                progress: Callable[[str], None] = lambda m: None) -> SolvencyKeys:
    """The key folder for `spec`: reused when present with the same capacity and market parameters,
    otherwise created by a development setup. A folder that is there but not reused (another spec,
    or it does not load) is moved aside to `<name>.old-<UTC time>`, never deleted: verifiers deployed
    from it elsewhere still need its key."""
    circuit_dir = Path(circuit_dir)
    why = ""
    try:
        keys = load_solvency_keys(circuit_dir)
        if keys.spec == spec:
            progress(f"reusing solvency circuit keys in {circuit_dir} ({spec.capacity}, DEV setup)")
            return keys
        why = " (the keys there were made for a different circuit spec)"
    except RelayerError as exc:
        # missing keys are the normal first run; anything else (a corrupt folder) is said, not hidden
        why = f" (the keys there do not load: {exc})" if circuit_dir.exists() else ""
    if (circuit_dir.is_dir() and any(circuit_dir.iterdir())) or circuit_dir.is_symlink() or circuit_dir.is_file():
        aside = move_aside(circuit_dir)
        why += f"; the previous folder is kept as {aside}"
    progress(f"development setup of the solvency circuit {spec.capacity} in {circuit_dir}{why} (one local contribution: "
             "NOT for production)")
    return setup_solvency_keys(circuit_dir, spec, backend)


def move_aside(path: Path) -> Path:
    """Rename `path` to a free sibling `<name>.old-<UTC time>[-N]` and return the new path (a key
    folder is never deleted; the rename keeps it whole)."""
    path = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for n in range(1000):
        dest = path.with_name(f"{path.name}.old-{stamp}" + (f"-{n}" if n else ""))
        if dest.exists() or dest.is_symlink():
            continue
        try:
            os.rename(path, dest)
        except OSError as exc:
            # a folder of that name appeared meanwhile: rename(2) fails on a non-empty one; next name
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue
            raise
        return dest
    raise ConfigError(f"{path}: could not find a free name to move it aside; move it yourself")


def venue_book(chain_id: int, valuation_time: int, spot: int, depositor_values: dict[str, int], capacity: Capacity,
               seed: int = 1) -> Book:
    """Depositor cash accounts plus synthetic portfolios, filling `capacity.accounts` (ids sorted)."""
    n_synth = capacity.accounts - len(depositor_values)
    if n_synth < 0:
        raise ConfigError(f"{len(depositor_values)} depositors do not fit a capacity of {capacity.accounts} accounts")
    instruments = default_instruments(spot=spot, valuation_time=valuation_time)
    inputs = default_market_inputs(spot=spot, valuation_time=valuation_time)
    synth = generate_book(chain_id, n_synth, seed, instruments=instruments, inputs=inputs,
                          grid=compact_grid(capacity.scenarios)) if n_synth else Book(chain_id, instruments, ())
    rng = random.Random(f"relayer-devnet-depositors/{chain_id}/{seed}")
    accounts = list(synth.accounts)
    taken = {a.id for a in accounts}
    for who, value in sorted(depositor_values.items()):
        acct_id = int(to_checksum_address(who)[2:18], 16)  # the address's first 64 bits
        while acct_id in taken:
            acct_id += 1
        taken.add(acct_id)
        accounts.append(Account(acct_id, rng.getrandbits(248), value * DEPOSITOR_CREDIT_BPS // 10_000, {}))
    return Book(chain_id, instruments, tuple(sorted(accounts, key=lambda a: a.id)))


def seed_solvency(devnet_dir: Path, state: dict[str, Any], capacity: Capacity = DEFAULT_CAPACITY,
                  backend: str = "cpu", progress: Callable[[str], None] = lambda m: None) -> SolvencyKeys:
    """Keys, verifiers and books for every chain of `state` (updated in place: each deployment's
    `contracts.verifier`, and `circuit_dir` / per-chain `ledger` paths)."""
    devnet_dir = Path(devnet_dir)
    keys = ensure_keys(devnet_dir / CIRCUIT_DIR, CircuitSpec(capacity), backend, progress)
    (devnet_dir / LEDGER_DIR).mkdir(parents=True, exist_ok=True)
    state["circuit_dir"] = str(devnet_dir / CIRCUIT_DIR)
    state["circuit_dev_setup"] = keys.dev
    for i, c in enumerate(state["chains"]):
        dep = c["deployment"]
        w3 = Web3(Web3.HTTPProvider(c["rpc_url"], request_kwargs={"timeout": 60}))
        progress(f"deploying the Groth16 verifier (solvency key 0x{keys.vk_hash.hex()[:12]}) on chain {c['chain_id']}")
        deployer = to_checksum_address(dep["deployer"])
        verifier = deploy_verifier(w3, keys.vk, sender=deployer)
        feed = contract(w3, "SolvencyFeed", dep["contracts"]["feed"])
        try:
            tx = feed.functions.setVerifier(verifier).transact({"from": deployer})
            rcpt = w3.eth.wait_for_transaction_receipt(tx, timeout=60, poll_latency=0.02)
        except Exception as exc:  # web3 raises many unrelated types
            raise ChainError(f"chain {c['chain_id']}: feed.setVerifier({verifier}) failed: {exc}") from exc
        if rcpt["status"] != 1 or feed.functions.verifier().call() != verifier:
            raise ChainError(f"chain {c['chain_id']}: feed.setVerifier({verifier}) reverted")
        dep["contracts"]["verifier"] = verifier

        # the book: depositors' claims at today's oracle prices, synthetic portfolios around the WETH spot
        values: dict[str, int] = {}
        spot = None
        for a in dep["assets"]:
            price_e8 = int(a["price_e8"])
            if a["symbol"] == "WETH":
                spot = price_e8 * USD // 10**PRICE_DECIMALS
            for who, amount in a["deposits"].items():
                values[who] = values.get(who, 0) + int(amount) * price_e8 * USD // (10**int(a["decimals"]) * 10**PRICE_DECIMALS)
        if spot is None:
            raise ConfigError("the devnet book needs a WETH asset (the options' underlying)")
        ts = int(w3.eth.get_block("latest")["timestamp"])
        book = venue_book(int(c["chain_id"]), ts, spot, values, capacity, seed=i + 1)
        path = devnet_dir / LEDGER_DIR / f"{c['name']}.json"
        save_json(book, path)
        c["ledger"] = str(path)
        progress(f"seeded a book of {len(book.accounts)} accounts for chain {c['chain_id']} ({path})")
    return keys


__all__ = ["CIRCUIT_DIR", "DEFAULT_CAPACITY", "LEDGER_DIR", "ensure_keys", "move_aside", "seed_solvency", "venue_book"]
