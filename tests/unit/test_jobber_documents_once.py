"""Jobber's GraphQL documents are checked against the schema once per process (clients/jobber.py): a worker
validates them all when it starts (`prepare_documents`, on Celery's worker_init), and threads that need one
at the same moment wait for a single check instead of each building the schema (a burst of cards used to)."""

from __future__ import annotations

import threading

import clients.jobber as jobber
from worker.app import _prepare_jobber_documents


def test_threads_asking_for_a_new_document_at_once_check_it_once(monkeypatch) -> None:
    checks: list[str] = []
    real = jobber._checked

    def counted(source: str) -> str:
        checks.append(source)
        return real(source)

    monkeypatch.setattr(jobber, "_checked", counted)
    source = "query OnlyForThisTest { account { id } }"
    jobber._documents.pop(source, None)
    start = threading.Barrier(32)
    answers: list[str] = []

    def ask() -> None:
        start.wait()
        answers.append(jobber.document(source))

    threads = [threading.Thread(target=ask) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert checks == [source] and len(set(answers)) == 1 and len(answers) == 32
    jobber._documents.pop(source, None)


def test_a_starting_worker_checks_every_document_the_adapter_sends(monkeypatch) -> None:
    monkeypatch.setattr(jobber, "_documents", {})
    _prepare_jobber_documents()
    checked = set(jobber._documents)
    assert {jobber.CLIENT_CARD, jobber.CLIENT_CREATE_NOTE, jobber.ACCOUNT, jobber.RECENT_CLIENTS} <= checked
    assert all(jobber.find_by_phone_document(n) in checked for n in range(1, jobber.MAX_SPELLINGS + 1))
    assert len(checked) == jobber.prepare_documents() >= 25
