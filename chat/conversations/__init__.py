"""The core: questions, replies and conversations; writes (services) and reads (selectors)."""
