// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ConsentStatus} from "./IConsentRegistry.sol";
import {PurchaseStatus} from "./IPurchaseEscrow.sol";
import {RecordStatus} from "./IRecordRegistry.sol";

/// @title On-chain log of every read of a registered record by a buyer
/// @notice `logAccess` checks live consent and payment, then only emits: the patient enumerates their
/// access history from `AccessLogged` events.
interface IAccessLog {
    /// @notice Only the purchase's buyer logs access under it.
    error AccessLogNotBuyer(uint256 purchaseId, address caller);
    /// @notice The purchase is neither Paid nor Delivered (unknown or refunded).
    error AccessLogNotPaid(uint256 purchaseId, PurchaseStatus status);
    /// @notice The consent is no longer Approved (revoked).
    error AccessLogConsentNotApproved(uint256 requestId, ConsentStatus status);
    /// @notice Now is outside the consent's `[validFrom, validUntil)`.
    error AccessLogOutsideConsentPeriod(uint256 requestId, uint40 validFrom, uint40 validUntil);
    /// @notice The record is unknown or retired.
    error AccessLogRecordNotActive(bytes32 recordId, RecordStatus status);
    /// @notice The record belongs to another patient than the purchase's.
    error AccessLogWrongPatient(bytes32 recordId, address expected, address actual);
    /// @notice The record's data class is not the one purchased.
    error AccessLogWrongDataClass(bytes32 recordId, uint8 expected, uint8 actual);

    event AccessLogged(address indexed accessor, address indexed patient, bytes32 indexed recordId, uint256 purchaseId);

    /// @notice Log a read of `recordId` by the caller under `purchaseId`. Changes no state.
    function logAccess(bytes32 recordId, uint256 purchaseId) external;
}
