#!/usr/bin/env python3
"""Enqueues N messages on the edge: POST /dingding/local/send/messages, keep-alive, a few threads.

usage: enqueue.py EDGE_URL N TENANT STAFF_ID
Prints "ENQUEUED n seconds"; exits 1 when any answer is not 200/202.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def main() -> int:
    edge, total, tenant, staff = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    url = urllib.parse.urlparse(edge)
    threads = 4
    bad = []

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        for i in range(index, total, threads):
            body = json.dumps({"staff_ids": [staff], "tenant_id": tenant, "data": f"drain {i}"})
            conn.request("POST", "/dingding/local/send/messages", body,
                         {"Content-Type": "application/json"})
            resp = conn.getresponse()
            text = resp.read()
            if resp.status not in (200, 202):
                bad.append((resp.status, text[:200]))
        conn.close()

    start = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    took = time.monotonic() - start
    if bad:
        print(f"enqueue.py: {len(bad)} answers were not 200/202, e.g. {bad[0]}", file=sys.stderr)
        return 1
    print(f"ENQUEUED {total} {took:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
