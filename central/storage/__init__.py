"""All of the centre's SQL: its PostgreSQL schema, migrations, ingest and read models."""
