"""Import jobs in the catalogue: create, list, read; the states a worker moves them through; targets.

A job is a row of ``import_jobs``: queued -> running -> done | failed. Whoever runs a job (a worker
process beside the server, or the command line) holds a PostgreSQL advisory lock on it for as long
as it works, so that start-up recovery can tell a live job from one whose process died.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from ..catalogue import models as m
from ..catalogue.containers import ContainerManager
from ..catalogue.errors import BadRequest, Forbidden, NotFound
from ..catalogue.kinds import KINDS
from ..catalogue.permissions import Caller, PermissionPolicy
from ..catalogue.queries import ListQuery, Page, count

LOCK_NAMESPACE = 0x5C09  # first key of the two-key advisory locks that mark a job as being worked on
TARGET_LOCK_NAMESPACE = 0x5C0A  # serialises "created when absent" targets of one user
TARGET = re.compile(r"^(?:Project:(?P<project>[^/]+)/)?Dataset:(?P<dataset>.+)$")
_JOBS = m.ImportJob.__table__
# Built once: a running job writes its progress twice a second, and an ORM update built for each
# write cost more Python than the write itself.
PROGRESS = (sa.update(_JOBS).where(_JOBS.c.id == sa.bindparam("job"), _JOBS.c.status == "running")
            .values(progress=sa.bindparam("fraction"), message=sa.bindparam("text")))
STATES = m.IMPORT_STATES


def lock_key(job_id: int) -> int:
    return job_id % 2**31


def parse_target(target: str) -> tuple[str | None, str]:
    """``Project:P/Dataset:D`` or ``Dataset:D`` -> (project name or None, dataset name)."""
    match = TARGET.match(target.strip())
    if match is None or not match["dataset"].strip() or (match["project"] is not None and not match["project"].strip()):
        raise BadRequest(f"target {target!r} must look like 'Project:P/Dataset:D' or 'Dataset:D'")
    project = match["project"].strip() if match["project"] else None
    if len(match["dataset"].strip()) > m.NAME_LENGTH or (project and len(project) > m.NAME_LENGTH):
        raise BadRequest(f"names in a target are at most {m.NAME_LENGTH} characters")
    return project, match["dataset"].strip()


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class ImportJobManager:
    """Create, read and list jobs for a caller; move them between states for the worker."""

    # ---- for callers -----------------------------------------------------------------------
    def check_target(self, session: Session, caller: Caller, dataset_id: int | None, target: str | None) -> int:
        """Refuse a target the caller may not import into (before any byte is received); the group the images go to."""
        policy = PermissionPolicy(caller)
        if not caller.can_write:
            raise Forbidden("this token may only read")
        if dataset_id is not None and target is not None:
            raise BadRequest("give a dataset_id or a target, not both")
        if dataset_id is not None:
            return ContainerManager().get_row(session, policy, KINDS["dataset"], dataset_id, "link").group_id
        if target is not None:
            parse_target(target)
        group_id = ContainerManager().default_group(session, caller)
        policy.require_member(group_id)
        return group_id

    def create(self, session: Session, caller: Caller, request: dict[str, Any], *, status: str = "queued",
               work_paths: list[str] | None = None) -> m.ImportJob:
        """Check the target and insert the job; ``request`` holds paths or uploads, target, name, description;
        ``work_paths`` are store paths the job owns from the start (an upload's folder)."""
        dataset_id = request.get("dataset_id")
        group_id = self.check_target(session, caller, dataset_id, request.get("target"))
        job = m.ImportJob(owner_id=caller.user_id, group_id=group_id, status=status, progress=0.0,
                          message="waiting for a worker" if status == "queued" else "starting",
                          request={**request, "acting_admin_id": caller.real_user_id},
                          dataset_id=dataset_id, image_ids=[], work_paths=list(work_paths or []))
        if status == "running":
            job.started = m.now()
        session.add(job)
        session.flush()
        return job

    def get(self, session: Session, caller: Caller, job_id: int) -> dict[str, Any]:
        job = session.get(m.ImportJob, job_id)
        if job is None or not (caller.is_admin or job.owner_id == caller.user_id):
            raise NotFound(f"import {job_id} not found")
        return self.describe(session, [job])[0]

    def list(self, session: Session, caller: Caller, query: ListQuery, status: str | None = None) -> Page:
        """The caller's jobs, newest first (an admin's list holds everyone's)."""
        stmt = sa.select(m.ImportJob)
        if not caller.is_admin:
            stmt = stmt.where(m.ImportJob.owner_id == caller.user_id)
        elif query.owner is not None:
            stmt = stmt.where(m.ImportJob.owner_id == query.owner)
        if status is not None:
            if status not in STATES:
                raise BadRequest(f"status must be one of {', '.join(STATES)}")
            stmt = stmt.where(m.ImportJob.status == status)
        total = count(session, stmt)
        rows = session.execute(stmt.order_by(m.ImportJob.id.desc()).offset(query.offset).limit(query.limit)).scalars()
        return Page(self.describe(session, list(rows)), query.offset, query.limit, total)

    def describe(self, session: Session, jobs: list[m.ImportJob]) -> list[dict[str, Any]]:
        users = dict(session.execute(sa.select(m.Experimenter.id, m.Experimenter.username).where(
            m.Experimenter.id.in_({j.owner_id for j in jobs}))).all()) if jobs else {}
        groups = dict(session.execute(sa.select(m.Group.id, m.Group.name).where(
            m.Group.id.in_({j.group_id for j in jobs}))).all()) if jobs else {}
        image_ids = {i for j in jobs for i in j.image_ids}
        images = {i: (f, label) for i, f, label in session.execute(
            sa.select(m.Image.id, m.Image.fileset_id, m.Image.is_label).where(m.Image.id.in_(image_ids))).tuples()
        } if image_ids else {}
        replies = []
        for job in jobs:
            request = job.request or {}
            sources = ([*request.get("paths", []), *request.get("labels", [])]
                       or [u["name"] for u in request.get("uploads", [])]
                       or ([f"write {request['write_id']}"] if request.get("write_id") else []))
            replies.append({
                "id": job.id,
                "status": job.status,
                "progress": round(job.progress, 4),
                "message": job.message,
                "error": job.error,
                "owner": {"id": job.owner_id, "username": users.get(job.owner_id, "")},
                "group": {"id": job.group_id, "name": groups.get(job.group_id, "")},
                "dataset_id": job.dataset_id,
                "target": request.get("target"),
                "name": request.get("name"),
                "description": request.get("description", ""),
                "sources": sources,
                "label": bool(request.get("label")),
                "labels": list(request.get("labels", [])),
                "images": list(job.image_ids),
                "label_images": [i for i in job.image_ids if images.get(i, (None, False))[1]],
                "filesets": sorted({f for i in job.image_ids if (f := images.get(i, (None,))[0]) is not None}),
                "created": _iso(job.created),
                "started": _iso(job.started),
                "finished": _iso(job.finished),
            })
        return replies

    # ---- for whoever runs the job ------------------------------------------------------------
    def claim(self, session: Session, job_id: int, pid: int) -> m.ImportJob | None:
        """queued -> running; None if the job is gone or no longer queued."""
        job = session.get(m.ImportJob, job_id, with_for_update=True)
        if job is None or job.status != "queued":
            return None
        job.status, job.worker_pid, job.started, job.message = "running", pid, m.now(), "starting"
        return job

    def progress(self, session: Session, job_id: int, progress: float, message: str) -> None:
        # A progress row need not wait for its WAL to reach the disk (a crash loses at most the last
        # one, which recovery overwrites anyway); waiting did stall the import's coordinating thread
        # behind the import's own writes for seconds.
        session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
        session.execute(PROGRESS, {"job": job_id, "fraction": max(0.0, min(1.0, progress)), "text": message[:2000]})

    def add_work_paths(self, session: Session, job_id: int, paths: list[str]) -> None:
        job = session.get(m.ImportJob, job_id, with_for_update=True)
        job.work_paths = sorted(set(job.work_paths) | set(paths))

    def fail(self, session: Session, job_id: int, error: str, message: str = "failed") -> bool:
        """running or queued -> failed with a reason; False if the job had already ended."""
        done = session.execute(sa.update(m.ImportJob).where(
            m.ImportJob.id == job_id, m.ImportJob.status.in_(("queued", "running"))).values(
            status="failed", error=error[:10000], message=message, finished=m.now(), modified=m.now()))
        return done.rowcount > 0

    # ---- targets -----------------------------------------------------------------------------
    def target_dataset(self, session: Session, caller: Caller, job: m.ImportJob) -> m.Dataset | None:
        """The dataset the images go into, checked again (it may have gone), or created from the target."""
        policy = PermissionPolicy(caller)
        request = job.request or {}
        if request.get("dataset_id") is not None:
            if job.dataset_id is None:
                raise NotFound(f"dataset {request['dataset_id']} was deleted during the import")
            return ContainerManager().get_row(session, policy, KINDS["dataset"], job.dataset_id, "link")
        if request.get("target") is None:
            return None
        project_name, dataset_name = parse_target(request["target"])
        # Two imports naming one new target must not create it twice.
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(TARGET_LOCK_NAMESPACE, caller.user_id % 2**31)))
        group_id = job.group_id
        project = None
        if project_name is not None:
            project = session.execute(sa.select(m.Project).where(
                m.Project.owner_id == caller.user_id, m.Project.name == project_name)
                .order_by((m.Project.group_id != group_id), m.Project.id).limit(1)).scalar_one_or_none()
            if project is None:
                project = m.Project(owner_id=caller.user_id, group_id=group_id, name=project_name)
                session.add(project)
                session.flush()
            group_id = project.group_id
            dataset = session.execute(sa.select(m.Dataset).join(
                m.ProjectDatasetLink, m.ProjectDatasetLink.child_id == m.Dataset.id).where(
                m.ProjectDatasetLink.parent_id == project.id, m.Dataset.owner_id == caller.user_id,
                m.Dataset.name == dataset_name).order_by(m.Dataset.id).limit(1)).scalar_one_or_none()
        else:
            dataset = session.execute(sa.select(m.Dataset).where(
                m.Dataset.owner_id == caller.user_id, m.Dataset.name == dataset_name)
                .order_by((m.Dataset.group_id != group_id), m.Dataset.id).limit(1)).scalar_one_or_none()
        if dataset is None:
            dataset = m.Dataset(owner_id=caller.user_id, group_id=group_id, name=dataset_name)
            session.add(dataset)
            session.flush()
            if project is not None:
                session.add(m.ProjectDatasetLink(parent_id=project.id, child_id=dataset.id,
                                                 owner_id=caller.user_id, group_id=group_id))
        policy.require(dataset, "link")
        return dataset


@contextlib.contextmanager
def job_lock(engine: Engine, job_id: int) -> Iterator[Connection]:
    """Hold the job's advisory lock on a connection of its own for the duration of the block."""
    with engine.connect() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_lock(LOCK_NAMESPACE, lock_key(job_id))))
        conn.commit()  # the lock is the session's; no transaction stays open
        try:
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.execute(sa.select(sa.func.pg_advisory_unlock(LOCK_NAMESPACE, lock_key(job_id))))
                conn.commit()


@contextlib.contextmanager
def create_locked(engine: Engine, caller: Caller, request: dict[str, Any]) -> Iterator[int]:
    """Insert a job as running and lock it in the same transaction (the command line runs its own jobs),
    so that no recovery ever sees it running and unlocked."""
    with engine.connect() as conn:
        with Session(bind=conn) as session:
            job = ImportJobManager().create(session, caller, request, status="running")
            job.worker_pid = os.getpid()
            session.flush()
            job_id = job.id
            conn.execute(sa.select(sa.func.pg_advisory_lock(LOCK_NAMESPACE, lock_key(job_id))))
            session.commit()
        try:
            yield job_id
        finally:
            with contextlib.suppress(Exception):
                conn.execute(sa.select(sa.func.pg_advisory_unlock(LOCK_NAMESPACE, lock_key(job_id))))
                conn.commit()


def is_locked_elsewhere(session: Session, job_id: int) -> bool:
    """True while a live process works on the job (its lock is held); tried within the caller's transaction."""
    got = session.execute(sa.select(sa.func.pg_try_advisory_xact_lock(LOCK_NAMESPACE, lock_key(job_id)))).scalar()
    return not got
