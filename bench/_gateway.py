"""A minimal reverse proxy for bench/pages.py: one address routing by the first path segment, as the
ingress does (deploy/kustomize/base/ingress.yaml): /budget/, /monitoring/, /notifications/ to their
APIs, everything else (the pages, /intake/) to intake. Bench tooling, not part of the product.

    python bench/_gateway.py --port P --intake URL --budget URL --monitoring URL --notifications URL
"""

from __future__ import annotations

import argparse
from typing import Any

import httpx
import uvicorn

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection", "host", "content-length"}


def build(routes: dict[str, str], default: str) -> Any:
    clients: dict[str, httpx.AsyncClient] = {}

    def client_for(base: str) -> httpx.AsyncClient:
        if base not in clients:
            clients[base] = httpx.AsyncClient(base_url=base, timeout=120.0,
                                              limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
        return clients[base]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        base = next((url for prefix, url in routes.items() if path.startswith(prefix)), default)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.decode().lower() not in HOP]
        url = path + (("?" + scope["query_string"].decode()) if scope["query_string"] else "")
        r = await client_for(base).request(scope["method"], url, headers=headers, content=body)
        out = [(k.encode(), v.encode()) for k, v in r.headers.multi_items() if k.lower() not in HOP]
        out.append((b"content-length", str(len(r.content)).encode()))
        await send({"type": "http.response.start", "status": r.status_code, "headers": out})
        await send({"type": "http.response.body", "body": r.content})

    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    for name in ("intake", "budget", "monitoring", "notifications"):
        p.add_argument(f"--{name}", required=True)
    a = p.parse_args()
    routes = {"/budget/": a.budget, "/monitoring/": a.monitoring, "/notifications/": a.notifications}
    uvicorn.run(build(routes, a.intake), host="127.0.0.1", port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
