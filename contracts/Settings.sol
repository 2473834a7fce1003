// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ISettings} from "./interfaces/ISettings.sol";

/// @title Pause flag, gateway and delivery window in one storage slot (base of every module)
/// @dev A purchase reads all three: keeping them in one slot (160 + 40 + 8 bits) costs one cold read
/// instead of two, which keeps purchase under its 60k gas target now that it also reads the pair's
/// revocation count. Replaces OpenZeppelin's Pausable (its flag sat in a slot of its own).
abstract contract Settings is ISettings {
    address private _gateway;
    uint40 private _deliveryWindow;
    bool private _paused;

    modifier whenNotPaused() {
        if (_paused) revert EnforcedPause();
        _;
    }

    /// @inheritdoc ISettings
    function paused() public view returns (bool) {
        return _paused;
    }

    function _pause() internal {
        if (_paused) revert EnforcedPause();
        _paused = true;
        emit Paused(msg.sender);
    }

    function _unpause() internal {
        if (!_paused) revert ExpectedPause();
        _paused = false;
        emit Unpaused(msg.sender);
    }

    function _gatewayAddress() internal view returns (address) {
        return _gateway;
    }

    function _deliveryWindowSeconds() internal view returns (uint40) {
        return _deliveryWindow;
    }

    /// @dev Administration validates and emits; this only keeps the value.
    function _storeGateway(address newGateway) internal returns (address previous) {
        previous = _gateway;
        _gateway = newGateway;
    }

    function _storeDeliveryWindow(uint40 newDeliveryWindow) internal returns (uint40 previous) {
        previous = _deliveryWindow;
        _deliveryWindow = newDeliveryWindow;
    }
}
