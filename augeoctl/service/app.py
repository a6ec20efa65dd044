"""The reference service's FastAPI application.

Configuration from the environment: ``AUGEO_SERVICE_PG_DSN`` and
``AUGEO_SERVICE_REDIS_URL``; the release from ``AUGEO_SERVICE_SLOTS_FILE`` and
``AUGEO_SERVICE_SLOT`` (the slot record a worker reads when it starts, so a graceful
reload picks up a swap), else ``AUGEO_RELEASE``. A release may carry faults for drills
and tests: ``{"ready": "fail"}`` (``/health/ready`` answers 503) and ``{"status_500":
["GET /api/users/{user_id}/events"]}`` (those routes answer 500). Endpoints:

- ``GET /health`` (process up, with ``release``), ``GET /health/live``, ``GET /health/ready``
  (PostgreSQL and Redis reachable, each with status and latency; 503 when not ready);
- ``GET /api/organizations``, ``GET /api/users/{id}`` (cached in Redis, ``X-Cache:
  hit|miss``), ``GET /api/users/{id}/events?limit=N``, ``POST /api/events``,
  ``GET /api/stats``;
- ``GET /metrics``: request statistics (see ``augeoctl.service.stats``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from augeoctl.service.stats import ProcessSampler, Recorder

READY_TIMEOUT = 1.5  # seconds per dependency probe: a dead dependency answers 503 fast
CACHE_TTL = 60


class NewEvent(BaseModel):
    user_id: int = Field(gt=0)
    kind: str = Field(min_length=1, max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict)


def create_app(pg_dsn: str, redis_url: str, release: dict[str, Any] | None = None) -> FastAPI:
    from psycopg_pool import AsyncConnectionPool
    from redis import asyncio as aioredis

    recorder = Recorder()
    sampler = ProcessSampler()
    pool = AsyncConnectionPool(pg_dsn, min_size=1, max_size=10, open=False,
                               kwargs={"autocommit": True, "connect_timeout": 3})
    cache = aioredis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await pool.open(wait=False)
        yield
        await pool.close()
        await cache.aclose()

    app = FastAPI(title="Augeo reference service", lifespan=lifespan)
    release = release or {}
    version = str(release.get("version") or "unversioned")
    faults = release.get("faults") or {}
    # "METHOD /path/{param}" -> (method, a pattern of the path): routing has not run yet
    # when the middleware sees a request.
    broken = [(r.split(" ", 1)[0], re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(r.split(" ", 1)[1])) + "$"))
              for r in faults.get("status_500") or ()]

    @app.middleware("http")
    async def timing(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            if any(request.method == m and p.match(request.url.path) for m, p in broken):
                return JSONResponse({"detail": f"release {version}: deliberately broken"}, status_code=500)
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", request.url.path)
            if path != "/metrics":
                recorder.add(f"{request.method} {path}", status, (time.perf_counter() - start) * 1000)

    async def probe_pg() -> dict[str, Any]:
        # A fresh connection, not one from the pool: readiness is "a new client can
        # connect now", and the pool may still be backing off after an outage.
        from psycopg import AsyncConnection

        start = time.perf_counter()
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                async with await AsyncConnection.connect(pg_dsn, connect_timeout=2, autocommit=True) as conn:
                    await conn.execute("SELECT 1")
            return {"ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 2)}
        except Exception as exc:  # any failure means not ready
            return {"ok": False, "latency_ms": round((time.perf_counter() - start) * 1000, 2),
                    "error": type(exc).__name__ + (f": {str(exc).splitlines()[0]}" if str(exc) else "")}

    async def probe_redis() -> dict[str, Any]:
        start = time.perf_counter()
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await cache.ping()
            return {"ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 2)}
        except Exception as exc:
            return {"ok": False, "latency_ms": round((time.perf_counter() - start) * 1000, 2),
                    "error": type(exc).__name__ + (f": {str(exc).splitlines()[0]}" if str(exc) else "")}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "release": version}

    @app.get("/health/live")
    async def live() -> dict[str, Any]:
        return {"status": "alive", "uptime_s": round(time.monotonic() - sampler.started, 1)}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        pg, rd = await asyncio.gather(probe_pg(), probe_redis())
        ok = pg["ok"] and rd["ok"] and faults.get("ready") != "fail"
        checks: dict[str, dict[str, Any]] = {"postgres": pg, "redis": rd}
        if faults.get("ready") == "fail":
            checks["release"] = {"ok": False, "error": f"release {version} fails its readiness"}
        body = {"status": "ready" if ok else "not-ready", "release": version, "checks": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/api/organizations")
    async def organizations() -> list[dict[str, Any]]:
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT id, name FROM app.organizations ORDER BY id")
            return [{"id": r[0], "name": r[1]} for r in await cur.fetchall()]

    @app.get("/api/users/{user_id}")
    async def user(user_id: int, response: Response) -> dict[str, Any]:
        key = f"augeo:user:{user_id}"
        try:
            cached = await cache.get(key)
        except Exception:
            cached = None  # the cache is an optimisation: fall through to the database
        if cached is not None:
            response.headers["X-Cache"] = "hit"
            return json.loads(cached)
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT u.id, u.email, u.org_id, o.name FROM app.users u"
                " JOIN app.organizations o ON o.id = u.org_id WHERE u.id = %s", (user_id,))
            row = await cur.fetchone()
        if row is None:
            raise HTTPException(404, f"no user {user_id}")
        data = {"id": row[0], "email": row[1], "org_id": row[2], "organization": row[3]}
        try:
            await cache.set(key, json.dumps(data), ex=CACHE_TTL)
        except Exception:
            pass
        response.headers["X-Cache"] = "miss"
        return data

    @app.get("/api/users/{user_id}/events")
    async def user_events(user_id: int, limit: int = 20) -> list[dict[str, Any]]:
        limit = max(1, min(limit, 200))
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, kind, payload, created_at FROM app.events WHERE user_id = %s"
                " ORDER BY id DESC LIMIT %s", (user_id, limit))
            return [{"id": r[0], "kind": r[1], "payload": r[2], "created_at": r[3].isoformat()}
                    for r in await cur.fetchall()]

    @app.post("/api/events", status_code=201)
    async def new_event(event: NewEvent) -> dict[str, Any]:
        from psycopg.types.json import Jsonb

        async with pool.connection() as conn:
            exists = await (await conn.execute("SELECT 1 FROM app.users WHERE id = %s", (event.user_id,))).fetchone()
            if not exists:
                raise HTTPException(422, f"no user {event.user_id}")
            cur = await conn.execute(
                "INSERT INTO app.events(user_id, kind, payload) VALUES (%s, %s, %s) RETURNING id",
                (event.user_id, event.kind, Jsonb(event.payload)))
            row = await cur.fetchone()
        return {"id": row[0] if row else None}

    @app.get("/api/stats")
    async def stats() -> dict[str, int]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT (SELECT count(*) FROM app.organizations), (SELECT count(*) FROM app.users),"
                " (SELECT count(*) FROM app.events)")
            row = await cur.fetchone()
        assert row is not None
        return {"organizations": row[0], "users": row[1], "events": row[2]}

    @app.get("/metrics")
    async def metrics() -> dict[str, Any]:
        return {"windows": recorder.snapshot(), "process": sampler.sample()}

    return app


def release_from_env() -> dict[str, Any]:
    """The release this worker serves: its slot's record, else AUGEO_RELEASE."""
    slots_file, slot = os.environ.get("AUGEO_SERVICE_SLOTS_FILE"), os.environ.get("AUGEO_SERVICE_SLOT")
    if slots_file and slot:
        try:
            record = json.loads(open(slots_file, encoding="utf-8").read()).get(slot) or {}
        except (OSError, ValueError):
            record = {}
        if record.get("version"):
            return dict(record)
    return {"version": os.environ.get("AUGEO_RELEASE") or "unversioned"}


def app_from_env() -> FastAPI:
    """The factory gunicorn's workers call (``augeoctl.service.app:app_from_env()``), or
    ``uvicorn --factory augeoctl.service.app:app_from_env``."""
    try:
        return create_app(os.environ["AUGEO_SERVICE_PG_DSN"], os.environ["AUGEO_SERVICE_REDIS_URL"],
                          release_from_env())
    except KeyError as exc:
        raise SystemExit(f"augeoctl service: {exc.args[0]} is not set") from None
