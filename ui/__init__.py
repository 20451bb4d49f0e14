"""Shared Qt parts and the staff apps (counter caller, manager console)."""
