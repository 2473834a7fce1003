// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IPulseLedger} from "./interfaces/IPulseLedger.sol";
import {AccessLog} from "./AccessLog.sol";

/// @title PulseLedger: the one deployment of consent, pricing, escrow, access log and record registry
/// @notice See docs/decisions/2026-11-24-contracts.md for why the modules share one deployment, and
/// docs/upgrades.md for how a new version replaces this one (no proxy).
contract PulseLedger is IPulseLedger, Ownable2Step, AccessLog {
    /// @notice The longest delivery window: a buyer's payment is never held undelivered longer.
    uint40 public constant MAX_DELIVERY_WINDOW = 7 days;

    /// @param initialGateway The data gateway that confirms deliveries.
    /// @param initialDeliveryWindow Seconds the gateway has, from payment, to confirm delivery.
    constructor(address initialGateway, uint40 initialDeliveryWindow) Ownable(msg.sender) EIP712("PulseLedger", "1") {
        _setGateway(initialGateway);
        _setDeliveryWindow(initialDeliveryWindow);
    }

    /// @inheritdoc IPulseLedger
    function setGateway(address newGateway) external onlyOwner {
        _setGateway(newGateway);
    }

    /// @inheritdoc IPulseLedger
    function setDeliveryWindow(uint40 newDeliveryWindow) external onlyOwner {
        _setDeliveryWindow(newDeliveryWindow);
    }

    /// @inheritdoc IPulseLedger
    function pause() external onlyOwner {
        _pause();
    }

    /// @inheritdoc IPulseLedger
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice Disabled (`PulseLedgerRenounceDisabled`): an owner is needed to unpause and to rotate the
    /// gateway. `transferOwnership` hands administration over.
    function renounceOwnership() public view override onlyOwner {
        revert PulseLedgerRenounceDisabled();
    }

    /// @dev Storage operators are registered by the owner.
    function _checkCustodianRegistrar() internal view override {
        _checkOwner();
    }

    function _setGateway(address newGateway) private {
        if (newGateway == address(0)) revert PulseLedgerInvalidGateway(newGateway);
        address previous = _storeGateway(newGateway);
        emit GatewayChanged(previous, newGateway);
    }

    function _setDeliveryWindow(uint40 newDeliveryWindow) private {
        if (newDeliveryWindow == 0 || newDeliveryWindow > MAX_DELIVERY_WINDOW) {
            revert PulseLedgerInvalidDeliveryWindow(newDeliveryWindow);
        }
        uint40 previous = _storeDeliveryWindow(newDeliveryWindow);
        emit DeliveryWindowChanged(previous, newDeliveryWindow);
    }
}
