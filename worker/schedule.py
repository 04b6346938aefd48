"""Every beat job in one dict (SPEC F8, F10, F11): beat is the only scheduler and runs exactly once.

Still to come with its flow: contact-sync sweeps (F8).
"""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "aircall-webhook-health": {"task": "maintenance.webhook_health", "schedule": 300.0},
    "jobber-token-refresh": {"task": "maintenance.refresh_jobber_tokens", "schedule": 600.0},
    "reconcile-missed-calls": {"task": "maintenance.reconcile_calls", "schedule": 900.0},
}
