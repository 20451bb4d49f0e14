"""Businesses (services) and bundles, with their guidance per language."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

ServiceCode = Field(pattern=r"^[A-Za-z0-9_-]{1,16}$")


class GuidanceModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[str] = Field(default_factory=list, max_length=20)
    steps: list[str] = Field(default_factory=list, max_length=20)
    where: str = Field("", max_length=200)
    alternative: str = Field("", max_length=500)


class ServicePublic(BaseModel):
    code: str
    prefix: str
    names: dict[str, str]
    target_wait_s: int
    mean_service_s: int
    guidance: dict[str, GuidanceModel]
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
    guidance: dict[str, GuidanceModel]
    sort: int
    needs_form: bool = Field(description="true when any included business needs a form")


class ServiceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: dict[str, str] | None = Field(None, max_length=8)
    target_wait_s: int | None = Field(None, ge=1, le=86_400)
    mean_service_s: int | None = Field(None, ge=1, le=86_400)
    guidance: dict[str, GuidanceModel] | None = Field(None, max_length=8)
    fast_lane: bool | None = None
    visible: bool | None = None
    enabled: bool | None = None
    sort: int | None = Field(None, ge=0, le=1000)
    needs_form: bool | None = None
