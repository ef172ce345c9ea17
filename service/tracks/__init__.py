"""Location history: the user's own tracks (GPX, GeoJSON, Google Takeout), positions
estimated from them for photos without GPS, and writing chosen ones back to Immich."""
