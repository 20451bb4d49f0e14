"""The Qt-native queue-server client shared by the kiosk, the counter app and the manager.

`BranchClient` talks HTTP and the live event stream without ever blocking the GUI thread,
keeps a `BranchModel` current, and reconnects and resyncs by itself.
"""

from ui.client.branch import ApiError, BranchClient, Reply, new_key
from ui.client.websocket import EventSocket
from ui.model.branch import BranchModel, GapError

__all__ = [
    "ApiError",
    "BranchClient",
    "BranchModel",
    "EventSocket",
    "GapError",
    "Reply",
    "new_key",
]
