"""An app whose module kills the interpreter as it is imported: a worker that always dies."""

import os

os._exit(7)


async def handler(call: object) -> None:  # never reached
    """Never runs."""
