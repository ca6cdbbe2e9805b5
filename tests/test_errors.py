"""The exception tree's exit codes: every RelayerError class anywhere in the package has a code listed
in relayer.errors.EXIT_CODES, each code belongs to one branch, and the CLI exits with it."""

from __future__ import annotations

import importlib
import pkgutil

import click
import pytest

import relayer
from relayer.errors import EXIT_CODES, ConfigError, RelayerError


def _all_relayer_errors() -> list[type[RelayerError]]:
    """RelayerError and every subclass defined in the package (all modules imported first, so a
    branch declared next to its code, e.g. relayer.risk.market.RiskModelError, is seen)."""
    for mod in pkgutil.walk_packages(relayer.__path__, "relayer."):
        importlib.import_module(mod.name)
    found: list[type[RelayerError]] = [RelayerError]
    todo = [RelayerError]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found and sub.__module__.startswith("relayer."):
                found.append(sub)
                todo.append(sub)
    return found


def _table_name(cls: type) -> str:
    return cls.__name__ if cls.__module__ == "relayer.errors" else f"{cls.__module__}.{cls.__name__}"


def exit_code_problems(classes: list[type[RelayerError]], table: dict[int, tuple[str, str]]) -> list[str]:
    """What is wrong with the exit codes of `classes` against `table` (empty list: nothing)."""
    problems = []
    owners: dict[int, list[str]] = {}
    for cls in classes:
        code = cls.exit_code
        if not isinstance(code, int) or isinstance(code, bool):
            problems.append(f"{_table_name(cls)}: exit_code {code!r} is not an int")
            continue
        if code not in table:
            problems.append(f"{_table_name(cls)}: exit code {code} is missing from EXIT_CODES")
        if not 1 <= code <= 125:  # 0 is success; 126+ are the shell's (130 = interrupted)
            problems.append(f"{_table_name(cls)}: exit code {code} is outside 1..125")
        if "exit_code" in vars(cls):  # this class opens a branch: the code must be its own
            owners.setdefault(code, []).append(_table_name(cls))
    for code, names in sorted(owners.items()):
        if len(names) > 1:
            problems.append(f"exit code {code} is set by {len(names)} branches: {', '.join(names)}")
        elif code in table and table[code][0] != names[0]:
            problems.append(f"EXIT_CODES[{code}] names {table[code][0]}, but {names[0]} sets it")
    for code, (name, _) in sorted(table.items()):
        if code not in owners:
            problems.append(f"EXIT_CODES[{code}] ({name}) is set by no exception class")
    return problems


def test_every_exception_class_has_a_listed_and_unique_exit_code() -> None:
    classes = _all_relayer_errors()
    # the tree really is walked: branches outside relayer.errors are among them
    names = {_table_name(c) for c in classes}
    assert {"relayer.risk.market.RiskModelError", "relayer.risk.ledger.LedgerError", "VerificationError"} <= names
    assert exit_code_problems(classes, EXIT_CODES) == []
    from relayer.risk.market import RiskModelError

    assert RiskModelError.exit_code == 11 and EXIT_CODES[11][0] == "relayer.risk.market.RiskModelError"


def test_exit_code_check_rejects_unlisted_shared_and_stale_codes() -> None:
    # classes made here are handed to the checker directly (never registered in the package's tree)
    class Unlisted(RelayerError):
        exit_code = 42

    class Clash(RelayerError):  # another branch taking ConfigError's code
        exit_code = 2

    class Reserved(RelayerError):
        exit_code = 130

    class Inherits(ConfigError):  # a subclass sharing its branch's code is fine
        pass

    base = [RelayerError, ConfigError, Inherits]
    table = {1: EXIT_CODES[1], 2: EXIT_CODES[2]}
    assert exit_code_problems(base, table) == []
    assert exit_code_problems([*base, Unlisted], table) == [
        f"{__name__}.Unlisted: exit code 42 is missing from EXIT_CODES"]
    assert exit_code_problems([*base, Clash], table) == [
        f"exit code 2 is set by 2 branches: ConfigError, {__name__}.Clash"]
    assert f"{__name__}.Reserved: exit code 130 is outside 1..125" in exit_code_problems([*base, Reserved], table)
    assert exit_code_problems(base, {**table, 11: ("Gone", "a row whose class was removed")}) == [
        "EXIT_CODES[11] (Gone) is set by no exception class"]
    assert exit_code_problems(base, {1: EXIT_CODES[1], 2: ("ToolError", "wrong owner")}) == [
        "EXIT_CODES[2] names ToolError, but ConfigError sets it"]


def test_cli_exits_with_the_risk_model_code(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import relayer.cli.main as main_mod
    from relayer.risk.market import RiskModelError

    @click.command()
    def boom() -> None:
        raise RiskModelError("spot is not finite (nan); check the oracle")

    monkeypatch.setattr(main_mod, "cli", boom)
    monkeypatch.setattr("sys.argv", ["relayer"])
    with pytest.raises(SystemExit) as exc:
        main_mod.main()
    assert exc.value.code == 11
    assert "spot is not finite" in capsys.readouterr().err
