"""What it costs: prices, limits (tokens, questions, photos), the dashboard, the usage admin."""
