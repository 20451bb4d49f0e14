"""The branch's calling policy: which runs, the tournaments that chose it, and why."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RunningPolicy(BaseModel):
    name: str | None = Field(description="registered policy name, e.g. accumulating")
    label: str | None = Field(description="name with its parameters, as the table shows it")
    params: dict[str, Any] = Field(default_factory=dict)
    since: str | None = Field(None, description="when it was applied; null: the default")
    actor: str | None = Field(None, description="who applied it: system or a manager")
    reason: dict[str, str] | None = Field(None, description="why, by language (zh, en)")
    tournament: int | None = Field(None, description="the tournament that chose it")


class TournamentJobPublic(BaseModel):
    id: int
    trigger: str = Field(description="start, nightly or manager")
    actor: str
    for_day: str = Field(description="the business day the choice is for")
    started_at: str
    steps_done: int
    steps: int = Field(description="building the day from the forecast, then one per candidate")
    state: str = Field(description="running, done or failed")
    tournament_id: int | None = None
    error: str | None = None


class TournamentPublic(BaseModel):
    id: int
    started_at: str
    finished_at: str
    for_day: str
    trigger: str
    actor: str
    state: str = Field(description="done or failed")
    chosen: dict[str, Any] | None = Field(description="name, params, label")
    result: dict[str, Any] | None = Field(
        description="table (per candidate: share within target and its 95 % interval, p95 "
        "wait per class, total wait), reason by language, days, scenario, rule"
    )
    error: str | None = None
    applied_at: str | None = None


class PolicyOverview(BaseModel):
    running: RunningPolicy
    job: TournamentJobPublic | None
    last: TournamentPublic | None


class ApplyPolicy(BaseModel):
    tournament_id: int | None = Field(None, description="default: the last successful run")


class PolicyApplied(BaseModel):
    name: str
    label: str
    params: dict[str, Any]
    tournament: int
    for_day: str
    reason: dict[str, str]
    actor: str
    at: str
