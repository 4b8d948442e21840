"""Training runs: what to train (the wizard's spec), where it stands (status, progress), what came out (metrics,
the MLflow run). A run in status "draft" is the wizard's saved draft; it becomes "queued" when the user trains."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from hydroml.models.base import TableBase


class TrainingRun(TableBase, table=True):
    __tablename__ = "training_run"
    __table_args__ = (sa.Index("ix_training_run_project_status", "project_id", "status"),)

    project_id: uuid.UUID = Field(foreign_key="project.id", index=True, nullable=False, ondelete="CASCADE")
    name: str = Field(max_length=120, nullable=False)
    # draft | queued | running | finished | failed | cancelled | interrupted
    status: str = Field(max_length=16, nullable=False)
    # The wizard's choices as JSON (data, target, features, model, parameters, preprocessing, split, metrics).
    spec_json: str = Field(default="{}", sa_type=sa.Text, nullable=False)
    # Denormalised from the spec for the runs table's filters (the data source may be deleted later).
    data_source_id: uuid.UUID | None = Field(default=None, index=True)
    data_source_version: int | None = Field(default=None)
    data_label: str = Field(default="", max_length=300, nullable=False)
    model_key: str = Field(default="", max_length=40, nullable=False)
    problem_type: str = Field(default="", max_length=16, nullable=False)
    target: str = Field(default="", max_length=300, nullable=False)
    # {"stage": ..., "fold": k, "folds": n, "percent": 0..100} while queued/running
    progress_json: str = Field(default="{}", sa_type=sa.Text, nullable=False)
    error: str = Field(default="", sa_type=sa.Text, nullable=False)
    # Summary metrics (CV mean or holdout value per metric key), for sorting and comparing without MLflow.
    metrics_json: str = Field(default="{}", sa_type=sa.Text, nullable=False)
    mlflow_run_id: str = Field(default="", max_length=64, nullable=False)
    data_fingerprint: str = Field(default="", max_length=64, nullable=False)
    cancel_requested: bool = Field(default=False, nullable=False)
    # host:pid of the server process that runs it, and its last sign of life (a restart marks it interrupted)
    worker: str = Field(default="", max_length=120, nullable=False)
    heartbeat_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    queued_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    started_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    duration_s: float | None = Field(default=None)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
