"""The photo pipeline: open an untrusted photo, store it upright, size and encode
it for the model."""
