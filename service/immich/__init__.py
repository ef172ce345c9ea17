"""Everything about a user's Immich server: settings, URL policy, and the HTTP client."""
