// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @dev forge's console address (forge-std console.sol is not available offline): prints under -vv.
library Console {
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function log(string memory label, uint256 value) internal view {
        bytes memory payload = abi.encodeWithSignature("log(string,uint256)", label, value);
        // A staticcall so that view functions (afterInvariant summaries) can log too.
        (bool ok,) = CONSOLE.staticcall(payload);
        ok;
    }
}
