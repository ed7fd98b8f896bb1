"""Simulation job bodies. A job is created from the simulate request itself."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobResponse(BaseModel):
    job_id: str = Field(examples=["job_a3b4c5d6e7f8"], description="`job_` + 12 hex digits.")
    status: JobStatus = Field(
        description="queued -> running -> succeeded | failed | cancelled (the last three final)."
    )
    progress: float = Field(
        ge=0.0, le=1.0, description="Share of the work done, in [0, 1]; it never decreases."
    )
    paths_total: int = Field(description="Paths the job simulates (num_simulations).")
    paths_done: int = Field(description="Paths simulated so far.")
    created_at: datetime = Field(description="When the job was created (UTC).")
    started_at: datetime | None = Field(description="When a worker first started it.")
    finished_at: datetime | None = Field(description="When it succeeded, failed or was cancelled.")
    simulation_id: str | None = Field(
        description="On success: the saved simulation, at /api/v1/simulations/{simulation_id}."
    )
    error: str | None = Field(description="Why it failed, when it did.")


class JobPage(BaseModel):
    items: list[JobResponse] = Field(description="This page of your jobs, newest first.")
    total: int = Field(description="Jobs of yours in all.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Jobs skipped before this page.")
