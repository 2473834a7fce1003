// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Request, ConsentStatus} from "./interfaces/IConsentRegistry.sol";
import {Purchase, PurchaseStatus} from "./interfaces/IPurchaseEscrow.sol";
import {Record, RecordStatus} from "./interfaces/IRecordRegistry.sol";
import {IAccessLog} from "./interfaces/IAccessLog.sol";
import {PurchaseEscrow} from "./PurchaseEscrow.sol";
import {RecordRegistry} from "./RecordRegistry.sol";

/// @title Access log (module of PulseLedger)
/// @dev Reads three slots (the purchase with its buyer, the request's first slot, the record's first
/// slot) and emits; writes nothing.
abstract contract AccessLog is IAccessLog, PurchaseEscrow, RecordRegistry {
    /// @inheritdoc IAccessLog
    function logAccess(bytes32 recordId, uint256 purchaseId) external {
        Purchase storage paid = _purchaseAt(purchaseId);
        if (paid.buyer != msg.sender) revert AccessLogNotBuyer(purchaseId, msg.sender);
        PurchaseStatus status = paid.status;
        if (status != PurchaseStatus.Paid && status != PurchaseStatus.Delivered) {
            revert AccessLogNotPaid(purchaseId, status);
        }
        uint256 requestId = purchaseId >> 8;
        Request storage request = _requestAt(requestId);
        // The buyer is the request's requester (purchase checked it): the second slot is not read.
        address patient = request.patient;
        ConsentStatus consent = request.status;
        if (consent != ConsentStatus.Approved) revert AccessLogConsentNotApproved(requestId, consent);
        if (!_inPeriod(request)) revert AccessLogOutsideConsentPeriod(requestId, request.validFrom, request.validUntil);

        Record storage record = _recordAt(recordId);
        RecordStatus recordStatus = record.status;
        if (recordStatus != RecordStatus.Active) revert AccessLogRecordNotActive(recordId, recordStatus);
        if (record.patient != patient) revert AccessLogWrongPatient(recordId, patient, record.patient);
        // The low byte of a purchase id is its data class.
        uint8 dataClass = uint8(purchaseId);
        if (record.dataClass != dataClass) revert AccessLogWrongDataClass(recordId, dataClass, record.dataClass);

        emit AccessLogged(msg.sender, patient, recordId, purchaseId);
    }
}
