"""The playground's web server: one page, its script and a small JSON API (aiohttp).

It binds to 127.0.0.1 unless told otherwise, serves only its own page and the shipped
scenarios and priors, and reads no file a user did not open: an opened scenario file comes
from the browser as text. A bad setting is answered with the one-paragraph message the CLI
prints for it (HTTP 400, ``{"error": ...}``).
"""

from __future__ import annotations

import math
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from society.app import results
from society.app.jobs import Runner
from society.app.plan import Settings, controls, shipped_names
from society.claims import Claim
from society.errors import SocietyError

RUNNER = web.AppKey("runner", Runner)
VIEWS = web.AppKey("views", dict)
STATIC = ("index.html", "app.js", "app.css")
TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css"}


def make_app(runner: Runner) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[RUNNER] = runner
    app[VIEWS] = {}
    app.add_routes(
        [
            web.get("/", _page),
            web.get("/static/{name}", _static),
            web.get("/api/meta", _meta),
            web.post("/api/scenario", _scenario),
            web.post("/api/run", _run),
            web.get("/api/job/{id}", _job),
            web.post("/api/export", _export),
        ]
    )
    return app


def _file(name: str) -> str:
    return resources.files("society.app").joinpath("static", name).read_text(encoding="utf-8")


async def _page(request: web.Request) -> web.Response:
    return web.Response(text=_file("index.html"), content_type="text/html")


async def _static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC:  # only the page's own files, whatever the path says
        raise web.HTTPNotFound()
    return web.Response(text=_file(name), content_type=TYPES[name.rsplit(".", 1)[1]])


async def _meta(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "controls": controls(),
            "scenarios": [{"name": n, "question": q} for n, q in shipped_names()],
        }
    )


def _settings(body: dict[str, Any]) -> Settings:
    query = {str(k): str(v) for k, v in (body.get("query") or {}).items()}
    return Settings.from_query(query, toml=str(body.get("toml") or ""))


def _error(err: SocietyError) -> web.Response:
    return web.json_response({"error": str(err)}, status=400)


async def _scenario(request: web.Request) -> web.Response:
    """The chosen scenario's resolved values of the controls, its question and its claim."""
    try:
        settings = _settings(await request.json())
        scenario = settings.resolved()
    except SocietyError as err:
        return _error(err)
    dump = scenario.model_dump()
    values = {}
    for c in controls():
        section, _, name = c["key"].rpartition(".")
        v = dump[section][name] if section else dump[name]
        values[c["key"]] = None if isinstance(v, float) and not math.isfinite(v) else v
    return web.json_response(
        {
            "name": scenario.name,
            "question": scenario.question,
            "claim": scenario.claim.text if scenario.claim.active else "",
            "values": values,
        }
    )


async def _run(request: web.Request) -> web.Response:
    """Start a view's runs (and its pinned reference's, same seeds and draws)."""
    body = await request.json()
    try:
        settings = _settings(body)
        sweep = settings.sweep()
        reference = None
        if body.get("reference"):
            reference = _settings(body["reference"]).sweep()
    except SocietyError as err:
        return _error(err)
    runner = request.app[RUNNER]
    n = len(sweep.seeds)
    job = runner.submit(
        [sweep.scenario_of(0, r) for r in range(n)],
        []
        if reference is None
        else [reference.scenario_of(0, r) for r in range(len(reference.seeds))],
    )
    request.app[VIEWS][job.id] = sweep.claim
    return web.json_response({"job": job.id, "total": n, "seeds": sweep.seeds})


async def _job(request: web.Request) -> web.Response:
    runner = request.app[RUNNER]
    job = runner.jobs.get(request.match_info["id"])
    if job is None:
        raise web.HTTPNotFound()
    claim: Claim = request.app[VIEWS][job.id]
    done = runner.results(job.keys)
    ref = runner.results(job.reference)
    runs = [dict(r, replicate=i) for i, r in enumerate(done) if r is not None]
    summaries = [r["summary"] for r in runs]
    return web.json_response(
        {
            "total": len(job.keys),
            "done": len(runs),
            "failed": runner.failures(job.keys),
            "runs": runs,
            "distribution": results.distribution(summaries),
            "answer": results.claim_answer(claim, summaries, len(job.keys)),
            "difference": results.difference(done, ref) if job.reference else [],
            "reference_done": sum(r is not None for r in ref),
        }
    )


async def _export(request: web.Request) -> web.Response:
    try:
        settings = _settings(await request.json())
        text = settings.export_toml()
    except SocietyError as err:
        return _error(err)
    return web.json_response(
        {
            "toml": text,
            "file": settings.file_name(),
            "command": settings.command(settings.file_name()),
            "permalink": "/?" + urlencode(settings.query()),
        }
    )


def serve(host: str, port: int, *, on_ready: Any = None, workers: int | None = None) -> None:
    """Run the app until interrupted (Ctrl-C or SIGTERM); ``on_ready(url)`` once it listens."""
    import asyncio
    import signal

    runner = Runner(workers)

    async def main() -> None:
        # SIGTERM (a service manager, a test, `kill`) ends the app like Ctrl-C does, so that the
        # worker pool is shut down below; the default handler would exit at once and leave the
        # pool's processes running without a parent.
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        app_runner = web.AppRunner(make_app(runner), access_log=None)
        await app_runner.setup()
        site = web.TCPSite(app_runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        if on_ready is not None:
            on_ready(f"http://{host}:{bound}/")
        try:
            await stop.wait()
        finally:
            await app_runner.cleanup()

    try:
        asyncio.run(main())
    finally:
        runner.close()
