// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AggregatorV3Interface} from "./AggregatorV3Interface.sol";
import {ISolvencySubscriber} from "./SolvencyTypes.sol";

/// @notice Example consumer of SolvencyFeed: the guard a lending market puts in front of actions
/// that accept the venue's LP token as collateral. It refuses when the feed's answer is stale,
/// incomplete or insolvent, and pauses itself as soon as the feed calls back with an insolvent
/// round (it subscribes to the feed), resuming on the next solvent one.
contract LendingGuard is ISolvencySubscriber {
    uint256 public constant ONE = 1e8; // ratio 1.0 with the feed's 8 decimals

    AggregatorV3Interface public immutable feed;
    address public immutable owner;
    uint256 public maxAge;

    bool public paused;
    uint64 public lastCallbackRound;
    uint256 public lastRatioE8;
    mapping(address => uint256) public borrowed;
    uint256 public totalBorrowed;

    event Borrowed(address indexed account, uint256 amount, uint80 round, int256 ratioE8);
    event Paused(uint64 indexed round, uint256 ratioE8);
    event Unpaused(uint64 indexed round, uint256 ratioE8);
    event MaxAgeSet(uint256 maxAge);

    error NotOwner(address caller);
    error NotFeed(address caller);
    error ZeroAmount();
    error GuardPaused();
    error FeedIncomplete(uint80 roundId, uint80 answeredInRound, uint256 updatedAt);
    error FeedStale(uint256 age, uint256 maxAge);
    error FeedInsolvent(int256 ratioE8);

    constructor(address feed_, uint256 maxAge_) {
        feed = AggregatorV3Interface(feed_);
        owner = msg.sender;
        maxAge = maxAge_;
    }

    function setMaxAge(uint256 maxAge_) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        maxAge = maxAge_;
        emit MaxAgeSet(maxAge_);
    }

    /// @notice The checks a careful consumer makes on every read; returns the round and ratio.
    function checkFeed() public view returns (uint80 roundId, int256 ratioE8) {
        (uint80 id, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound) = feed.latestRoundData();
        if (updatedAt == 0 || answeredInRound < id) revert FeedIncomplete(id, answeredInRound, updatedAt);
        // age of the data itself (the attestation time); a timestamp ahead of us is age 0
        uint256 age = block.timestamp > startedAt ? block.timestamp - startedAt : 0;
        if (age > maxAge) revert FeedStale(age, maxAge);
        if (answer < int256(ONE)) revert FeedInsolvent(answer);
        return (id, answer);
    }

    /// @notice The guarded action (stands for a lending market's borrow against the LP token).
    function borrow(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (paused) revert GuardPaused();
        (uint80 id, int256 ratio) = checkFeed();
        borrowed[msg.sender] += amount;
        totalBorrowed += amount;
        emit Borrowed(msg.sender, amount, id, ratio);
    }

    /// @notice Feed callback: pause on an insolvent round, unpause on a solvent one.
    function onSolvencyUpdate(uint64 round, bool solvent, uint256 ratioE8) external override {
        if (msg.sender != address(feed)) revert NotFeed(msg.sender);
        if (round <= lastCallbackRound) return; // rounds only move forward; ignore anything else
        lastCallbackRound = round;
        lastRatioE8 = ratioE8;
        if (!solvent && !paused) {
            paused = true;
            emit Paused(round, ratioE8);
        } else if (solvent && paused) {
            paused = false;
            emit Unpaused(round, ratioE8);
        }
    }

    /// @notice Register this guard as a subscriber of its feed (the feed lets a contract subscribe itself).
    function subscribeToFeed() external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        IFeedSubscriptions(address(feed)).subscribe(address(this));
    }
}

interface IFeedSubscriptions {
    function subscribe(address subscriber) external;
}
