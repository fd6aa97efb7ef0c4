"""The Socket.IO peer: python-socketio AsyncServer on uvicorn (uvloop, httptools).

Runs in its own virtualenv (bench/.peer-venv), so it imports nothing from Parley or
the bench. It serves the same workload as Parley's protocol, the idiomatic way:

- connect with auth ``{"user", "rooms"}`` -> ``enter_room`` for each room;
- ``send {room, body, client_id}`` with an ack callback -> per-room seq in memory
  (in Redis with ``--redis``: INCR, so the nodes of a cluster share one counter),
  ``emit("message", {...}, room=room)`` (encoded once per emit), ack returns the message;
- ``typing {room}`` -> ``emit("typing", ..., room=room, skip_sid=sid)``;
- ``read {room, seq}`` -> ``emit("read", ..., room=room)``.

There is no database and no authentication: the peer does strictly less work than
Parley per message, which only flatters the peer in the comparison.

usage: python sio_server.py --port P [--redis URL]
"""

from __future__ import annotations

import argparse
import itertools
import time

import redis.asyncio
import socketio
import uvicorn

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--redis", default=None, help="AsyncRedisManager URL (several peer processes)")
args = ap.parse_args()

manager = socketio.AsyncRedisManager(args.redis) if args.redis else None
sio = socketio.AsyncServer(
    async_mode="asgi",
    client_manager=manager,
    cors_allowed_origins="*",
    transports=["websocket"],
    logger=False,
    engineio_logger=False,
)
asgi = socketio.ASGIApp(sio)

seqs: dict[str, int] = {}
counters = redis.asyncio.from_url(args.redis) if args.redis else None
ids = itertools.count(1)
users: dict[str, dict[str, str]] = {}


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "http" and scope["path"] == "/healthz":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    await asgi(scope, receive, send)


@sio.event
async def connect(sid, environ, auth=None):  # type: ignore[no-untyped-def]
    auth = auth or {}
    user = str(auth.get("user", sid))
    await sio.save_session(sid, {"user": user})
    users[sid] = {"id": user, "username": f"u{user}", "display_name": f"u{user}"}
    for room in auth.get("rooms", []):
        await sio.enter_room(sid, str(room))


@sio.event
async def disconnect(sid, *args):  # type: ignore[no-untyped-def]
    users.pop(sid, None)


@sio.on("send")
async def on_send(sid, data):  # type: ignore[no-untyped-def]
    room = str(data["room"])
    if counters is not None:
        seq = await counters.incr(f"sio-bench:seq:{room}")
    else:
        seq = seqs[room] = seqs.get(room, 0) + 1
    message = {
        "id": str(next(ids)),
        "room": room,
        "seq": seq,
        "sender": users.get(sid),
        "body": data["body"],
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        "client_id": data.get("client_id"),
    }
    await sio.emit("message", {"message": message}, room=room)
    return {"client_id": data.get("client_id"), "message": message}


@sio.on("typing")
async def on_typing(sid, data):  # type: ignore[no-untyped-def]
    room = str(data["room"])
    await sio.emit("typing", {"room": room, "user": users.get(sid)}, room=room, skip_sid=sid)


@sio.on("read")
async def on_read(sid, data):  # type: ignore[no-untyped-def]
    room = str(data["room"])
    await sio.emit("read", {"room": room, "user": users.get(sid), "seq": data["seq"]}, room=room)


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        ws="auto",
        ws_per_message_deflate=False,
        log_level="warning",
        access_log=False,
        backlog=4096,
    )
