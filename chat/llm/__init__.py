"""Talking to OpenAI-compatible chat models. Knows nothing of requests, sockets or the ORM."""
