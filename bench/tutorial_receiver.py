"""The receiver the ingest is measured against (issue 11): a webhook endpoint as the FastAPI and Celery
tutorials write it. FastAPI parses the JSON body, `task.delay()` publishes it to the same Redis; nothing
checks the token, deduplicates or records the event. Served by uvicorn with the same loop and HTTP parser
as the ingest, so the difference is the receiver, not the server.

Not part of the product: only `make bench` starts it (`uvicorn bench.tutorial_receiver:app`).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from fastapi import FastAPI, Request

celery_app = Celery("tutorial", broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


@celery_app.task(name="tutorial.process_webhook")
def process_webhook(body: dict[str, Any]) -> None:  # never run: the benchmark only measures receiving
    pass


app = FastAPI()


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/webhooks/aircall")
async def receive(request: Request) -> dict[str, str]:
    body = await request.json()
    result = process_webhook.delay(body)
    return {"status": "queued", "id": result.id}
