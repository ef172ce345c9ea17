"""Trips: runs of days away from home, found in the library index, which the user can
rename, hide, merge and split."""
