"""The error body every error answer has (documented for every operation)."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str = Field(description="stable, for programs: e.g. invalid_state, ticket_expired")
    message: str = Field(description="for people")


class ErrorBody(BaseModel):
    """Every error answer; some codes add fields (an appointment's slot_start, say)."""

    error: ErrorDetail
