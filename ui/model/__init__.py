"""What the Qt apps know of the branch, in plain Python (no Qt): the presenters import it."""
