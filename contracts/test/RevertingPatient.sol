// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ContractActor} from "./ContractActor.sol";

/// @title A patient (or buyer) that cannot receive ETH
/// @dev Tests only: its own withdraw must fail without blocking anyone else, and `withdrawTo` rescues it.
contract RevertingPatient is ContractActor {
    error RevertingPatientRefusesEther(uint256 amount);

    receive() external payable {
        revert RevertingPatientRefusesEther(msg.value);
    }
}
