"""Shared by the tests that start their own devnets: a free port range, the devnet keystore
password environment and fast relay options."""

from __future__ import annotations

import random

from relayer.devnet.keys import DEV_KEYSTORE_PASSWORD
from relayer.devnet.manager import _port_free
from relayer.relay.submitter import RelayOptions

ENV = {"RELAYER_KEYSTORE_PASSWORD": DEV_KEYSTORE_PASSWORD}
FAST_RELAY = RelayOptions(receipt_timeout_s=10, poll_interval_s=0.05, max_attempts=2, backoff_base_s=0.2, backoff_max_s=1)


def free_base_port(n: int) -> int:
    """A base port with n consecutive free ports (other test runs share this machine)."""
    for _ in range(200):
        base = random.randrange(20_000, 60_000)
        if all(_port_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no free port range")
