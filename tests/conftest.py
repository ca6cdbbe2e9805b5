"""Shared pytest fixtures: real anvil chains on free loopback ports, started and stopped here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from relayer.devnet.anvil import AnvilProcess, start_anvil


@pytest.fixture(scope="session")
def anvil_chains(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[AnvilProcess]]:
    """Three anvil chains (chain ids 31337, 31338, 31339) for the whole session."""
    log_dir = tmp_path_factory.mktemp("anvil-logs")
    procs: list[AnvilProcess] = []
    try:
        for cid in (31337, 31338, 31339):
            procs.append(start_anvil(cid, log_dir=log_dir))
        yield procs
    finally:
        for p in procs:
            p.stop()


@pytest.fixture(scope="session")
def anvil(anvil_chains: list[AnvilProcess]) -> AnvilProcess:
    """One anvil chain (the first of the session's chains)."""
    return anvil_chains[0]


@pytest.fixture()
def fresh_anvil(tmp_path) -> Iterator[AnvilProcess]:
    """A private anvil for tests that change chain state in ways others must not see."""
    proc = start_anvil(31337, log_dir=tmp_path)
    try:
        yield proc
    finally:
        proc.stop()
