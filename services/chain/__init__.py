"""Chain access shared by every service: the deployments file and a web3 connection."""
