// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IConsentRegistry} from "./IConsentRegistry.sol";
import {IPriceBook} from "./IPriceBook.sol";
import {IPurchaseEscrow} from "./IPurchaseEscrow.sol";
import {IAccessLog} from "./IAccessLog.sol";
import {IRecordRegistry} from "./IRecordRegistry.sol";

/// @title PulseLedger: consent, pricing, escrow, access log and record registry in one deployment
/// @notice Administration on top of the modules: the deployer owns (two-step transfer, OpenZeppelin
/// `Ownable2Step`), sets and rotates the gateway, and may pause new requests and purchases. Pausing never
/// stops withdrawals, reclaims, revocations or access logging. No proxy: a new version is a new deployment.
interface IPulseLedger is IAccessLog, IPurchaseEscrow, IConsentRegistry, IPriceBook, IRecordRegistry {
    /// @notice The gateway cannot be the zero address.
    error PulseLedgerInvalidGateway(address gateway);
    /// @notice The delivery window must be at least one second and at most `MAX_DELIVERY_WINDOW` (7 days).
    error PulseLedgerInvalidDeliveryWindow(uint40 deliveryWindow);
    /// @notice Ownership cannot be renounced: without an owner a paused deployment stays paused for ever and
    /// the gateway can never be rotated (a lost gateway key would refund every purchase, a leaked one would
    /// confirm deliveries it never made). Transfer it instead.
    error PulseLedgerRenounceDisabled();

    event GatewayChanged(address indexed previous, address indexed current);
    event DeliveryWindowChanged(uint40 previous, uint40 current);

    /// @notice Owner: set or rotate the data gateway's address.
    function setGateway(address newGateway) external;

    /// @notice Owner: set the delivery window (seconds, 1 to 7 days) for purchases made from now on.
    function setDeliveryWindow(uint40 newDeliveryWindow) external;

    /// @notice Owner: stop new consent requests and purchases.
    function pause() external;

    /// @notice Owner: resume.
    function unpause() external;
}
