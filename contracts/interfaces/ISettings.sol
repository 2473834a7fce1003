// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title The administration values every purchase reads: pause flag, gateway, delivery window
/// @notice Same events and errors as OpenZeppelin's Pausable, so clients see no difference.
interface ISettings {
    /// @notice The operation is stopped while paused.
    error EnforcedPause();
    /// @notice Unpausing needs a paused contract.
    error ExpectedPause();

    event Paused(address account);
    event Unpaused(address account);

    /// @notice Whether new consent requests and purchases are stopped.
    function paused() external view returns (bool);
}
