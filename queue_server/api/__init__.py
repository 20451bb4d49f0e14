"""HTTP and WebSocket API of the queue server."""

from .app import create_app

__all__ = ["create_app"]
