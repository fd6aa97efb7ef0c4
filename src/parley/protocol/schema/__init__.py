"""The JSON Schema of every wire shape, shipped in the package as ``protocol.json``.

One description of the objects (User, Message, Room), the WebSocket frames in
both directions, and the error and close codes. The web client's TypeScript
types are generated from it (``npm run gen:protocol`` in ``web/``), the OpenAPI
document reuses its object shapes, and the unit tests check the server's
parser, its encoder and the examples in ``docs/protocol.md`` against it.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

import orjson

JSON = dict[str, Any]

_LOCAL_REF = "#/$defs/"


@cache
def document() -> JSON:
    """The whole schema (draft 2020-12); its ``$defs`` name every shape."""
    data: JSON = orjson.loads((files(__name__) / "protocol.json").read_bytes())
    return data


def definitions(*names: str, ref_prefix: str = _LOCAL_REF) -> dict[str, JSON]:
    """The named shapes and every shape they refer to, with ``$ref``s under ``ref_prefix``.

    Lets another document embed them, as OpenAPI does under
    ``#/components/schemas/``, without a second copy to keep in step.
    """
    defs: dict[str, JSON] = document()["$defs"]
    out: dict[str, JSON] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out[name] = _rewrite(defs[name], ref_prefix, todo)
    return out


def _rewrite(node: Any, prefix: str, found: list[str]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, prefix, found) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref":
            name = value.removeprefix(_LOCAL_REF)
            found.append(name)
            out[key] = prefix + name
        else:
            out[key] = _rewrite(value, prefix, found)
    return out
