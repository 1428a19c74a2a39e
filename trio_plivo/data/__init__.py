"""Small audio files bundled with trio-plivo for demos and tests (see ``tools/``)."""
