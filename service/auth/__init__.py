"""Accounts, passwords, tokens and their revocation."""
