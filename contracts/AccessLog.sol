// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Request, ConsentStatus} from "./interfaces/IConsentRegistry.sol";
import {Purchase, PurchaseStatus} from "./interfaces/IPurchaseEscrow.sol";
import {Record, RecordStatus} from "./interfaces/IRecordRegistry.sol";
import {IAccessLog} from "./interfaces/IAccessLog.sol";
import {PurchaseEscrow} from "./PurchaseEscrow.sol";
import {RecordRegistry} from "./RecordRegistry.sol";

/// @title Access log (module of PulseLedger)
/// @dev Reads four slots (request ×2, purchase, record) and emits; writes nothing, so a log costs
/// about the transaction base plus four cold reads and one LOG4.
abstract contract AccessLog is IAccessLog, PurchaseEscrow, RecordRegistry {
    /// @inheritdoc IAccessLog
    function logAccess(bytes32 recordId, uint256 purchaseId) external {
        uint256 requestId = purchaseId >> 8;
        Request storage request = _requestAt(requestId);
        if (request.requester != msg.sender) revert AccessLogNotBuyer(purchaseId, msg.sender);
        PurchaseStatus paid = _purchaseAt(purchaseId).status;
        if (paid != PurchaseStatus.Paid && paid != PurchaseStatus.Delivered) {
            revert AccessLogNotPaid(purchaseId, paid);
        }
        ConsentStatus consent = request.status;
        if (consent != ConsentStatus.Approved) revert AccessLogConsentNotApproved(requestId, consent);
        if (!_inPeriod(request)) revert AccessLogOutsideConsentPeriod(requestId, request.validFrom, request.validUntil);

        Record storage record = _recordAt(recordId);
        RecordStatus recordStatus = record.status;
        if (recordStatus != RecordStatus.Active) revert AccessLogRecordNotActive(recordId, recordStatus);
        address patient = request.patient;
        if (record.patient != patient) revert AccessLogWrongPatient(recordId, patient, record.patient);
        // The low byte of a purchase id is its data class.
        uint8 dataClass = uint8(purchaseId);
        if (record.dataClass != dataClass) revert AccessLogWrongDataClass(recordId, dataClass, record.dataClass);

        emit AccessLogged(msg.sender, patient, recordId, purchaseId);
    }
}
