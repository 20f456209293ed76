"""Imports started from the admin page: a row per job holds its progress and its report."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from model import ImportJob
from service.errors import NotFound


def create_job(session: Session) -> str:
    job = ImportJob(id=secrets.token_hex(16), status="running", done=0, total=0, report="")
    session.add(job)
    session.commit()
    return job.id


def record_progress(session: Session, job_id: str, done: int, total: int) -> None:
    job = session.get(ImportJob, job_id)
    if job is not None:
        job.done, job.total = done, total
        session.commit()


def finish_job(session: Session, job_id: str, lines: list[str], failed: bool) -> None:
    job = session.get(ImportJob, job_id)
    if job is not None:
        job.status = "failed" if failed else "done"
        job.report = "\n".join(lines)
        if not failed:
            job.done = job.total
        session.commit()


def get_job(session: Session, job_id: str) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("There is no such import.")
    return job
