"""Assemble a RoundPipeline from a config: the store, the circuit keys, the operator signers
(encrypted keystores, password from the environment) and the relay (relayer.relay: one submitter
per feed, chains in parallel). Everything is checked
before the first network call: config, keystores and passwords, key folder, ledgers; then, before
anything is proven, that every feed matches (relayer.pipeline.preflight)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping

from relayer.attest.signer import KeystoreSigner, load_keystore_signers
from relayer.config import RelayerConfig
from relayer.errors import ConfigError
from relayer.keys_setup import load_solvency_keys
from relayer.pipeline.market import load_book
from relayer.pipeline.preflight import require_feeds_match
from relayer.pipeline.prover import resolve_backend
from relayer.pipeline.round import RoundPipeline
from relayer.relay.relay import Relay, failover_web3
from relayer.relay.submitter import RelayOptions
from relayer.storage import Store

log = logging.getLogger(__name__)


def open_signers(cfg: RelayerConfig, env: Mapping[str, str] | None = None) -> list[KeystoreSigner]:
    env = os.environ if env is None else env
    if not cfg.relayer.keys:
        raise ConfigError("relayer.keys lists no keystore: the relayer needs at least `quorum` operator keys")
    cfg.check_keystores()
    cfg.keystore_password(env)  # ConfigError naming the variable when it is not set
    return load_keystore_signers(list(cfg.relayer.keys), cfg.relayer.password_env, env)


def build_pipeline(cfg: RelayerConfig, *, backend: str | None = None, prover_workers: int | None = None,
                   env: Mapping[str, str] | None = None, relay_options: RelayOptions | None = None,
                   rpc_timeout_s: float = 10.0, progress: Callable[[str], None] = lambda m: None,
                   preflight: bool = True) -> RoundPipeline:
    """The pipeline `relayer run` (the daemon) and `relayer round --once` run. With `preflight`
    (default), every feed is read first and a mismatch with this config (chain id, not a feed, its
    verifier's key, unregistered keys, threshold vs quorum, signer set versions) fails the start:
    ConfigError, or ChainError when an RPC does not answer. `preflight=False` is for tests that build
    a deliberately mismatched setup to see the round itself refuse it."""
    signers = open_signers(cfg, env)  # a wrong password fails here, before any network call
    # the prover backend is decided (auto) and checked usable (gpu without a device: BackendUnavailable)
    # before the feeds are read or the database is created
    backend = resolve_backend(backend or cfg.relayer.prover)
    for c in cfg.chains:
        load_book(c)  # a malformed ledger fails here, listing its bad rows
    keys = load_solvency_keys(cfg.relayer.circuit_dir)
    if preflight:
        progress(f"checking {len(cfg.chains)} feed(s) against the configuration")
        require_feeds_match(cfg, signers, keys.vk, rpc_timeout_s=rpc_timeout_s)
    store = Store(cfg.relayer.database_url)
    # the first operator key pays for the feed transactions on every chain
    # a chain that is down costs a round at most ~3 RPC timeouts; its submission stays unfinished in the
    # store and the next run drives it again (the other feeds are served meanwhile)
    options = relay_options or RelayOptions(max_attempts=3, backoff_max_s=5.0)
    relay = Relay.from_config(store, cfg, signers[0].unsafe_private_key(), options,
                              web3_factory=lambda chain: failover_web3(chain, rpc_timeout_s))
    return RoundPipeline(cfg, store, keys, signers, relay, backend=backend, prover_workers=prover_workers,
                         rpc_timeout_s=rpc_timeout_s, progress=progress)


__all__ = ["build_pipeline", "open_signers"]
