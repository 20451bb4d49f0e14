"""ManagerClient: `BranchClient` plus the manager's requests and the manager's live extras.

The model is a `BranchModel` that also keeps `BranchExtras` (alerts, follow-ups, today's
share within target) from the snapshot and the event stream, so the console is as live as
the counters and never polls. Every request goes through the client's own asynchronous
helper: nothing here blocks the GUI thread.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from PySide6.QtCore import QObject

from ui.client import BranchClient, BranchModel, Reply
from ui.manager.console import BranchExtras


class ConsoleModel(BranchModel):
    """The branch model with the manager's extras riding along on snapshots and events."""

    def __init__(self) -> None:
        super().__init__()
        self.extras = BranchExtras()

    def load_snapshot(self, snap: dict[str, Any]) -> None:
        super().load_snapshot(snap)
        self.extras.load_snapshot(snap)

    def apply(self, event: dict[str, Any]) -> bool:
        applied = super().apply(event)
        if applied:
            self.extras.apply(event, self.services)
        return applied


class ManagerClient(BranchClient):
    """The console's one connection to the queue server (role manager or admin)."""

    def __init__(self, base_url: str, token: str, parent: QObject | None = None, **options: Any):
        super().__init__(base_url, token, parent=parent, **options)
        self.model: ConsoleModel = ConsoleModel()

    # ---- reads
    def staffing_advice(self) -> Reply:
        return self._request("GET", "/staffing/advice", action="advice", change=False)

    def alerts(self, day: str | None = None) -> Reply:
        query = f"?{urlencode({'day': day})}" if day else ""
        return self._request("GET", f"/alerts{query}", action="alerts", change=False)

    def followups(self, state: str = "open") -> Reply:
        path = f"/followups?{urlencode({'state': state})}"
        return self._request("GET", path, action="followups", change=False)

    def audit(self, limit: int = 200) -> Reply:
        path = f"/audit?{urlencode({'limit': limit})}"
        return self._request("GET", path, action="audit", change=False)

    def calling_policy(self) -> Reply:
        """The policy running today and why, the tournament in progress, the last result."""
        return self._request("GET", "/policy", action="policy", change=False)

    def list_staff(self) -> Reply:
        return self._request("GET", "/staff", action="list_staff", change=False)

    def list_tokens(self) -> Reply:
        return self._request("GET", "/tokens", action="list_tokens", change=False)

    def reports(self, start: str, end: str) -> Reply:
        path = f"/reports?{urlencode({'from': start, 'to': end})}"
        return self._request("GET", path, action="reports", change=False)

    def lobby_report(self, start: str, end: str) -> Reply:
        """What the lobby did: diverted customers, time saved, pre-review's effect."""
        path = f"/reports/lobby?{urlencode({'from': start, 'to': end})}"
        return self._request("GET", path, action="reports", change=False)

    def config_version(self) -> Reply:
        """The head office's configuration in force: version, provenance, who set what."""
        return self._request("GET", "/config/version", action="config_version", change=False)

    def head_office(self) -> Reply:
        """The link to the head office (`configured`, and its `downlink` section)."""
        return self._request("GET", "/head-office", action="head_office", change=False)

    # ---- changes
    def acknowledge_alert(self, alert_id: str) -> Reply:
        path = f"/alerts/{quote(alert_id, safe='')}/acknowledge"
        return self._request("POST", path, action="acknowledge")

    def update_followup(self, followup_id: int, note: str, resolved: bool) -> Reply:
        body = {"note": note, "resolved": resolved}
        return self._request("PATCH", f"/followups/{followup_id}", body, action="followup")

    def update_service(self, code: str, changes: dict[str, Any]) -> Reply:
        path = f"/services/{quote(code, safe='')}"
        return self._request("PATCH", path, changes, action="update_service")

    def run_tournament(self) -> Reply:
        return self._request("POST", "/policy/tournament", action="run_tournament")

    def apply_policy(self, tournament_id: int | None = None) -> Reply:
        body = {"tournament_id": tournament_id} if tournament_id is not None else None
        return self._request("POST", "/policy/apply", body, action="apply_policy")

    def set_notice(self, text: str) -> Reply:
        return self._request("PUT", "/branch/notice", {"text": text}, action="notice")

    def add_staff(self, staff_id: str, name: str, pin: str) -> Reply:
        body = {"staff_id": staff_id, "name": name, "pin": pin}
        return self._request("POST", "/staff", body, action="add_staff")

    def create_token(self, role: str, name: str) -> Reply:
        body = {"role": role, "name": name}
        return self._request("POST", "/tokens", body, action="create_token")

    def revoke_token(self, token_id: int) -> Reply:
        return self._request("DELETE", f"/tokens/{token_id}", action="revoke_token")
