// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {
    IConsentRegistry,
    Request,
    ConsentStatus,
    ConsentDecision,
    DATA_CLASS_COUNT
} from "./interfaces/IConsentRegistry.sol";

/// @title Consent between patients and requesters (module of PulseLedger)
/// @dev Approve and revoke are O(1) whatever the patient's number of grants: each flips one status, and
/// approve at most re-points `_governingRequest` for its own pair. The governing entry is first written
/// by `requestConsent`, so the requester (not the patient) pays for the zero-to-non-zero store.
abstract contract ConsentRegistry is IConsentRegistry, EIP712, Pausable {
    bytes32 private constant _CONSENT_DECISION_TYPEHASH =
        keccak256("ConsentDecision(uint256 requestId,uint8 decision,uint256 nonce,uint256 deadline)");
    /// @dev Every defined data-class bit set (0b111).
    uint8 private constant _ALL_DATA_CLASSES = uint8((1 << DATA_CLASS_COUNT) - 1);

    uint256 private _requestCount;
    mapping(uint256 requestId => Request) private _requests;
    mapping(address patient => mapping(address requester => uint256 requestId)) private _governingRequest;
    /// @dev In a slot of its own (not beside credits), so withdrawing zeroes a whole slot.
    mapping(address patient => uint256 nonce) private _nonces;

    /// @inheritdoc IConsentRegistry
    function requestConsent(
        address patient,
        bytes32 purposeOfUse,
        uint8 dataClasses,
        uint40 validFrom,
        uint40 validUntil,
        bytes32 consentDocHash
    ) external whenNotPaused returns (uint256 requestId) {
        if (patient == address(0) || patient == msg.sender) revert ConsentRegistryInvalidPatient(patient);
        if (dataClasses == 0 || dataClasses & ~_ALL_DATA_CLASSES != 0) {
            revert ConsentRegistryInvalidDataClasses(dataClasses);
        }
        if (validUntil <= validFrom || validUntil <= block.timestamp) {
            revert ConsentRegistryInvalidPeriod(validFrom, validUntil);
        }

        // One id per transaction: the counter cannot come near 2^256.
        unchecked {
            requestId = ++_requestCount;
        }
        _requests[requestId] = Request({
            patient: patient,
            status: ConsentStatus.Pending,
            dataClasses: dataClasses,
            validFrom: validFrom,
            validUntil: validUntil,
            requester: msg.sender
        });
        uint256 governing = _governingRequest[patient][msg.sender];
        if (governing == 0 || !_isLive(_requests[governing])) {
            _governingRequest[patient][msg.sender] = requestId;
        }
        emit ConsentRequested(
            requestId, patient, msg.sender, purposeOfUse, dataClasses, validFrom, validUntil, consentDocHash
        );
    }

    /// @inheritdoc IConsentRegistry
    function approve(uint256 requestId) external {
        Request storage request = _requests[requestId];
        _checkPatient(requestId, request.patient);
        _approve(requestId, request);
    }

    /// @inheritdoc IConsentRegistry
    function deny(uint256 requestId) external {
        Request storage request = _requests[requestId];
        _checkPatient(requestId, request.patient);
        _deny(requestId, request);
    }

    /// @inheritdoc IConsentRegistry
    function revoke(uint256 requestId) external {
        Request storage request = _requests[requestId];
        _checkPatient(requestId, request.patient);
        _revoke(requestId, request);
    }

    /// @inheritdoc IConsentRegistry
    function decideBySig(uint256 requestId, uint8 decision, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert ConsentRegistrySignatureExpired(deadline, block.timestamp);
        if (decision == uint8(ConsentDecision.None) || decision > uint8(ConsentDecision.Revoke)) {
            revert ConsentRegistryInvalidDecision(decision);
        }
        Request storage request = _requests[requestId];
        address patient = request.patient;
        if (patient == address(0)) revert ConsentRegistryUnknownRequest(requestId);

        uint256 nonce = _nonces[patient];
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(_CONSENT_DECISION_TYPEHASH, requestId, decision, nonce, deadline))
        );
        (address signer, ECDSA.RecoverError error, bytes32 errorArg) = ECDSA.tryRecoverCalldata(digest, signature);
        if (error == ECDSA.RecoverError.InvalidSignatureLength) {
            revert ConsentRegistryInvalidSignatureLength(uint256(errorArg));
        }
        if (error == ECDSA.RecoverError.InvalidSignatureS) revert ConsentRegistryInvalidSignatureS(errorArg);
        // A bad `v` or an unrecoverable signature leaves `signer` zero: reported as the wrong signer.
        if (signer != patient) revert ConsentRegistryInvalidSigner(signer, patient);
        // One increment per accepted signature: cannot come near 2^256.
        unchecked {
            _nonces[patient] = nonce + 1;
        }

        if (decision == uint8(ConsentDecision.Approve)) _approve(requestId, request);
        else if (decision == uint8(ConsentDecision.Deny)) _deny(requestId, request);
        else _revoke(requestId, request);
    }

    /// @inheritdoc IConsentRegistry
    function isAllowed(address patient, address requester, uint8 dataClass) external view returns (bool) {
        if (dataClass >= DATA_CLASS_COUNT) return false;
        Request storage request = _requests[_governingRequest[patient][requester]];
        return request.status == ConsentStatus.Approved && _inPeriod(request)
            && (request.dataClasses >> dataClass) & 1 == 1;
    }

    /// @inheritdoc IConsentRegistry
    function getRequest(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IConsentRegistry
    function governingRequest(address patient, address requester) external view returns (uint256) {
        return _governingRequest[patient][requester];
    }

    /// @inheritdoc IConsentRegistry
    function nonces(address patient) external view returns (uint256) {
        return _nonces[patient];
    }

    /// @inheritdoc IConsentRegistry
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev For the modules that buy and read under a request.
    function _requestAt(uint256 requestId) internal view returns (Request storage) {
        return _requests[requestId];
    }

    /// @dev `validFrom <= now < validUntil`.
    function _inPeriod(Request storage request) internal view returns (bool) {
        return block.timestamp >= request.validFrom && block.timestamp < request.validUntil;
    }

    function _isLive(Request storage request) private view returns (bool) {
        return request.status == ConsentStatus.Approved && block.timestamp < request.validUntil;
    }

    function _checkPatient(uint256 requestId, address patient) private view {
        if (patient == address(0)) revert ConsentRegistryUnknownRequest(requestId);
        if (patient != msg.sender) revert ConsentRegistryNotPatient(requestId, msg.sender);
    }

    function _approve(uint256 requestId, Request storage request) private {
        ConsentStatus status = request.status;
        if (status != ConsentStatus.Pending) revert ConsentRegistryWrongStatus(requestId, status);
        request.status = ConsentStatus.Approved;
        address patient = request.patient;
        address requester = request.requester;
        if (_governingRequest[patient][requester] != requestId) _governingRequest[patient][requester] = requestId;
        emit ConsentApproved(requestId, patient, requester);
    }

    function _deny(uint256 requestId, Request storage request) private {
        ConsentStatus status = request.status;
        if (status != ConsentStatus.Pending) revert ConsentRegistryWrongStatus(requestId, status);
        request.status = ConsentStatus.Denied;
        emit ConsentDenied(requestId, request.patient, request.requester);
    }

    function _revoke(uint256 requestId, Request storage request) private {
        ConsentStatus status = request.status;
        if (status != ConsentStatus.Approved) revert ConsentRegistryWrongStatus(requestId, status);
        request.status = ConsentStatus.Revoked;
        emit ConsentRevoked(requestId, request.patient, request.requester);
    }
}
