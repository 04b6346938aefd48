"""Every beat job in one dict (SPEC F8, F10, F11): beat is the only scheduler and runs exactly once.

Entries are added by the flows that own them: contact-sync sweeps, Jobber token refresh, Aircall webhook
health, reconciliation of missed calls. The router and ledger (this issue) need no periodic work.
"""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {}
