"""One file per role; a role gets the node (rpc, membership, settings, backends) and runs loops."""
