"""Shares: expiring read-only links to a range of an owner's photos, and privacy zones."""
