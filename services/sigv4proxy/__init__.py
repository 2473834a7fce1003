"""JSON-RPC gateway in front of the chain: SigV4 for Amazon Managed Blockchain, token headers for
other providers, plain pass-through for a local node; allow-listed methods, failover, CORS."""
