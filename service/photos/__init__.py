"""Photos: search with a distance filter, and the media proxy."""
