// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice TEST ONLY token doubles for CollateralVault tests.

interface IVaultEntry {
    function deposit(address token, uint256 amount, address account) external;
    function withdraw(address token, uint256 amount, address to) external;
}

/// A hostile ERC-20 (or one with transfer hooks, ERC-777 style): once armed, its next
/// transfer/transferFrom calls back into the vault's deposit or withdraw, as the token itself,
/// after moving the balances of the outer transfer. What the re-entrant call answered is recorded
/// (success flag and return/revert data). In `bubble` mode a failed re-entry makes the transfer
/// revert with that data; otherwise the outer transfer completes, so a test sees what the vault
/// credited for it.
///
/// Without a guard, re-entering deposit from inside deposit's transferFrom double-credits: the
/// outer deposit measures the vault's balance before and after the call, and the inner deposit's
/// tokens arrive in between.
contract ReentrantToken {
    enum Attack {
        None,
        Deposit,
        Withdraw
    }

    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    address public vault;
    Attack public attack;
    uint256 public attackAmount;
    bool public bubble;
    bool public attacked;
    bool public reentryOk;
    bytes public reentryData;

    error InsufficientBalance(address from, uint256 balance, uint256 needed);
    error InsufficientAllowance(address spender, uint256 allowance, uint256 needed);

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// Re-enter `vault` with `attack_` (amount `amount`, for/to this token's own vault account)
    /// on the next transfer; the token lets the vault pull its own balance for a re-entrant deposit.
    function arm(address vault_, Attack attack_, uint256 amount, bool bubble_) external {
        vault = vault_;
        attack = attack_;
        attackAmount = amount;
        bubble = bubble_;
        attacked = false;
        reentryOk = false;
        delete reentryData;
        allowance[address(this)][vault_] = type(uint256).max;
    }

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        _reenter();
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed < value) revert InsufficientAllowance(msg.sender, allowed, value);
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - value;
        _move(from, to, value);
        _reenter();
        return true;
    }

    function _move(address from, address to, uint256 value) internal {
        uint256 bal = balanceOf[from];
        if (bal < value) revert InsufficientBalance(from, bal, value);
        balanceOf[from] = bal - value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }

    function _reenter() internal {
        // once per arming: the re-entrant call's own transfer must not re-enter again
        if (attack == Attack.None || attacked) return;
        attacked = true;
        bytes memory data = attack == Attack.Deposit
            ? abi.encodeCall(IVaultEntry.deposit, (address(this), attackAmount, address(this)))
            : abi.encodeCall(IVaultEntry.withdraw, (address(this), attackAmount, address(this)));
        (bool ok, bytes memory ret) = vault.call(data);
        reentryOk = ok;
        reentryData = ret;
        if (!ok && bubble) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}
