"""What the Qt apps know of the branch, in plain Python (no Qt): the presenters import it.

`branch` (BranchModel: rebuilt from a snapshot, kept current by events and the server's
waiting summary), `clock` (the server's time), `isotime` (ISO timestamps).
"""
