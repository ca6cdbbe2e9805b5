// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ISolvencySubscriber} from "../src/SolvencyTypes.sol";

/// @notice TEST ONLY subscriber doubles for SolvencyFeed tests.

interface IFeedSubscribe {
    function subscribe(address subscriber) external;
}

/// Records every callback it receives.
contract RecordingSubscriber is ISolvencySubscriber {
    uint256 public calls;
    uint64 public lastRound;
    bool public lastSolvent;
    uint256 public lastRatioE8;
    address public lastCaller;

    function onSolvencyUpdate(uint64 round, bool solvent, uint256 ratioE8) external override {
        calls += 1;
        lastRound = round;
        lastSolvent = solvent;
        lastRatioE8 = ratioE8;
        lastCaller = msg.sender;
    }

    function subscribeTo(address feed) external {
        IFeedSubscribe(feed).subscribe(address(this));
    }
}

/// Always reverts.
contract RevertingSubscriber is ISolvencySubscriber {
    error Nope();

    function onSolvencyUpdate(uint64, bool, uint256) external pure override {
        revert Nope();
    }
}

/// Burns all the gas it is given (writes storage in an endless loop).
contract GasBurningSubscriber is ISolvencySubscriber {
    uint256 public sink;

    function onSolvencyUpdate(uint64, bool, uint256) external override {
        uint256 i;
        while (true) {
            sink = i++;
        }
    }
}

/// Returns a huge returndata blob (a "returndata bomb"); the feed must not copy it.
contract ReturnBombSubscriber {
    fallback() external {
        assembly {
            revert(0, 150000)
        }
    }
}

interface IFeedUnsubscribe {
    function unsubscribe(address subscriber) external;
}

/// Unsubscribes itself from inside the callback (the feed's list shrinks while it is walked).
contract SelfUnsubscribingSubscriber is ISolvencySubscriber {
    uint256 public calls;

    function onSolvencyUpdate(uint64, bool, uint256) external override {
        calls += 1;
        IFeedUnsubscribe(msg.sender).unsubscribe(address(this));
    }
}
