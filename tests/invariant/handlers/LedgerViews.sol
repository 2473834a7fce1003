// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PulseLedger} from "../../../contracts/PulseLedger.sol";
import {Purchase} from "../../../contracts/interfaces/IPurchaseEscrow.sol";

/// @dev The only place that knows the shape of the ledger's view structs, so that a layout change
/// in the contracts touches one file of the suite.
library LedgerViews {
    function requestStatus(PulseLedger ledger, uint256 requestId) internal view returns (uint8) {
        return uint8(ledger.getRequest(requestId).status);
    }

    function purchaseStatus(PulseLedger ledger, uint256 purchaseId) internal view returns (uint8) {
        return uint8(ledger.getPurchase(purchaseId).status);
    }

    function purchaseStatusAndAmount(PulseLedger ledger, uint256 purchaseId) internal view returns (uint8, uint256) {
        Purchase memory p = ledger.getPurchase(purchaseId);
        return (uint8(p.status), uint256(p.amountGwei) * 1 gwei);
    }

    function purchaseAmount(PulseLedger ledger, uint256 purchaseId) internal view returns (uint256) {
        return uint256(ledger.getPurchase(purchaseId).amountGwei) * 1 gwei;
    }

    function purchaseDeliverBy(PulseLedger ledger, uint256 purchaseId) internal view returns (uint256) {
        return ledger.getPurchase(purchaseId).deliverBy;
    }
}
