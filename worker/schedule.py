"""Every beat job in one dict (SPEC F8, F10, F11): beat is the only scheduler and runs exactly once.

Contact-sync sweeps catch the client changes whose webhooks were missed.
"""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "aircall-webhook-health": {"task": "maintenance.webhook_health", "schedule": 300.0},
    "jobber-token-refresh": {"task": "maintenance.refresh_jobber_tokens", "schedule": 600.0},
    "reconcile-missed-calls": {"task": "maintenance.reconcile_calls", "schedule": 900.0},
    "contact-sync-sweep": {"task": "sync.sweep_all", "schedule": 600.0},
    "recover-lost-deliveries": {"task": "maintenance.recover_lost_deliveries", "schedule": 300.0},
    # Jobber consents no admin attached within their hour are disconnected in Jobber (flows/connect.py).
    "disconnect-expired-jobber-consents": {"task": "connect.disconnect_expired", "schedule": 300.0},
    # Deleted integrations' data is purged (flows/purge.py): a delete starts it; this resumes an interrupted pass.
    "purge-deleted-integrations": {"task": "lifecycle.purge", "schedule": 300.0},
}
