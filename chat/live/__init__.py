"""The conversation websocket: the consumer, its frames, and the channel layer between processes."""
