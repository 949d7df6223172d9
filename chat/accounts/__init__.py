"""Accounts kept safe: the throttles on guessing passwords and on password-reset
emails, and open websockets that end with their session."""
