"""Operator keys of a devnet: encrypted keystore files (eth-account v3 JSON) in `<dir>/keys/`.

The password comes from $RELAYER_KEYSTORE_PASSWORD; on devnets only, it defaults to the
documented DEV_KEYSTORE_PASSWORD. Existing keystores are reused so a devnet keeps its signers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_utils import to_checksum_address

from relayer.config import DEFAULT_PASSWORD_ENV
from relayer.errors import ConfigError

# Documented dev-only password (README / `relayer devnet up --help`). Never use it for real keys.
DEV_KEYSTORE_PASSWORD = "relayer-devnet-insecure-password"

# scrypt n for devnet keystores. eth-account's default (2**18) costs ~2 s per key on a loaded
# machine; devnet keys guard nothing, so a devnet uses a cheaper KDF. Real keystores keep theirs.
DEVNET_SCRYPT_N = 2**14


@dataclass(frozen=True)
class OperatorKey:
    path: Path
    address: str


def devnet_password(env: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """(password, is_dev_default): $RELAYER_KEYSTORE_PASSWORD, else the documented dev password
    (an empty variable counts as unset)."""
    env = os.environ if env is None else env
    pw = env.get(DEFAULT_PASSWORD_ENV)
    if pw:
        return pw, pw == DEV_KEYSTORE_PASSWORD
    return DEV_KEYSTORE_PASSWORD, True


def ensure_operator_keys(keys_dir: Path, count: int, password: str) -> list[OperatorKey]:
    """Create (or reuse) `operator-1.json` ... `operator-<count>.json` in `keys_dir`."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    out: list[OperatorKey] = []
    for i in range(1, count + 1):
        path = keys_dir / f"operator-{i}.json"
        if path.exists():
            out.append(OperatorKey(path, _open_existing(path, password)))
            continue
        acct = Account.create()
        keystore = Account.encrypt(acct.key, password, kdf="scrypt", iterations=DEVNET_SCRYPT_N)
        tmp = path.with_suffix(".json.tmp")
        # 0600 from the start: the file holds a key, even if an encrypted one
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(keystore, f)
        os.replace(tmp, path)
        out.append(OperatorKey(path, acct.address))
    if len({k.address for k in out}) != len(out):
        raise ConfigError(f"{keys_dir}: two keystores hold the same key; each operator needs its own")
    return out


def _open_existing(path: Path, password: str) -> str:
    try:
        keystore = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable keystore file ({exc}); delete it to create a new key") from None
    try:
        key = Account.decrypt(keystore, password)
    except ValueError:
        raise ConfigError(f"{path}: the keystore does not open with the password from ${DEFAULT_PASSWORD_ENV} "
                          "(or the default dev password when unset); set the right password or delete the "
                          "keys folder to create new operator keys") from None
    address = Account.from_key(key).address
    recorded = keystore.get("address")
    if recorded and to_checksum_address("0x" + str(recorded).removeprefix("0x")) != address:
        raise ConfigError(f"{path}: the keystore's address field does not match its key; the file is corrupt")
    return address
