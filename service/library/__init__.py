"""Each user's library index: Immich's assets kept in the app's own database, synced in the
background, so a search answers in milliseconds whatever the library's size."""
