"""The keyless, offline default: a rule-based menu, espeak-ng (extra ``tts``) or
prerecorded prompts, optional pocketsphinx (extra ``stt-lite``).
Public through :mod:`trio_plivo.agent.offline`; this package exports nothing of its own."""
