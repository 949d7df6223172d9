"""What it costs: prices, limits, the staff dashboard and the usage admin."""
