"""The FastAPI service that the image ships: items kept in PostgreSQL, and
jobs done by the Celery worker through Redis."""

import redis
from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

import db
import settings
import worker

SERVICE_NAME = "fastapi-server"
VERSION = "0.2.0"

app = FastAPI(title=SERVICE_NAME, version=VERSION)


class NewItem(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class NewJob(BaseModel):
    a: int
    b: int


@app.get("/health")
def health() -> dict[str, str]:
    """Liveness: answers as soon as the server takes requests, with or
    without the database, so that the image alone passes `smoke`."""
    return {"status": "ok"}


@app.get("/ready")
def ready(response: Response) -> dict[str, str]:
    """Readiness: PostgreSQL answers a query and Redis a ping."""
    checks = {}
    try:
        with db.engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["postgres"] = "ok"
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        checks["postgres"] = type(error).__name__
    try:
        redis.Redis.from_url(settings.redis_url(), socket_timeout=2).ping()
        checks["redis"] = "ok"
    except Exception as error:  # noqa: BLE001
        checks["redis"] = type(error).__name__
    if any(state != "ok" for state in checks.values()):
        response.status_code = 503
    return checks


@app.get("/")
def root() -> dict[str, str]:
    return {"service": SERVICE_NAME, "version": VERSION}


@app.post("/items", status_code=201)
def create_item(item: NewItem) -> dict[str, object]:
    with db.session() as session, session.begin():
        row = db.Item(name=item.name)
        session.add(row)
        session.flush()
        return {"id": row.id, "name": row.name}


@app.get("/items/{item_id}")
def read_item(item_id: int) -> dict[str, object]:
    with db.session() as session:
        row = session.get(db.Item, item_id)
        if row is None:
            raise HTTPException(status_code=404, detail="no such item")
        return {"id": row.id, "name": row.name}


@app.post("/jobs", status_code=202)
def create_job(job: NewJob) -> dict[str, str]:
    return {"id": worker.add.delay(job.a, job.b).id}


@app.get("/jobs/{job_id}")
def read_job(job_id: str) -> dict[str, object]:
    result = worker.celery.AsyncResult(job_id)
    done = result.successful()
    return {"id": job_id, "state": result.state, "result": result.result if done else None}
