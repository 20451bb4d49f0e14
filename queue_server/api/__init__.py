"""HTTP and WebSocket API of the queue server."""

from queue_server.api.app import create_app

__all__ = ["create_app"]
