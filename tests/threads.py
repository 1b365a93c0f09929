"""Requests sent at once from threads (real commits): the races a retrying phone or two dispatchers make."""
from __future__ import annotations

import threading


def at_once(app, calls, *, alongside=None, join_s: float = 30) -> list:
    """Run each call(client) on its own thread (its own app context and test client), all released together
    by one barrier, and `alongside()` with them if given; the calls' results in order."""
    barrier = threading.Barrier(len(calls) + (1 if alongside else 0))
    results = [None] * len(calls)

    def run(i, call):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            results[i] = call(client)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    if alongside:
        threads.append(threading.Thread(target=lambda: (barrier.wait(), alongside())))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(join_s)
    return results
