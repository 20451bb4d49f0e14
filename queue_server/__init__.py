"""BranchQ queue server: domain core, storage, HTTP/WebSocket API and the CLI."""
