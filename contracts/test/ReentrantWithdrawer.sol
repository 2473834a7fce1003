// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IPurchaseEscrow} from "../interfaces/IPurchaseEscrow.sol";
import {ContractActor} from "./ContractActor.sol";

/// @title An account with a credit whose receive() calls withdraw again
/// @dev Tests only. With `bubble` it propagates the re-entered call's failure (so the outer withdraw must
/// revert and keep the credit); without, it swallows it (so the outer withdraw pays exactly once).
contract ReentrantWithdrawer is ContractActor {
    bool public bubble;
    uint256 public reentryAttempts;
    bool public reentrySucceeded;
    bytes public reentryRevertData;

    function setBubble(bool newBubble) external {
        bubble = newBubble;
    }

    receive() external payable {
        if (reentryAttempts != 0) return;
        reentryAttempts = 1;
        (bool ok, bytes memory data) = msg.sender.call(abi.encodeCall(IPurchaseEscrow.withdraw, ()));
        reentrySucceeded = ok;
        reentryRevertData = data;
        if (!ok && bubble) {
            assembly ("memory-safe") {
                revert(add(data, 0x20), mload(data))
            }
        }
    }
}
