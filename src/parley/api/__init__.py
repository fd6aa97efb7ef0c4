"""The HTTP API: JSON over aiohttp, same validation and errors as the WebSocket."""
