"""Browser pages: server-rendered shells whose ES modules call the JSON API."""

from service.web.pages import bp

__all__ = ["bp"]
