// SPDX-License-Identifier: MIT
// A USDT-style token for the development chain only: 6 decimals, the standard ERC20
// Transfer event, and a mint the deployer uses to fund test accounts.
pragma solidity ^0.8.20;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract DevUSDT is ERC20, Ownable {
    constructor() ERC20("Tether USD (dev)", "USDT") Ownable(msg.sender) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
