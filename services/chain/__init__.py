"""The chain, owned in one place for every service: its settings block (PULSELEDGER_CHAIN_*), the
deployments file, one chain object (connection.Chain), the contract's enums and typed data."""
