"""PulseLedger services: one sub-package per service."""
