"""The head-office service: branches' event logs in PostgreSQL, read models, network console."""
