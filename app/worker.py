"""The Celery app: the worker (`celery -A worker worker`) and beat
(`celery -A worker beat`) run it from the same image as the API. Redis is
both the broker and the result store."""

from celery import Celery

import settings

celery = Celery("worker", broker=settings.redis_url(), backend=settings.redis_url())
celery.conf.update(
    # A worker that dies mid-task gives the task back to the queue.
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    result_expires=3600,
    beat_schedule={"heartbeat": {"task": "worker.heartbeat", "schedule": 30.0}},
)


@celery.task(name="worker.add")
def add(a: int, b: int) -> int:
    return a + b


@celery.task(name="worker.heartbeat")
def heartbeat() -> str:
    """Beat's periodic task: proves beat and the worker still meet."""
    return "ok"
