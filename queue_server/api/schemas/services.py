"""Businesses (services) and bundles, with their guidance per language."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from queue_server.api.schemas.text import Language, Line, Name, Paragraph

SERVICE_CODE = r"^[A-Za-z0-9_-]{1,16}$"
ServiceCode = Field(pattern=SERVICE_CODE)


class GuidancePublic(BaseModel):
    documents: list[str]
    steps: list[str]
    where: str
    alternative: str


class GuidanceUpdate(BaseModel):
    """What a customer needs for the business, in one language, as the kiosk shows it."""

    model_config = ConfigDict(extra="forbid")
    documents: list[Line] = Field(
        default_factory=list, max_length=20, description="what to bring: ≤ 20 lines of ≤ 300"
    )
    steps: list[Line] = Field(
        default_factory=list, max_length=20, description="what happens: ≤ 20 lines of ≤ 300"
    )
    where: Line = Field("", description="where to go: one line of ≤ 300 characters")
    alternative: Paragraph = Field(
        "", description="another way to do it (app, ATM): one line of ≤ 500 characters"
    )


class ServicePublic(BaseModel):
    code: str
    prefix: str
    names: dict[str, str]
    target_wait_s: int
    mean_service_s: int
    guidance: dict[str, GuidancePublic]
    fast_lane: bool
    visible: bool
    enabled: bool
    opens: str | None
    closes: str | None
    sort: int
    needs_form: bool = False


class BundlePublic(BaseModel):
    code: str
    names: dict[str, str]
    service: str = Field(description="the queue the bundle's ticket joins")
    includes: list[str] = Field(description="the businesses done during the visit")
    guidance: dict[str, GuidancePublic]
    sort: int
    needs_form: bool = Field(description="true when any included business needs a form")


class ServiceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: dict[Language, Name] | None = Field(
        None,
        max_length=8,
        description="the name per language (keys: the branch's configured languages), "
        "each at most 100 characters",
    )
    target_wait_s: int | None = Field(None, ge=1, le=86_400)
    mean_service_s: int | None = Field(None, ge=1, le=86_400)
    guidance: dict[Language, GuidanceUpdate] | None = Field(
        None,
        max_length=8,
        description="guidance per language (keys: the branch's configured languages); "
        "replaces the whole guidance",
    )
    fast_lane: bool | None = None
    visible: bool | None = None
    enabled: bool | None = None
    sort: int | None = Field(None, ge=0, le=1000)
    needs_form: bool | None = None
