"""What "Test connection" reports: reachability, version, user, and each permission we need."""

from __future__ import annotations

from typing import Any

from service.immich.client import (
    ImmichAuthError,
    ImmichClient,
    ImmichError,
    ImmichNotFound,
    ImmichPermissionError,
    search_query,
)

# What each permission is for, in words a user understands.
NEEDED = {
    "asset.read": "search your photos",
    "asset.view": "show thumbnails and previews",
    "asset.download": "download originals",
}
# Only for writing estimated positions back to Immich, when the user asks.
OPTIONAL = {"asset.update": "write estimated positions back to Immich"}


def check_connection(client: ImmichClient) -> dict[str, Any]:
    try:
        version = client.server_version()
    except ImmichError as exc:
        return {"reachable": False, "reason": exc.message}

    report: dict[str, Any] = {"reachable": True, "serverVersion": version, "immichUser": None}
    try:
        report["immichUser"] = client.current_user().get("email")
    except ImmichPermissionError:
        pass  # a key without user.read can still do everything Photo Atlas needs
    except ImmichAuthError:
        return {"reachable": False, "serverVersion": version, "reason": "Immich rejected the API key"}
    except ImmichError as exc:
        return {"reachable": False, "serverVersion": version, "reason": exc.message}

    permissions: dict[str, bool | None] = dict.fromkeys(NEEDED)
    sample_id = None
    try:
        page = client.search_metadata(search_query(page=1, size=1, with_exif=False))
        permissions["asset.read"] = True
        sample_id = page.items[0]["id"] if page.items else None
    except ImmichPermissionError:
        permissions["asset.read"] = False
    except ImmichAuthError:
        return {"reachable": False, "serverVersion": version, "reason": "Immich rejected the API key"}
    except ImmichError as exc:
        return {"reachable": False, "serverVersion": version, "reason": exc.message}

    if sample_id:
        permissions["asset.view"] = _can(lambda: client.open_thumbnail(sample_id, size="thumbnail", if_none_match=None))
        permissions["asset.download"] = _can(lambda: client.open_original(sample_id, range_header="bytes=0-0"))

    missing = [name for name, granted in permissions.items() if granted is False]
    permissions["asset.update"] = _can_update(client)
    report["permissions"] = permissions
    report["missingPermissions"] = missing
    report["missingOptionalPermissions"] = [name for name in OPTIONAL if permissions[name] is False]
    if missing:
        report["reason"] = "The API key cannot " + ", ".join(
            f"{NEEDED[name]} ({name})" for name in missing
        )
    elif sample_id is None:
        report["reason"] = "No photos found to check thumbnail and download permissions"
    return report


def _can_update(client: ImmichClient) -> bool | None:
    try:
        client.update_assets([])  # no ids: changes nothing, but the permission is checked
    except ImmichPermissionError:
        return False
    except ImmichError:
        return None
    return True


def _can(call: Any) -> bool | None:
    try:
        media = call()
    except ImmichPermissionError:
        return False
    except (ImmichNotFound, ImmichError):
        return None
    media.close()
    return True
