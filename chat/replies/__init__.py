"""One reply's life, independent of any socket: prepare, stream from the model, publish, save."""
