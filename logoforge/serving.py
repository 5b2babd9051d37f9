"""Running an ASGI app under uvicorn inside an existing event loop, knowing when it listens."""

import asyncio

import uvicorn


class NotifyingServer(uvicorn.Server):
    """A uvicorn server that sets `listening` once its sockets are bound."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        self.listening.set()


async def serve_until_listening(server: NotifyingServer, timeout_s: float = 30) -> asyncio.Task:
    """Start `server.serve()` as a task; return it once listening, raise if it stopped or timed out first."""
    serving = asyncio.create_task(server.serve())
    listening = asyncio.create_task(server.listening.wait())
    done, _ = await asyncio.wait({serving, listening}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    if listening not in done:
        listening.cancel()
        server.should_exit = True
        raise RuntimeError(f"uvicorn did not start listening on {server.config.host}:{server.config.port}")
    return serving
