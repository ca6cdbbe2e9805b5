"""Assemble a RoundPipeline from a config: the store, the circuit keys, the operator signers
(encrypted keystores, password from the environment) and the per-feed relay. Everything is checked
before the first network call: config, keystores and passwords, key folder, ledgers."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from web3 import Web3

from relayer.attest.eip712 import Attestation
from relayer.attest.signer import KeystoreSigner, load_keystore_signers
from relayer.config import RelayerConfig
from relayer.errors import ChainError, ConfigError, HaltError
from relayer.keys_setup import load_solvency_keys
from relayer.pipeline.market import load_book
from relayer.pipeline.round import RoundPipeline
from relayer.relay.submitter import FeedSubmitter, RelayOptions
from relayer.storage import Store, SubmissionRecord

log = logging.getLogger(__name__)


class FeedsRelay:
    """Submits a stored, signed round to every chain's feed concurrently (one thread per chain), so
    a chain that is down or reverting never delays the others; its submission stays unfinished in
    the store and is driven again on the next run."""

    def __init__(self, cfg: RelayerConfig, store: Store, operator_key: bytes, options: RelayOptions | None = None,
                 rpc_timeout_s: float = 10.0) -> None:
        self.cfg = cfg
        self.store = store
        self.submitters: dict[int, FeedSubmitter] = {}
        for c in cfg.chains:
            w3 = Web3(Web3.HTTPProvider(c.rpc[0], request_kwargs={"timeout": rpc_timeout_s}))
            self.submitters[c.chain_id] = FeedSubmitter(store, c.chain_id, w3, c.feed, operator_key, c.gas,
                                                        options=options, name=c.name)

    def submit_round(self, att: Attestation, bundle: bytes, sigs: Mapping[int, Sequence[Any]]) -> dict[int, SubmissionRecord]:
        def one(cid: int) -> SubmissionRecord:
            name = self.submitters[cid].name
            try:
                return self.submitters[cid].submit(att.round)
            except HaltError:
                raise
            except Exception as exc:  # one chain's failure (any kind) must not stop the others
                log.warning("chain %s round %d: %s", name, att.round, exc)
                rec = self.store.get_submission(att.round, cid)
                if rec is None:
                    raise ChainError(f"{name}: submitting round {att.round} failed before it was recorded: {exc}") from exc
                return rec

        with ThreadPoolExecutor(max_workers=len(self.submitters)) as ex:
            futs = {cid: ex.submit(one, cid) for cid in self.submitters}
            return {cid: f.result() for cid, f in futs.items()}


def open_signers(cfg: RelayerConfig, env: Mapping[str, str] | None = None) -> list[KeystoreSigner]:
    env = os.environ if env is None else env
    if not cfg.relayer.keys:
        raise ConfigError("relayer.keys lists no keystore: the relayer needs at least `quorum` operator keys")
    cfg.check_keystores()
    cfg.keystore_password(env)  # ConfigError naming the variable when it is not set
    return load_keystore_signers(list(cfg.relayer.keys), cfg.relayer.password_env, env)


def build_pipeline(cfg: RelayerConfig, *, backend: str | None = None, prover_workers: int | None = None,
                   env: Mapping[str, str] | None = None, relay_options: RelayOptions | None = None,
                   rpc_timeout_s: float = 10.0, progress: Callable[[str], None] = lambda m: None) -> RoundPipeline:
    signers = open_signers(cfg, env)  # a wrong password fails here, before any network call
    for c in cfg.chains:
        load_book(c)  # a malformed ledger fails here, listing its bad rows
    keys = load_solvency_keys(cfg.relayer.circuit_dir)
    store = Store(cfg.relayer.database_url)
    # the first operator key pays for the feed transactions on every chain
    # a chain that is down costs a round at most ~3 RPC timeouts; its submission stays unfinished in the
    # store and the next run drives it again (the other feeds are served meanwhile)
    options = relay_options or RelayOptions(max_attempts=3, backoff_max_s=5.0)
    relay = FeedsRelay(cfg, store, signers[0].unsafe_private_key(), options, rpc_timeout_s)
    return RoundPipeline(cfg, store, keys, signers, relay, backend=backend, prover_workers=prover_workers,
                         rpc_timeout_s=rpc_timeout_s, progress=progress)


__all__ = ["FeedsRelay", "build_pipeline", "open_signers"]
