"""Redis state: integrations, the event ledger (idempotency), dead letters. Key layout in `store.keys`."""
