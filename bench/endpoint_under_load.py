#!/usr/bin/env python3
"""API endpoint under slow clients: how long a valid signed POST waits for its 202 while
many connections sit half-sent (slowloris).

    python bench/endpoint_under_load.py                    # 1,000 and 1,100 slow clients
    python bench/endpoint_under_load.py --slow 2000 --posts 20

The server (the real sync runner with one API channel, a temp store) runs in a child
process, so its file limit is its own: once with the limit this machine gives, once with
1,024 (the usual limit of a systemd service) as in the report that started this. The slow
clients open their connections, send half a request's headers and stop; then ``posts``
valid signed POSTs are sent one after another and timed. The table shows each scenario's
answers, median and worst time to 202 (target: under 1 s), the connections the endpoint
dropped or refused, and the channel's health meanwhile. A benchmark, not a test: it
prints numbers and never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

SECRET = "bench-secret"
HALF_SENT = b"POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


# -- the server (child process) ---------------------------------------------------------------


async def serve(folder: str, nofile: int | None) -> None:
    """Run the API channel; print its port, then on each stdin line the endpoint's counts."""
    if nofile is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
    from agentconsole import config as config_module
    from agentconsole.store import connect
    from agentconsole.sync import SyncRunner
    from agentconsole_api import ApiChannel

    store = await connect(Path(folder) / "store.db", agent="bench")
    data = {
        "agent": {"name": "bench"},
        "channels": {
            "site": {"type": "api", "listen": "127.0.0.1:0", "secret_command": f"printf {SECRET}"}
        },
    }
    runner = SyncRunner(
        store, config_module.parse(data, "bench.toml"), plugin_classes={"api": ApiChannel}
    )
    await runner.start()
    plugin = await runner.plugin("site")
    assert isinstance(plugin, ApiChannel)
    while not plugin.endpoint.running:
        await asyncio.sleep(0.01)
    guard = plugin.endpoint.guard
    assert guard is not None
    print(json.dumps({"port": plugin.endpoint.bound_port, "cap": guard.cap}), flush=True)
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):
        [channel] = await store.channels()
        stats = {
            "open": guard.open_connections,
            "dropped": guard.dropped,
            "refused": guard.refused,
            "health": channel.health,
        }
        print(json.dumps(stats), flush=True)
    await runner.stop()
    await store.close()


# -- the clients (this process) ---------------------------------------------------------------


def body_of(number: int) -> bytes:
    return json.dumps(
        {
            "id": f"load-{number}",
            "conversation": f"chat-{number}",
            "author": {"id": f"visitor-{number}", "name": f"Visitor {number}"},
            "text": "Is anyone there? The checkout page hangs.",
        }
    ).encode()


async def scenario(slow: int, posts: int, nofile: int | None) -> dict[str, str]:
    from agentconsole.plugin.http import sign

    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, __file__, "--serve", folder]
        if nofile is not None:
            command += ["--nofile", str(nofile)]
        server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert server.stdin is not None and server.stdout is not None
        started = json.loads(server.stdout.readline())
        port = started["port"]

        def ask() -> dict[str, object]:
            assert server.stdin is not None and server.stdout is not None
            server.stdin.write("stats\n")
            server.stdin.flush()
            return dict(json.loads(server.stdout.readline()))

        writers: list[asyncio.StreamWriter] = []
        failed_to_connect = 0
        for _ in range(slow):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                failed_to_connect += 1
                continue
            writer.write(HALF_SENT)
            writers.append(writer)
        await asyncio.sleep(0.5)  # let the server accept (and drop) what it will
        during = ask()
        times: list[float] = []
        answers: dict[int, int] = {}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            for number in range(posts):
                body = body_of(number)
                headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
                begun = time.perf_counter()
                try:
                    async with http.post(
                        f"http://127.0.0.1:{port}/messages", data=body, headers=headers
                    ) as reply:
                        await reply.read()
                        status = reply.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                times.append(time.perf_counter() - begun)
                answers[status] = answers.get(status, 0) + 1
        after = ask()
        for writer in writers:
            writer.close()
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
    limit = nofile or resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return {
        "file limit": f"{limit}",
        "connection cap": f"{started['cap']}",
        "slow clients": f"{slow}"
        + (f" ({failed_to_connect} not connected)" * bool(failed_to_connect)),
        "open at the server": f"{during['open']}",
        "POST answers": ", ".join(f"{s or 'no answer'}×{n}" for s, n in sorted(answers.items())),
        "time to 202, median": f"{statistics.median(times) * 1000:.1f} ms",
        "time to 202, worst": f"{max(times) * 1000:.1f} ms",
        "slow clients dropped": f"{after['dropped']}",
        "connections refused (503)": f"{after['refused']}",
        "channel health meanwhile": f"{during['health']}",
    }


async def run(slow: list[int], posts: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = max(slow) + 256
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < need:  # the clients need a file each
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    columns = [
        await scenario(slow[0], posts, None),
        await scenario(slow[-1], posts, 1024),
    ]
    print(
        f"agentconsole API endpoint under slow clients — {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}, loopback, {posts} signed POSTs each"
    )
    for key in columns[0]:
        print(f"  {key:<28}" + "".join(f"{column[key]:>26}" for column in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, nargs="+", default=[1000, 1100])
    parser.add_argument("--posts", type=int, default=10, help="signed POSTs to time")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--nofile", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        asyncio.run(serve(arguments.serve, arguments.nofile))
        return
    asyncio.run(run(arguments.slow, arguments.posts))


if __name__ == "__main__":
    main()
