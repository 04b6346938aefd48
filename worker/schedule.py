"""Every beat job in one dict (SPEC F8, F10, F11): beat is the only scheduler and runs exactly once.

Contact-sync sweeps catch the client changes whose webhooks were missed.
"""

from __future__ import annotations

from typing import Any

from config.queues import Task

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "aircall-webhook-health": {"task": Task.WEBHOOK_HEALTH, "schedule": 300.0},
    "jobber-token-refresh": {"task": Task.RENEW_JOBBER_CONNECTIONS, "schedule": 600.0},
    "reconcile-missed-calls": {"task": Task.RECONCILE_CALLS, "schedule": 900.0},
    "contact-sync-sweep": {"task": Task.SYNC_SWEEP_ALL, "schedule": 600.0},
    "recover-lost-deliveries": {"task": Task.RECOVER_LOST_DELIVERIES, "schedule": 300.0},
    # Jobber consents no admin attached within their hour are disconnected in Jobber (flows/connect.py).
    "disconnect-expired-jobber-consents": {"task": Task.DISCONNECT_EXPIRED_CONSENTS, "schedule": 300.0},
    # Deleted integrations' data is purged (flows/purge.py):
    # a delete starts it; this resumes an interrupted pass.
    "purge-deleted-integrations": {"task": Task.PURGE, "schedule": 300.0},
}
