"""Typed, validated configuration (`chains.toml`, SPEC §6): TOML, then `RELAYER_*` environment
variables, then CLI flags, each overriding the one before. Every problem is reported as a
`ConfigError` naming the file, the key path and the fix, before any network call is made.

Environment mapping (names are upper case; chain names match case-insensitively, `-` as `_`):

    RELAYER_DATABASE_URL, RELAYER_ROUND_INTERVAL_S, RELAYER_HEARTBEAT_S, RELAYER_DEVIATION_BPS,
    RELAYER_PROVER, RELAYER_KEYS (comma-separated paths), RELAYER_QUORUM, RELAYER_PASSWORD_ENV,
    RELAYER_MAX_PRICE_AGE_S
                                          -> [relayer].<field>
    RELAYER_CHAINS__<NAME>__<FIELD>       -> [[chains]] whose name is NAME, e.g.
                                             RELAYER_CHAINS__ARBITRUM__RPC=https://a,https://b
    RELAYER_CHAINS__<NAME>__GAS__<FIELD>  -> that chain's [chains.gas].<field>
    RELAYER_CHAINS__<NAME>__ASSETS__<SYMBOL>__<FIELD>
                                          -> the asset with that symbol on that chain

List values are comma-separated (or a JSON array). Variables that configure other parts of the
program (RELAYER_KEYSTORE_PASSWORD, RELAYER_TOOLS_DIR, RELAYER_ANVIL, ...) are not config keys
and are ignored here. Flags (`overrides`) use dotted keys: `prover`, `relayer.prover`,
`chains.<name>.rpc`, `chains.<name>.gas.max_fee_gwei`, `chains.<name>.assets.<SYMBOL>.haircut_bps`.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from relayer.errors import ConfigError

log = logging.getLogger(__name__)

ENV_PREFIX = "RELAYER_"
DEFAULT_PASSWORD_ENV = "RELAYER_KEYSTORE_PASSWORD"
ZERO_ADDRESS = "0x" + "0" * 40
WEI_PER_GWEI = 10**9
# How old (seconds, snapshot block time - the aggregator round's updatedAt) a price may be before the
# round is refused: a day, Chainlink's longest usual heartbeat. Set per asset, per chain or globally.
DEFAULT_MAX_PRICE_AGE_S = 86_400
# Seconds of a feed's maxAge (SPEC §4) kept for the time between signing and inclusion:
# a few blocks and fee-bumped replacements on a slow chain.
DEFAULT_INCLUSION_MARGIN_S = 120

# Keys that would hold a secret: never accepted from the TOML, whatever section they are in.
_SECRET_KEYS = {"password", "private_key", "privatekey", "secret", "mnemonic", "seed", "passphrase", "key_password"}


# --------------------------------------------------------------------------------------------
# field types


def _check_address(value: str) -> str:
    """EIP-55: accept a correctly checksummed address; reject a wrong checksum (a typo) and an
    all-lower/upper-case one (no checksum to catch typos), telling the user the checksummed form."""
    if not isinstance(value, str) or not is_hex_address(value):
        raise ValueError(f"{value!r} is not a 20-byte hex address (0x followed by 40 hex digits)")
    if value.lower() == ZERO_ADDRESS:
        raise ValueError("the zero address is not a contract; deploy it first and put its address here")
    if not is_checksum_address(value):
        body = value[2:]
        if body == body.lower() or body == body.upper():
            raise ValueError(f"{value} has no EIP-55 checksum; write it as {to_checksum_address(value)}")
        raise ValueError(f"{value} has a wrong EIP-55 checksum (a typo?); the checksummed form of these digits is "
                         f"{to_checksum_address(value)}")
    return value


def _strict_str(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__} {value!r}")
    return value


Address = Annotated[str, BeforeValidator(_strict_str), AfterValidator(_check_address)]


def _whole_number(value: Any) -> Any:
    # pydantic's lax mode would take `true` as 1 and 2.0 as 2; in this file those are mistakes.
    # Strings stay allowed: environment variables are strings.
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"expected a whole number, got {type(value).__name__} {value!r}")
    return value


Int = Annotated[int, BeforeValidator(_whole_number)]


def _to_decimal(value: Any) -> Decimal:
    # TOML floats are binary: go through their shortest repr so 0.1 means exactly 0.1 gwei.
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, (int, float, str, Decimal)):
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not d.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return d
    raise ValueError(f"expected a number, got {type(value).__name__}")


Gwei = Annotated[Decimal, BeforeValidator(_to_decimal)]


def _expand_env(url: str) -> str:
    """`${NAME}` in an RPC URL is read from the environment, so API keys stay out of the file."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise ValueError(f"the URL refers to ${{{name}}} but the environment variable {name} is not set")
        return os.environ[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, url)


def _check_rpc_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a URL string, got {type(value).__name__}")
    # the watcher (relayer.watch.rpc) and the relay speak JSON-RPC over HTTP(S) only; a websocket URL
    # would pass here and fail at the first round, so it is refused now, with the fix
    if re.match(r"^wss?://", value, re.IGNORECASE):
        raise ValueError(f"{value!r} is a websocket URL; only http(s):// JSON-RPC endpoints are supported "
                         "(use the provider's https:// URL)")
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http(s):// URL")
    return value


RpcUrl = Annotated[str, AfterValidator(_check_rpc_url)]


class _Model(BaseModel):
    # forbid: an unknown key is a typo until proven otherwise (the loader suggests the nearest name)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, str_strip_whitespace=True)


# --------------------------------------------------------------------------------------------
# models


class RelayerSettings(_Model):
    """The global `[relayer]` section."""

    database_url: str = "sqlite:///relayer.db"
    round_interval_s: Int = Field(default=60, ge=1, description="seconds between round attempts")
    heartbeat_s: Int = Field(default=3600, ge=1, description="publish at least this often even if nothing moved")
    deviation_bps: Int = Field(default=50, ge=1, le=10_000, description="publish early when the ratio moves this much")
    prover: Literal["cpu", "gpu", "reference", "auto"] = "auto"
    keys: tuple[Path, ...] = Field(default=(), description="encrypted keystore files (relative to the config file)")
    quorum: Int = Field(default=1, ge=1, description="signatures a feed requires (its threshold)")
    password_env: str = Field(default=DEFAULT_PASSWORD_ENV, description="environment variable holding the keystore password")
    # (added by the pipeline) folder of the solvency circuit's keys and circuit.json (relayer.keys_setup)
    circuit_dir: Path = Field(default=Path("circuit"), description="solvency circuit keys folder (relative to the config file)")
    max_price_age_s: Int = Field(default=DEFAULT_MAX_PRICE_AGE_S, gt=0,
                                 description="default for every chain: refuse a round whose oracle price is older")
    # a round signed when its data is just under a feed's maxAge reverts AttestationTooOld if its
    # transaction is mined later than that: this much of maxAge is kept for proving, relaying, fee bumps
    inclusion_margin_s: Int = Field(default=DEFAULT_INCLUSION_MARGIN_S, ge=0,
                                    description="refuse to prove or sign data older than a feed's maxAge minus this")

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+[a-z0-9_]+)?://", v):
            raise ValueError(f"{v!r} is not a sqlite:/// or postgresql:// URL")
        if re.match(r"^postgresql[^:]*://[^/@]*:[^/@]+@", v):
            raise ValueError("the URL contains a password; put it in RELAYER_DATABASE_URL instead of the file")
        return v

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, v: str) -> str:
        # this is the NAME of a variable, never the password itself
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", v):
            raise ValueError(f"{v!r} is not an environment variable name (upper case, digits, _); "
                             "the password itself never goes in the file")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> RelayerSettings:
        if self.heartbeat_s < self.round_interval_s:
            raise ValueError(f"heartbeat_s ({self.heartbeat_s}) must be >= round_interval_s ({self.round_interval_s})")
        if self.keys and self.quorum > len(self.keys):
            raise ValueError(f"quorum {self.quorum} cannot be reached with the {len(self.keys)} keystore file(s) in keys")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("keys lists the same keystore file twice; each signature must come from a distinct key")
        return self


class GasPolicy(_Model):
    """EIP-1559 fee limits for submissions on one chain, in gwei (converted exactly to wei)."""

    max_fee_gwei: Gwei = Field(default=Decimal(200), gt=0, description="never pay more than this per gas")
    priority_fee_gwei: Gwei = Field(default=Decimal(1), ge=0)

    @field_validator("max_fee_gwei", "priority_fee_gwei")
    @classmethod
    def _whole_wei(cls, v: Decimal) -> Decimal:
        if (v * WEI_PER_GWEI) != (v * WEI_PER_GWEI).to_integral_value():
            raise ValueError(f"{v} gwei is not a whole number of wei (at most 9 decimals)")
        return v

    @model_validator(mode="before")
    @classmethod
    def _default_tip(cls, data: Any) -> Any:
        # the default tip (1 gwei) must not exceed a low cap (L2s run at fractions of a gwei)
        if isinstance(data, dict) and "priority_fee_gwei" not in data and "max_fee_gwei" in data:
            try:
                cap = _to_decimal(data["max_fee_gwei"])
            except ValueError:
                return data
            data = {**data, "priority_fee_gwei": min(Decimal(1), cap)}
        return data

    @model_validator(mode="after")
    def _tip_below_cap(self) -> GasPolicy:
        if self.priority_fee_gwei > self.max_fee_gwei:
            raise ValueError(f"priority_fee_gwei ({self.priority_fee_gwei}) exceeds max_fee_gwei ({self.max_fee_gwei})")
        return self

    @property
    def max_fee_wei(self) -> int:
        return int(self.max_fee_gwei * WEI_PER_GWEI)

    @property
    def priority_fee_wei(self) -> int:
        return int(self.priority_fee_gwei * WEI_PER_GWEI)


class AssetConfig(_Model):
    """One collateral asset held by a chain's vault, with its Chainlink-style price feed."""

    symbol: str

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.$_-]{1,16}", v):
            raise ValueError(f"{v!r} is not a token symbol: use 1-16 letters, digits, '.', '$', '_' or '-'")
        return v

    token: Address
    price_feed: Address
    decimals: Int = Field(ge=0, le=77, description="the token's decimals (10**77 < 2**256)")
    haircut_bps: Int = Field(default=0, ge=0, le=10_000, description="value counted = price * (10000 - haircut_bps) / 10000")
    max_price_age_s: Int | None = Field(default=None, gt=0, description="refuse the round when this asset's price "
                                        "(aggregator updatedAt) is older than this at the snapshot block; "
                                        "default: the chain's, else relayer.max_price_age_s")


class ChainConfig(_Model):
    """One `[[chains]]` entry."""

    name: str
    chain_id: Int = Field(ge=1, lt=2**64)
    rpc: tuple[RpcUrl, ...] = Field(min_length=1, description="one or more endpoints; several are cross-checked")
    # how many of `rpc` must answer for a snapshot (every one that answers must agree); unset: all of
    # them. Fewer than all lets a round go on while an endpoint is down (relayer.watch.snapshot)
    rpc_quorum: Int | None = Field(default=None, ge=1, description="endpoints of rpc that must answer (and agree) "
                                   "for a snapshot; default: all of them")
    confirmations: Int | None = Field(default=None, ge=0, le=10_000)
    finality: Literal["finalized"] | None = None
    vault: Address
    feed: Address
    assets: tuple[AssetConfig, ...] = Field(min_length=1)
    gas: GasPolicy = Field(default_factory=lambda: GasPolicy())
    max_price_age_s: Int | None = Field(default=None, gt=0, description="default max_price_age_s of this chain's "
                                        "assets (unset: relayer.max_price_age_s)")
    # (added by the pipeline) the venue's private book for this chain: a relayer-ledger/1 JSON file or a
    # SQLite ledger database (.db/.sqlite), relative to the config file; default ledgers/<name>.json
    ledger: Path | None = None

    @field_validator("rpc", mode="before")
    @classmethod
    def _rpc_list(cls, v: Any) -> Any:
        if isinstance(v, str):  # a single URL is accepted as a list of one
            v = [v]
        if isinstance(v, (list, tuple)):
            v = [_expand_env(u) if isinstance(u, str) else u for u in v]
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ChainConfig:
        if self.confirmations is not None and self.finality is not None:
            raise ValueError("set either confirmations or finality = \"finalized\", not both")
        if len(set(self.rpc)) != len(self.rpc):
            raise ValueError("rpc lists the same URL twice")
        if self.rpc_quorum is not None and self.rpc_quorum > len(self.rpc):
            raise ValueError(f"rpc_quorum = {self.rpc_quorum} cannot be reached: rpc lists {len(self.rpc)} endpoint(s); "
                             f"set rpc_quorum to at most {len(self.rpc)} or add endpoints")
        return self

    @field_validator("assets")
    @classmethod
    def _unique_assets(cls, assets: tuple[AssetConfig, ...]) -> tuple[AssetConfig, ...]:
        for attr in ("symbol", "token"):
            seen: dict[str, int] = {}
            for i, a in enumerate(assets):
                v = getattr(a, attr)
                if v in seen:
                    raise ValueError(f"assets[{i}] repeats {attr} {v!r} of assets[{seen[v]}]")
                seen[v] = i
        return assets

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", v):
            raise ValueError(f"{v!r} is not a chain name: use 1-32 lower-case letters, digits, - or _ (e.g. 'arbitrum')")
        return v

    @property
    def rpc_answers_needed(self) -> int:
        """Endpoints that must answer for a snapshot: rpc_quorum, or every configured one."""
        return self.rpc_quorum if self.rpc_quorum is not None else len(self.rpc)

    @property
    def head_rule(self) -> int | Literal["finalized"]:
        """How far behind the head to read: a confirmation count, or the `finalized` block tag.
        Neither set means `finalized` (sign only what is final)."""
        if self.confirmations is not None:
            return self.confirmations
        return "finalized"

    def price_age_limit(self, asset: AssetConfig) -> int:
        """Seconds `asset`'s price may lag the snapshot block: the asset's own max_price_age_s, else
        the chain's, else the default (load_config fills the chain's from relayer.max_price_age_s)."""
        if asset.max_price_age_s is not None:
            return asset.max_price_age_s
        if self.max_price_age_s is not None:
            return self.max_price_age_s
        return DEFAULT_MAX_PRICE_AGE_S


class RelayerConfig(_Model):
    """The whole file: `[relayer]` plus one or more `[[chains]]`."""

    relayer: RelayerSettings = Field(default_factory=lambda: RelayerSettings())
    chains: tuple[ChainConfig, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _inherit_price_age(cls, data: Any) -> Any:
        """relayer.max_price_age_s is the default of every chain that sets none (a chain's own value
        is its assets' default, see ChainConfig.price_age_limit). Copied only when it is a valid
        value: an invalid one is reported once, at relayer.max_price_age_s, not under every chain."""
        if not isinstance(data, dict) or not isinstance(data.get("relayer"), dict):
            return data
        value = data["relayer"].get("max_price_age_s")
        if value is None or isinstance(value, (bool, float)):
            return data
        try:
            if int(str(value).strip()) <= 0:
                return data
        except ValueError:
            return data
        chains = data.get("chains")
        if isinstance(chains, list):
            data = {**data, "chains": [{**c, "max_price_age_s": value} if isinstance(c, dict) and "max_price_age_s"
                                       not in c else c for c in chains]}
        return data

    @field_validator("chains")
    @classmethod
    def _unique(cls, chains: tuple[ChainConfig, ...]) -> tuple[ChainConfig, ...]:
        for attr in ("name", "chain_id"):
            seen: dict[Any, int] = {}
            for i, c in enumerate(chains):
                v = getattr(c, attr)
                if v in seen:
                    raise ValueError(f"chains[{i}] repeats {attr} {v!r} of chains[{seen[v]}]; each chain must be distinct")
                seen[v] = i
        return chains

    def chain(self, name: str) -> ChainConfig:
        for c in self.chains:
            if c.name == name:
                return c
        raise ConfigError(f"no chain named {name!r}; configured: {', '.join(c.name for c in self.chains)}")

    def check_keystores(self) -> None:
        """Every keystore in relayer.keys exists and is a file (no password needed to check)."""
        for i, k in enumerate(self.relayer.keys):
            if not k.is_file():
                raise ConfigError(f"relayer.keys[{i}]: keystore file {k} does not exist; create it (e.g. "
                                  "`relayer devnet up` writes devnet keys) or fix the path")

    def keystore_password(self, env: Mapping[str, str] | None = None) -> str:
        """The keystore password, read from the environment variable the config names."""
        env = os.environ if env is None else env
        name = self.relayer.password_env
        if name not in env:
            raise ConfigError(f"the keystore password is read from ${name}, which is not set; export it "
                              "(or change relayer.password_env)")
        return env[name]


# --------------------------------------------------------------------------------------------
# loading


def load_config(
    path: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> RelayerConfig:
    """Read `path` (TOML), apply `RELAYER_*` variables from `env`, then `overrides` (flags).

    Relative keystore paths are resolved against the config file's folder. Raises ConfigError.
    """
    path = Path(path)
    env = os.environ if env is None else env
    overrides = overrides or {}
    try:
        raw_text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (create it from the documented chains.toml at "
                          "the repository root, or pass -c PATH)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    try:
        data = tomllib.loads(raw_text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    _reject_secrets(path, data, ())
    sources: dict[tuple[Any, ...], str] = {}
    _apply_env(path, data, env, sources)
    _apply_overrides(path, data, overrides, sources)

    try:
        cfg = RelayerConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, data, exc, sources)) from None

    # keystores: resolve against the config file (not the cwd) so the file works from anywhere
    # (paths given by a variable or flag are relative to the working directory, like any CLI path)
    base = Path.cwd() if ("relayer", "keys") in sources else path.resolve().parent
    keys = tuple(k if k.is_absolute() else (base / k) for k in cfg.relayer.keys)
    # circuit keys and ledgers: relative to the config file (or the cwd when set by a variable or flag)
    cbase = Path.cwd() if ("relayer", "circuit_dir") in sources else path.resolve().parent
    circuit_dir = cfg.relayer.circuit_dir if cfg.relayer.circuit_dir.is_absolute() else cbase / cfg.relayer.circuit_dir
    chains = []
    for i, c in enumerate(cfg.chains):
        lbase = Path.cwd() if ("chains", i, "ledger") in sources else path.resolve().parent
        ledger = c.ledger if c.ledger is not None else Path("ledgers") / f"{c.name}.json"
        chains.append(c.model_copy(update={"ledger": ledger if ledger.is_absolute() else lbase / ledger}))
    # a SQLite file: relative to the config file too (or the cwd when set by a variable or flag). Started
    # from another directory, a cwd-relative database would be a new, empty one: the nonces, signing
    # intents and submissions of the real one silently left behind.
    dbase = Path.cwd() if ("relayer", "database_url") in sources else path.resolve().parent
    database_url = resolve_sqlite_url(cfg.relayer.database_url, dbase)
    return cfg.model_copy(update={"relayer": cfg.relayer.model_copy(update={"keys": keys, "circuit_dir": circuit_dir,
                                                                            "database_url": database_url}),
                                  "chains": tuple(chains)})


def resolve_sqlite_url(url: str, base: Path) -> str:
    """`url` with a relative SQLite file path made absolute against `base`; any other URL (PostgreSQL,
    an absolute path, an in-memory database) unchanged."""
    m = re.match(r"^(sqlite(?:\+[a-z0-9_]+)?:///)([^?]*)(\?.*)?$", url)
    if m is None or m.group(2) in ("", ":memory:") or m.group(2).startswith("file:") or Path(m.group(2)).is_absolute():
        return url
    return f"{m.group(1)}{(base / m.group(2)).resolve()}{m.group(3) or ''}"


def _reject_secrets(path: Path, node: Any, loc: tuple[Any, ...]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if str(k).lower().replace("-", "_") in _SECRET_KEYS:
                raise ConfigError(f"{path}: {_loc_str(loc + (k,))}: secrets never go in the config file; put keys in an "
                                  f"encrypted keystore listed in relayer.keys and its password in ${DEFAULT_PASSWORD_ENV} "
                                  "(or the variable named by relayer.password_env)")
            _reject_secrets(path, v, loc + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _reject_secrets(path, v, loc + (i,))


def _loc_str(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _norm(name: str) -> str:
    return name.upper().replace("-", "_")


def _parse_list(value: Any) -> Any:
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                return json.loads(s)
            except json.JSONDecodeError:
                pass
        return [p.strip() for p in s.split(",") if p.strip()]
    return value


_LIST_FIELDS = {"rpc", "keys"}


def _find_chain(data: dict[str, Any], name: str) -> int | None:
    chains = data.get("chains")
    if not isinstance(chains, list):
        return None
    for i, c in enumerate(chains):
        if isinstance(c, dict) and isinstance(c.get("name"), str) and _norm(c["name"]) == _norm(name):
            return i
    return None


def _set_path(
    path: Path, data: dict[str, Any], keys: list[str], value: Any, source: str, sources: dict[tuple[Any, ...], str]
) -> bool:
    """Set `relayer.X` or `chains.<name>.X[.Y]` / `chains.<name>.assets.<SYMBOL>.X` in the raw data.
    Returns False when `keys` is not a config key at all."""
    given, keys = keys, [k.lower() for k in keys]
    if keys and keys[0] != "chains":
        if keys[0] == "relayer":
            keys = keys[1:]
        if len(keys) != 1:
            return False
        field = keys[0]
        if field not in RelayerSettings.model_fields:
            return False
        section = data.setdefault("relayer", {})
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: relayer: must be a table")
        section[field] = _parse_list(value) if field in _LIST_FIELDS else value
        sources[("relayer", field)] = source
        return True
    if len(keys) < 3:
        raise ConfigError(f"{path}: {source}: a chain key needs a chain name and a field, e.g. "
                          "RELAYER_CHAINS__<NAME>__RPC or chains.<name>.rpc")
    name, rest = keys[1], keys[2:]
    idx = _find_chain(data, name)
    if idx is None:
        names = [c.get("name") for c in data.get("chains", []) if isinstance(c, dict)]
        raise ConfigError(f"{path}: {source} refers to chain {given[1]!r}, which is not in the file "
                          f"(chains: {', '.join(map(str, names)) or 'none'})")
    chain = data["chains"][idx]
    loc: tuple[Any, ...] = ("chains", idx)
    if rest[0] == "gas" and len(rest) == 2:
        gas = chain.setdefault("gas", {})
        if not isinstance(gas, dict):
            raise ConfigError(f"{path}: chains[{idx}].gas: must be a table ([chains.gas] with max_fee_gwei, "
                              f"priority_fee_gwei), got {gas!r}; {source} cannot set a field in it")
        gas[rest[1]] = value
        loc += ("gas", rest[1])
    elif rest[0] == "assets" and len(rest) == 3:
        assets = chain.get("assets") or []
        j = next((j for j, a in enumerate(assets) if isinstance(a, dict) and _norm(str(a.get("symbol"))) == _norm(rest[1])), None)
        if j is None:
            raise ConfigError(f"{path}: {source} refers to asset {given[3]!r} of chain {chain.get('name')!r}, which is not in the file")
        assets[j][rest[2]] = value
        loc += ("assets", j, rest[2])
    elif len(rest) == 1:
        chain[rest[0]] = _parse_list(value) if rest[0] in _LIST_FIELDS else value
        loc += (rest[0],)
    else:
        raise ConfigError(f"{path}: {source}: cannot address {'.'.join(keys)}; use chains.<name>.<field>, "
                          "chains.<name>.gas.<field> or chains.<name>.assets.<SYMBOL>.<field>")
    sources[loc] = source
    return True


# Variables that belong to other parts of the program, not to chains.toml.
_NON_CONFIG_ENV = {"RELAYER_KEYSTORE_PASSWORD", "RELAYER_TOOLS_DIR", "RELAYER_ANVIL", "RELAYER_LOG_LEVEL", "RELAYER_LOG_FORMAT",
                   "RELAYER_GPU_CUBIN_DIR", "RELAYER_REQUIRE_GPU"}


def _apply_env(path: Path, data: dict[str, Any], env: Mapping[str, str], sources: dict[tuple[Any, ...], str]) -> None:
    password_env = (data.get("relayer") or {}).get("password_env", DEFAULT_PASSWORD_ENV) if isinstance(data.get("relayer"), dict) else DEFAULT_PASSWORD_ENV
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or var in _NON_CONFIG_ENV or var == password_env:
            continue
        rest = var[len(ENV_PREFIX):]
        keys = rest.split("__") if rest.startswith("CHAINS__") else [rest]
        if not _set_path(path, data, keys, env[var], var, sources):
            valid = [ENV_PREFIX + f.upper() for f in RelayerSettings.model_fields]
            near = difflib.get_close_matches(var, valid, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            log.warning("environment variable %s is not a config key; ignored%s", var, hint)


def _apply_overrides(path: Path, data: dict[str, Any], overrides: Mapping[str, Any], sources: dict[tuple[Any, ...], str]) -> None:
    for key, value in overrides.items():
        if value is None:  # an unset click option
            continue
        if not _set_path(path, data, key.split("."), value, f"flag {key}", sources):
            valid = [f for f in RelayerSettings.model_fields]
            near = difflib.get_close_matches(key, valid, n=1)
            raise ConfigError(f"{path}: override {key!r} is not a config key"
                              + (f"; did you mean {near[0]!r}?" if near else ""))


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the last key of `loc` (for suggesting valid names)."""
    model: Any = RelayerConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        model = _unwrap(model.model_fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    # tuple[X, ...] / list[X] / X | None -> X
    origin = typing.get_origin(tp)
    if origin in (tuple, list):
        return typing.get_args(tp)[0]
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else tp
    return tp


def _format_errors(path: Path, data: dict[str, Any], exc: ValidationError, sources: dict[tuple[Any, ...], str]) -> str:
    lines = []
    errors = exc.errors()
    # pydantic adds the validator name to the loc for Annotated/union members; keep only data keys
    locs = [tuple(p for p in e["loc"] if isinstance(p, int) or not str(p).startswith(("function-", "literal[")))
            for e in errors]
    for err, loc in zip(errors, locs):
        # a list whose item failed is also reported "too short"; the item's error is the real one
        if err["type"] == "too_short" and any(o != loc and o[: len(loc)] == loc for o in locs):
            continue
        where = _loc_str(loc)
        if err["type"] == "extra_forbidden":
            model = _model_at(loc)
            valid = list(model.model_fields) if model else []
            near = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
            msg = f"unknown key {loc[-1]!r}" + (f"; did you mean {near[0]!r}?" if near else "")
            if len(loc) == 1 and str(loc[0]) in RelayerSettings.model_fields:
                msg += "; it belongs in the [relayer] section"
            elif len(loc) == 1 and str(loc[0]) in ChainConfig.model_fields:
                msg += "; it belongs in a [[chains]] entry"
            if valid:
                msg += f" (valid keys: {', '.join(valid)})"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] in ("tuple_type", "list_type"):
            msg = "must be a list ([...])"
        elif err["type"] in ("model_type", "model_attributes_type", "dict_type"):
            msg = "must be a table ([section] or {...})"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if "input" in err and err["type"] not in ("value_error", "assertion_error") and not isinstance(err["input"], (dict, list)):
                msg += f" (got {err['input']!r})"
        src = next((s for l, s in sources.items() if loc[: len(l)] == l), None)
        if src:
            msg += f" [value from {src}]"
        # name the chain too: 'chains[1]' alone makes people count entries
        if len(loc) >= 2 and loc[0] == "chains" and isinstance(loc[1], int):
            chains = data.get("chains")
            if isinstance(chains, list) and loc[1] < len(chains) and isinstance(chains[loc[1]], dict):
                name = chains[loc[1]].get("name")
                if name is not None:
                    msg += f" (chain {name!r})"
        lines.append(f"{path}: {where}: {msg}")
    return "\n".join(lines)
