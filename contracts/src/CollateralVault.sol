// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "./IERC20.sol";

/// @notice The venue's multi-asset collateral vault on one chain. Deposits are credited to an
/// account, withdrawals debit the caller; `holdings(token)` is the chain's collateral in `token`.
///
/// Storage layout (the watcher proves `totalHeld[token]` with eth_getProof, so it is pinned):
///   slot 0: mapping(address token => uint256) totalHeld
///           -> totalHeld[token] lives at keccak256(abi.encode(token, uint256(0)))
///   slot 1: mapping(address account => mapping(address token => uint256)) _balances
///   slot 2: mapping(address token => bool) isAsset
///   slot 3: address[] _assets
///   slot 4: uint256 _lock (reentrancy guard)
/// `owner` is immutable (in the code, not in storage). tests/test_contracts_vault.py checks
/// the slot-0 formula against eth_getStorageAt and eth_getProof.
contract CollateralVault {
    /// Sum over accounts of the balances of `token` (equal to what the vault holds of it, since
    /// only deposit/withdraw move tokens). MUST stay the first state variable (slot 0).
    mapping(address => uint256) public totalHeld;
    mapping(address => mapping(address => uint256)) private _balances;
    mapping(address => bool) public isAsset;
    address[] private _assets;
    uint256 private _lock = 1;

    address public immutable owner;

    /// Upper bound on listed assets, so `assets()` and watchers stay bounded.
    uint256 public constant MAX_ASSETS = 64;

    event AssetAdded(address indexed token);
    event Deposited(address indexed token, address indexed from, address indexed account, uint256 amount);
    event Withdrawn(address indexed token, address indexed account, address indexed to, uint256 amount);

    error NotOwner(address caller);
    error ZeroAddress();
    error UnknownAsset(address token);
    error AssetAlreadyListed(address token);
    error TooManyAssets(uint256 max);
    error ZeroAmount();
    error InsufficientBalance(address account, address token, uint256 balance, uint256 needed);
    error TransferFailed(address token);
    error Reentrancy();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier nonReentrant() {
        if (_lock != 1) revert Reentrancy();
        _lock = 2;
        _;
        _lock = 1;
    }

    constructor(address owner_) {
        if (owner_ == address(0)) revert ZeroAddress();
        owner = owner_;
    }

    function addAsset(address token) external onlyOwner {
        if (token == address(0)) revert ZeroAddress();
        if (isAsset[token]) revert AssetAlreadyListed(token);
        if (_assets.length >= MAX_ASSETS) revert TooManyAssets(MAX_ASSETS);
        isAsset[token] = true;
        _assets.push(token);
        emit AssetAdded(token);
    }

    /// @notice Pull `amount` of `token` from the caller and credit it to `account`.
    /// Credits what actually arrived, so a fee-on-transfer token cannot inflate holdings.
    function deposit(address token, uint256 amount, address account) external nonReentrant {
        if (!isAsset[token]) revert UnknownAsset(token);
        if (amount == 0) revert ZeroAmount();
        if (account == address(0)) revert ZeroAddress();
        uint256 before = IERC20(token).balanceOf(address(this));
        _call(token, abi.encodeCall(IERC20.transferFrom, (msg.sender, address(this), amount)));
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        _balances[account][token] += received;
        totalHeld[token] += received;
        emit Deposited(token, msg.sender, account, received);
    }

    /// @notice Debit `amount` of `token` from the caller's balance and send it to `to`.
    function withdraw(address token, uint256 amount, address to) external nonReentrant {
        if (!isAsset[token]) revert UnknownAsset(token);
        if (amount == 0) revert ZeroAmount();
        if (to == address(0)) revert ZeroAddress();
        uint256 bal = _balances[msg.sender][token];
        if (bal < amount) revert InsufficientBalance(msg.sender, token, bal, amount);
        // effects before the external call
        unchecked {
            _balances[msg.sender][token] = bal - amount;
            totalHeld[token] -= amount;
        }
        _call(token, abi.encodeCall(IERC20.transfer, (to, amount)));
        emit Withdrawn(token, msg.sender, to, amount);
    }

    function balanceOf(address account, address token) external view returns (uint256) {
        return _balances[account][token];
    }

    /// @notice Total the vault holds of `token` for its accounts (same value as `totalHeld`).
    function holdings(address token) external view returns (uint256) {
        if (!isAsset[token]) revert UnknownAsset(token);
        return totalHeld[token];
    }

    function assets() external view returns (address[] memory) {
        return _assets;
    }

    /// Calls an ERC-20 that may return nothing (older tokens) or a bool.
    function _call(address token, bytes memory data) private {
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool))) || token.code.length == 0) {
            revert TransferFailed(token);
        }
    }
}
