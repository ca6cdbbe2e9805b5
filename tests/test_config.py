"""chains.toml loading: a good file, the override order, and one rejected input per rule."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from relayer.config import RelayerConfig, load_config
from relayer.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent

VAULT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
FEED = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
USDC = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
USDC_FEED = "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9"
WETH = "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"
WETH_FEED = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707"

GOOD = f"""
[relayer]
database_url = "sqlite:///relayer.db"
round_interval_s = 30
heartbeat_s = 600
deviation_bps = 25
prover = "cpu"
keys = ["keys/operator-1.json", "keys/operator-2.json", "keys/operator-3.json"]
quorum = 2

[[chains]]
name = "alpha"
chain_id = 31337
rpc = ["http://127.0.0.1:8545", "http://127.0.0.1:18545"]
confirmations = 2
vault = "{VAULT}"
feed = "{FEED}"

[chains.gas]
max_fee_gwei = 50
priority_fee_gwei = 1.5

[[chains.assets]]
symbol = "USDC"
token = "{USDC}"
price_feed = "{USDC_FEED}"
decimals = 6
haircut_bps = 0

[[chains.assets]]
symbol = "WETH"
token = "{WETH}"
price_feed = "{WETH_FEED}"
decimals = 18
haircut_bps = 1000

[[chains]]
name = "beta"
chain_id = 31338
rpc = ["http://127.0.0.1:8546"]
finality = "finalized"
vault = "{VAULT}"
feed = "{FEED}"

[[chains.assets]]
symbol = "USDC"
token = "{USDC}"
price_feed = "{USDC_FEED}"
decimals = 6
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "chains.toml"
    p.write_text(text)
    return p


def load_text(tmp_path: Path, text: str, **kw) -> RelayerConfig:
    return load_config(write(tmp_path, text), env=kw.pop("env", {}), **kw)


def bad(tmp_path: Path, text: str, *needles: str, **kw) -> str:
    """Load `text`, expect ConfigError, check the message names the file and each needle."""
    with pytest.raises(ConfigError) as ei:
        load_text(tmp_path, text, **kw)
    msg = str(ei.value)
    assert str(tmp_path / "chains.toml") in msg, msg
    for n in needles:
        assert n in msg, f"{n!r} not in {msg!r}"
    return msg


def test_good_file_loads_with_exact_values(tmp_path):
    cfg = load_text(tmp_path, GOOD)
    assert cfg.relayer.prover == "cpu"
    assert cfg.relayer.quorum == 2
    # keystore paths resolve against the config file's folder, not the cwd
    assert cfg.relayer.keys[0] == tmp_path.resolve() / "keys" / "operator-1.json"
    alpha, beta = cfg.chains
    assert alpha.rpc == ("http://127.0.0.1:8545", "http://127.0.0.1:18545")
    assert alpha.head_rule == 2 and beta.head_rule == "finalized"
    assert alpha.gas.max_fee_wei == 50 * 10**9
    assert alpha.gas.priority_fee_wei == 1_500_000_000  # 1.5 gwei exactly, not a float
    assert isinstance(alpha.gas.priority_fee_wei, int)
    assert alpha.assets[1].haircut_bps == 1000 and alpha.assets[1].decimals == 18
    assert beta.gas.max_fee_wei == 200 * 10**9  # documented default cap
    assert cfg.relayer.heartbeat_s == 600
    assert cfg.chain("beta").chain_id == 31338
    with pytest.raises(ConfigError, match="no chain named 'gamma'"):
        cfg.chain("gamma")


def test_repo_example_chains_toml_loads():
    # the documented example at the repository root must stay valid
    cfg = load_config(REPO_ROOT / "chains.toml", env={})
    assert len(cfg.chains) >= 1


def test_env_overrides_file_and_flags_override_env(tmp_path):
    p = write(tmp_path, GOOD)
    env = {
        "RELAYER_PROVER": "reference",
        "RELAYER_DATABASE_URL": "postgresql://db.example/relayer",
        "RELAYER_CHAINS__ALPHA__RPC": "http://a.example,http://b.example",
        "RELAYER_CHAINS__BETA__GAS__MAX_FEE_GWEI": "3",
        "RELAYER_CHAINS__ALPHA__ASSETS__WETH__HAIRCUT_BPS": "1500",
        "RELAYER_KEYSTORE_PASSWORD": "not a config key",
        "RELAYER_ROUND_INTERVAL_S": "45",
    }
    cfg = load_config(p, env=env)
    assert cfg.relayer.prover == "reference"
    assert cfg.relayer.database_url == "postgresql://db.example/relayer"
    assert cfg.relayer.round_interval_s == 45
    assert cfg.chain("alpha").rpc == ("http://a.example", "http://b.example")
    assert cfg.chain("beta").gas.max_fee_wei == 3 * 10**9
    assert cfg.chain("alpha").assets[1].haircut_bps == 1500
    # flags win over the environment
    cfg = load_config(p, env=env, overrides={"prover": "gpu", "chains.alpha.rpc": ["http://flag.example"], "quorum": None})
    assert cfg.relayer.prover == "gpu"
    assert cfg.chain("alpha").rpc == ("http://flag.example",)
    assert cfg.relayer.quorum == 2  # None = flag not given


def test_env_value_errors_name_the_variable(tmp_path):
    bad(tmp_path, GOOD, "relayer.prover", "gpux", "RELAYER_PROVER", env={"RELAYER_PROVER": "gpux"})
    bad(tmp_path, GOOD, "RELAYER_CHAINS__GAMMA__RPC", "chain 'GAMMA'", env={"RELAYER_CHAINS__GAMMA__RPC": "http://x"})
    bad(tmp_path, GOOD, "chains[0].confirmations", "RELAYER_CHAINS__ALPHA__CONFIRMATIONS",
        env={"RELAYER_CHAINS__ALPHA__CONFIRMATIONS": "-1"})
    bad(tmp_path, GOOD, "asset 'DAI'", env={"RELAYER_CHAINS__ALPHA__ASSETS__DAI__DECIMALS": "18"})
    bad(tmp_path, GOOD, "RELAYER_CHAINS__ALPHA", "needs a chain name and a field", env={"RELAYER_CHAINS__ALPHA": "x"})
    bad(tmp_path, GOOD, "RELAYER_CHAINS__ALPHA__GAS__TIP__X", "cannot address",
        env={"RELAYER_CHAINS__ALPHA__GAS__TIP__X": "1"})


def test_keys_from_env_are_relative_to_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "chains.toml").write_text(GOOD)
    cfg = load_config(sub / "chains.toml", env={"RELAYER_KEYS": "a.json,b.json", "RELAYER_QUORUM": "1"})
    assert cfg.relayer.keys == (tmp_path / "a.json", tmp_path / "b.json")
    assert cfg.relayer.quorum == 1
    with pytest.raises(ConfigError, match=r"relayer.keys\[0\]: keystore file .*a.json does not exist"):
        cfg.check_keystores()
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.json").write_text("{}")
    cfg.check_keystores()


def test_unknown_override_flag(tmp_path):
    bad(tmp_path, GOOD, "'provr'", "did you mean 'prover'", overrides={"provr": "cpu"})


def test_rpc_url_env_expansion(tmp_path, monkeypatch):
    text = GOOD.replace('"http://127.0.0.1:8546"', '"https://rpc.example/v3/${TEST_RPC_KEY}"')
    monkeypatch.setenv("TEST_RPC_KEY", "abc123")
    assert load_text(tmp_path, text).chain("beta").rpc == ("https://rpc.example/v3/abc123",)
    monkeypatch.delenv("TEST_RPC_KEY")
    bad(tmp_path, text, "chains[1].rpc", "TEST_RPC_KEY", "not set")


# --- one rejected input per rule -------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_invalid_toml(tmp_path):
    bad(tmp_path, GOOD + "\n[[chains]\n", "not valid TOML")


def test_unknown_key_suggests_nearest(tmp_path):
    bad(tmp_path, GOOD.replace("haircut_bps = 1000", "haircutbps = 1000"),
        "chains[0].assets[1].haircutbps", "did you mean 'haircut_bps'")
    bad(tmp_path, GOOD.replace("round_interval_s", "round_intervall_s"),
        "relayer.round_intervall_s", "did you mean 'round_interval_s'")
    bad(tmp_path, GOOD.replace('chain_id = 31338', 'chainid = 31338'),
        "chains[1].chainid", "did you mean 'chain_id'")
    bad(tmp_path, GOOD.replace("max_fee_gwei = 50", "max_fee = 50"), "chains[0].gas.max_fee", "max_fee_gwei")
    bad(tmp_path, "[relayr]\n" + GOOD, "relayr", "did you mean 'relayer'")


def test_missing_required_key(tmp_path):
    bad(tmp_path, GOOD.replace(f'vault = "{VAULT}"\nfeed = "{FEED}"\n\n[[chains.assets]]', f'feed = "{FEED}"\n\n[[chains.assets]]', 1),
        "chains[1].vault", "required key is missing")
    bad(tmp_path, GOOD.split("[[chains]]")[0], "chains", "required key is missing")


def test_no_assets(tmp_path):
    text = GOOD.split("[[chains]]")[0] + f"""
[[chains]]
name = "solo"
chain_id = 5
rpc = ["http://x.example"]
vault = "{VAULT}"
feed = "{FEED}"
assets = []
"""
    bad(tmp_path, text, "chains[0].assets", "at least 1")


def test_haircut_out_of_range(tmp_path):
    bad(tmp_path, GOOD.replace("haircut_bps = 1000", "haircut_bps = 10001"), "chains[0].assets[1].haircut_bps", "10000")
    bad(tmp_path, GOOD.replace("haircut_bps = 1000", "haircut_bps = -1"), "chains[0].assets[1].haircut_bps")


def test_wrong_types(tmp_path):
    bad(tmp_path, GOOD.replace("decimals = 18", "decimals = 18.0"), "chains[0].assets[1].decimals", "whole number")
    bad(tmp_path, GOOD.replace("confirmations = 2", "confirmations = true"), "chains[0].confirmations", "whole number")
    bad(tmp_path, GOOD.replace("decimals = 18", "decimals = 78"), "chains[0].assets[1].decimals")
    bad(tmp_path, GOOD.replace("chain_id = 31337", "chain_id = 0"), "chains[0].chain_id")
    bad(tmp_path, GOOD.replace('name = "alpha"', 'name = "Alpha Chain"'), "chains[0].name", "lower-case")
    bad(tmp_path, GOOD.replace('symbol = "WETH"', 'symbol = ""'), "chains[0].assets[1].symbol")


def test_rpc_rules(tmp_path):
    bad(tmp_path, GOOD.replace('rpc = ["http://127.0.0.1:8546"]', "rpc = []"), "chains[1].rpc", "at least 1")
    bad(tmp_path, GOOD.replace('"http://127.0.0.1:8546"', '"127.0.0.1:8546"'), "chains[1].rpc", "not an http")
    bad(tmp_path, GOOD.replace('"http://127.0.0.1:18545"', '"http://127.0.0.1:8545"'), "chains[0]", "same URL twice")


def test_wrong_shapes(tmp_path):
    bad(tmp_path, GOOD.replace('rpc = ["http://127.0.0.1:8546"]', "rpc = 5"), "chains[1].rpc", "must be a list")
    bad(tmp_path, GOOD.replace("[relayer]", "relayer = 5\n[relayer_x]"), "relayer", "must be a table")
    # a [relayer] key written above the section header lands at the top level
    bad(tmp_path, 'prover = "cpu"\n' + GOOD, "prover", "belongs in the [relayer] section")
    bad(tmp_path, "chain_id = 1\n" + GOOD, "chain_id", "belongs in a [[chains]] entry")
    # a single rpc URL is accepted as a list of one
    text = GOOD.replace('rpc = ["http://127.0.0.1:8546"]', 'rpc = "http://127.0.0.1:8546"')
    assert load_text(tmp_path, text).chain("beta").rpc == ("http://127.0.0.1:8546",)


def test_confirmations_and_finality(tmp_path):
    bad(tmp_path, GOOD.replace("confirmations = 2", "confirmations = -1"), "chains[0].confirmations")
    bad(tmp_path, GOOD.replace('finality = "finalized"', 'finality = "latest"'), "chains[1].finality", "finalized")
    bad(tmp_path, GOOD.replace("confirmations = 2", 'confirmations = 2\nfinality = "finalized"'), "chains[0]", "not both")
    # neither: the safe default, the finalized tag
    text = GOOD.replace("confirmations = 2\n", "")
    assert load_text(tmp_path, text).chain("alpha").head_rule == "finalized"


def test_addresses_must_be_checksummed(tmp_path):
    bad(tmp_path, GOOD.replace(f'vault = "{VAULT}"', f'vault = "{VAULT.lower()}"', 1),
        "chains[0].vault", "no EIP-55 checksum", VAULT)
    wrong_case = VAULT[:3] + VAULT[3:4].swapcase() + VAULT[4:]  # one flipped letter
    assert wrong_case != VAULT
    bad(tmp_path, GOOD.replace(f'vault = "{VAULT}"', f'vault = "{wrong_case}"', 1), "chains[0].vault", "wrong EIP-55 checksum")
    bad(tmp_path, GOOD.replace(f'token = "{WETH}"', 'token = "0x1234"'), "chains[0].assets[1].token", "20-byte")
    bad(tmp_path, GOOD.replace(f'price_feed = "{WETH_FEED}"', 'price_feed = "0x' + "0" * 40 + '"'),
        "chains[0].assets[1].price_feed", "zero address")
    bad(tmp_path, GOOD.replace(f'feed = "{FEED}"', "feed = 5", 1), "chains[0].feed", "expected a string")


def test_duplicates_rejected(tmp_path):
    bad(tmp_path, GOOD.replace("chain_id = 31338", "chain_id = 31337"), "chains", "repeats chain_id 31337")
    bad(tmp_path, GOOD.replace('name = "beta"', 'name = "alpha"'), "chains", "repeats name 'alpha'")
    bad(tmp_path, GOOD.replace('symbol = "WETH"', 'symbol = "USDC"'), "chains[0].assets", "repeats symbol 'USDC'")
    bad(tmp_path, GOOD.replace(f'token = "{WETH}"', f'token = "{USDC}"'), "chains[0].assets", "assets[1] repeats token")
    bad(tmp_path, GOOD.replace('"keys/operator-3.json"', '"keys/operator-1.json"'), "relayer", "same keystore file twice")


def test_gas_policy_rules(tmp_path):
    bad(tmp_path, GOOD.replace("priority_fee_gwei = 1.5", "priority_fee_gwei = 51"), "chains[0].gas", "exceeds max_fee_gwei")
    bad(tmp_path, GOOD.replace("max_fee_gwei = 50", "max_fee_gwei = 0"), "chains[0].gas.max_fee_gwei")
    bad(tmp_path, GOOD.replace("priority_fee_gwei = 1.5", "priority_fee_gwei = 0.0000000001"),
        "chains[0].gas.priority_fee_gwei", "whole number of wei")
    bad(tmp_path, GOOD.replace("max_fee_gwei = 50", 'max_fee_gwei = "lots"'), "chains[0].gas.max_fee_gwei", "not a number")
    # a low cap without an explicit tip gets a tip no larger than the cap
    cfg = load_text(tmp_path, GOOD.replace("max_fee_gwei = 50\npriority_fee_gwei = 1.5", "max_fee_gwei = 0.05"))
    assert cfg.chain("alpha").gas.priority_fee_wei == 50_000_000 == cfg.chain("alpha").gas.max_fee_wei
    assert cfg.chain("alpha").gas.max_fee_gwei == Decimal("0.05")


def test_relayer_section_rules(tmp_path):
    bad(tmp_path, GOOD.replace('prover = "cpu"', 'prover = "tpu"'), "relayer.prover", "'cpu', 'gpu', 'reference' or 'auto'")
    bad(tmp_path, GOOD.replace("quorum = 2", "quorum = 4"), "relayer", "quorum 4 cannot be reached")
    bad(tmp_path, GOOD.replace("quorum = 2", "quorum = 0"), "relayer.quorum")
    bad(tmp_path, GOOD.replace("heartbeat_s = 600", "heartbeat_s = 10"), "relayer", "heartbeat_s (10) must be >= round_interval_s (30)")
    bad(tmp_path, GOOD.replace("deviation_bps = 25", "deviation_bps = 0"), "relayer.deviation_bps")
    bad(tmp_path, GOOD.replace("sqlite:///relayer.db", "mysql://db/x"), "relayer.database_url", "sqlite")
    bad(tmp_path, GOOD.replace("sqlite:///relayer.db", "postgresql://u:hunter2@db/x"), "relayer.database_url", "password")
    bad(tmp_path, GOOD.replace("quorum = 2", 'quorum = 2\npassword_env = "s3cret pass"'), "relayer.password_env",
        "not an environment variable name")


def test_secrets_never_in_toml(tmp_path):
    bad(tmp_path, GOOD.replace("quorum = 2", 'quorum = 2\npassword = "hunter2"'), "relayer.password", "secrets never go")
    bad(tmp_path, GOOD.replace("confirmations = 2", 'confirmations = 2\nprivate_key = "0x01"'),
        "chains[0].private_key", "encrypted keystore")


def test_keystore_password_from_env(tmp_path):
    cfg = load_text(tmp_path, GOOD)
    assert cfg.keystore_password({"RELAYER_KEYSTORE_PASSWORD": "pw"}) == "pw"
    with pytest.raises(ConfigError, match="RELAYER_KEYSTORE_PASSWORD"):
        cfg.keystore_password({})


def test_websocket_rpc_urls_rejected_only_http_is_spoken(tmp_path):
    # the watcher and the relay speak JSON-RPC over HTTP(S) only: a ws(s):// URL must fail at load,
    # not at the first round
    for url in ("ws://127.0.0.1:8546", "wss://eth.example.com/v2/key"):
        bad(tmp_path, GOOD.replace('"http://127.0.0.1:8546"', f'"{url}"'), "chains[1].rpc", "only http(s)",
            "(chain 'beta')")
    # also when the URL comes from a variable
    bad(tmp_path, GOOD, "chains[1].rpc", "only http(s)", "RELAYER_CHAINS__BETA__RPC",
        env={"RELAYER_CHAINS__BETA__RPC": "wss://a.example"})
    assert load_text(tmp_path, GOOD.replace('"http://127.0.0.1:8546"', '"https://rpc.example/x"')).chain("beta").rpc \
        == ("https://rpc.example/x",)


def test_max_price_age_per_asset_chain_and_global(tmp_path):
    from relayer.config import DEFAULT_MAX_PRICE_AGE_S

    cfg = load_text(tmp_path, GOOD)
    alpha, beta = cfg.chains
    assert DEFAULT_MAX_PRICE_AGE_S == 86_400
    assert cfg.relayer.max_price_age_s == 86_400
    assert [alpha.price_age_limit(a) for a in alpha.assets] == [86_400, 86_400]
    # a global value is every chain's default; a chain's value is its assets' default; an asset's wins
    text = (GOOD.replace("quorum = 2", "quorum = 2\nmax_price_age_s = 7200")
            .replace("confirmations = 2", "confirmations = 2\nmax_price_age_s = 3600")
            .replace("haircut_bps = 1000", "haircut_bps = 1000\nmax_price_age_s = 600"))
    cfg = load_text(tmp_path, text)
    alpha, beta = cfg.chains
    assert [alpha.price_age_limit(a) for a in alpha.assets] == [3600, 600]
    assert [beta.price_age_limit(a) for a in beta.assets] == [7200]
    # environment variables at each level
    cfg = load_text(tmp_path, GOOD, env={"RELAYER_MAX_PRICE_AGE_S": "900",
                                         "RELAYER_CHAINS__ALPHA__ASSETS__WETH__MAX_PRICE_AGE_S": "60"})
    assert [cfg.chains[0].price_age_limit(a) for a in cfg.chains[0].assets] == [900, 60]
    assert cfg.chains[1].price_age_limit(cfg.chains[1].assets[0]) == 900


def test_max_price_age_must_be_positive(tmp_path):
    bad(tmp_path, GOOD.replace("quorum = 2", "quorum = 2\nmax_price_age_s = 0"), "relayer.max_price_age_s",
        "greater than 0")
    bad(tmp_path, GOOD.replace("confirmations = 2", "confirmations = 2\nmax_price_age_s = -5"),
        "chains[0].max_price_age_s", "greater than 0")
    bad(tmp_path, GOOD.replace("haircut_bps = 1000", "haircut_bps = 1000\nmax_price_age_s = 0"),
        "chains[0].assets[1].max_price_age_s", "greater than 0")
    bad(tmp_path, GOOD.replace("haircut_bps = 1000", "haircut_bps = 1000\nmax_price_age_s = 1.5"),
        "chains[0].assets[1].max_price_age_s", "whole number")
    # an invalid global value is reported once, where it is written (not again under every chain)
    msg = bad(tmp_path, GOOD.replace("quorum = 2", "quorum = 2\nmax_price_age_s = -1"), "relayer.max_price_age_s")
    assert "chains[" not in msg, msg
    bad(tmp_path, GOOD, "relayer.max_price_age_s", "RELAYER_MAX_PRICE_AGE_S", env={"RELAYER_MAX_PRICE_AGE_S": "0"})


def test_inclusion_margin_default_override_and_bounds(tmp_path):
    from relayer.config import DEFAULT_INCLUSION_MARGIN_S

    assert load_text(tmp_path, GOOD).relayer.inclusion_margin_s == DEFAULT_INCLUSION_MARGIN_S == 120
    assert load_text(tmp_path, GOOD.replace("quorum = 2", "quorum = 2\ninclusion_margin_s = 0")).relayer.inclusion_margin_s == 0
    assert load_text(tmp_path, GOOD, env={"RELAYER_INCLUSION_MARGIN_S": "900"}).relayer.inclusion_margin_s == 900
    bad(tmp_path, GOOD.replace("quorum = 2", "quorum = 2\ninclusion_margin_s = -1"), "relayer.inclusion_margin_s",
        "greater than or equal to 0")
    bad(tmp_path, GOOD, "relayer.inclusion_margin_s", "RELAYER_INCLUSION_MARGIN_S",
        env={"RELAYER_INCLUSION_MARGIN_S": "soon"})


def test_relative_sqlite_database_is_beside_the_config_file_not_the_cwd(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_text(tmp_path, GOOD)
    assert cfg.relayer.database_url == f"sqlite:///{tmp_path.resolve() / 'relayer.db'}"
    cfg = load_text(tmp_path, GOOD.replace("sqlite:///relayer.db", "sqlite:///state/r.db?timeout=5"))
    assert cfg.relayer.database_url == f"sqlite:///{tmp_path.resolve() / 'state' / 'r.db'}?timeout=5"
    # absolute paths, in-memory databases and PostgreSQL are left as they are
    for url in (f"sqlite:///{tmp_path / 'abs.db'}", "sqlite:///:memory:", "postgresql://db.example/relayer"):
        assert load_text(tmp_path, GOOD.replace("sqlite:///relayer.db", url)).relayer.database_url == url
    # given by a variable, a relative path is relative to the working directory, like any CLI path
    cfg = load_text(tmp_path, GOOD, env={"RELAYER_DATABASE_URL": "sqlite:///from-env.db"})
    assert cfg.relayer.database_url == f"sqlite:///{elsewhere.resolve() / 'from-env.db'}"


def test_override_into_a_gas_value_that_is_not_a_table(tmp_path):
    text = GOOD.replace("[chains.gas]\nmax_fee_gwei = 50\npriority_fee_gwei = 1.5\n", "").replace(
        "confirmations = 2", 'confirmations = 2\ngas = "fast"')
    assert 'gas = "fast"' in text and "[chains.gas]" not in text
    bad(tmp_path, text, "chains[0].gas", "must be a table", "RELAYER_CHAINS__ALPHA__GAS__MAX_FEE_GWEI",
        env={"RELAYER_CHAINS__ALPHA__GAS__MAX_FEE_GWEI": "5"})


def test_rpc_quorum_default_all_endpoints_and_bounds(tmp_path):
    cfg = load_text(tmp_path, GOOD)
    # unset: every configured endpoint must answer (the behaviour before the key existed)
    assert cfg.chain("alpha").rpc_quorum is None and cfg.chain("alpha").rpc_answers_needed == 2
    assert cfg.chain("beta").rpc_answers_needed == 1
    one = GOOD.replace("confirmations = 2", "confirmations = 2\nrpc_quorum = 1")
    assert load_text(tmp_path, one).chain("alpha").rpc_answers_needed == 1
    assert load_text(tmp_path, GOOD, env={"RELAYER_CHAINS__ALPHA__RPC_QUORUM": "1"}).chain("alpha").rpc_quorum == 1
    bad(tmp_path, GOOD.replace("confirmations = 2", "confirmations = 2\nrpc_quorum = 3"), "chains[0]", "rpc_quorum = 3",
        "rpc lists 2 endpoint(s)", "at most 2")
    bad(tmp_path, GOOD.replace("confirmations = 2", "confirmations = 2\nrpc_quorum = 0"), "chains[0].rpc_quorum",
        "greater than or equal to 1")
    bad(tmp_path, GOOD.replace("confirmations = 2", "confirmations = 2\nrpc_quorum = 1.5"), "chains[0].rpc_quorum",
        "whole number")
    bad(tmp_path, GOOD, "chains[0].rpc_quorum", "RELAYER_CHAINS__ALPHA__RPC_QUORUM",
        env={"RELAYER_CHAINS__ALPHA__RPC_QUORUM": "some"})
    bad(tmp_path, GOOD, "rpc_quorum = 5", env={"RELAYER_CHAINS__ALPHA__RPC_QUORUM": "5"})
    # a flag that shortens rpc below the file's rpc_quorum is refused, not silently lowered
    bad(tmp_path, one.replace("rpc_quorum = 1", "rpc_quorum = 2"), "rpc_quorum = 2", "rpc lists 1 endpoint(s)",
        overrides={"chains.alpha.rpc": ["http://flag.example"]})
