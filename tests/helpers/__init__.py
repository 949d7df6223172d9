"""What several test modules share: factories, the fake upstream, sockets, browser steps."""
