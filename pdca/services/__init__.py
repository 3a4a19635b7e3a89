"""Use cases: the only layer that commits. Each write is one transaction with its audit event."""
