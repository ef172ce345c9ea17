"""Users, API keys and the permissions they grant in the fake Immich server."""

from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# Permissions (the subset of Immich's Permission enum that matters here, plus "all")
# --------------------------------------------------------------------------------------------

ALL_PERMISSIONS: tuple[str, ...] = (
    "activity.read",
    "album.read",
    "archive.read",
    "asset.read",
    "asset.update",
    "asset.delete",
    "asset.statistics",
    "asset.share",
    "asset.view",
    "asset.download",
    "asset.upload",
    "face.read",
    "library.read",
    "map.read",
    "memory.read",
    "partner.read",
    "person.read",
    "server.about",
    "server.versionCheck",
    "stack.read",
    "tag.read",
    "timeline.read",
    "timeline.download",
    "user.read",
    "userPreference.read",
)


def _without(*perms: str) -> tuple[str, ...]:
    return tuple(p for p in ALL_PERMISSIONS if p not in perms)


# --------------------------------------------------------------------------------------------
# Users and keys
# --------------------------------------------------------------------------------------------

ALICE_ID = "6f1c2a9e-3b7d-4c51-9a8e-2d4f6b8c0a11"
BOB_ID = "b0b5e7d2-81c4-4f3a-a6d9-5e2c7f9b1d22"

ALICE_USER: dict = {
    "id": ALICE_ID,
    "email": "alice@example.com",
    "name": "Alice Atlas",
    "profileImagePath": "",
    "avatarColor": "primary",
    "profileChangedAt": "2022-11-02T08:00:00.000Z",
    "storageLabel": "admin",
    "shouldChangePassword": False,
    "isAdmin": True,
    "createdAt": "2022-11-02T08:00:00.000Z",
    "updatedAt": "2024-12-30T18:04:11.120Z",
    "deletedAt": None,
    "oauthId": "",
    "quotaSizeInBytes": None,
    "quotaUsageInBytes": 0,
    "status": "active",
    "license": None,
}

BOB_USER: dict = {
    "id": BOB_ID,
    "email": "bob@example.com",
    "name": "Bob Builder",
    "profileImagePath": "",
    "avatarColor": "green",
    "profileChangedAt": "2023-03-12T16:20:00.000Z",
    "storageLabel": None,
    "shouldChangePassword": False,
    "isAdmin": False,
    "createdAt": "2023-03-12T16:20:00.000Z",
    "updatedAt": "2024-10-01T07:45:00.000Z",
    "deletedAt": None,
    "oauthId": "",
    "quotaSizeInBytes": 53687091200,
    "quotaUsageInBytes": 0,
    "status": "active",
    "license": None,
}

USERS: dict[str, dict] = {"alice": ALICE_USER, "bob": BOB_USER}
USER_NAME_BY_ID: dict[str, str] = {ALICE_ID: "alice", BOB_ID: "bob"}

ALICE_KEY = "fakeAliceAll0xQ4m9Tz7Lr2Vb8Nc5Hd1Wk6Ys3Pj0Ge"
BOB_KEY = "fakeBobAll00xR7n2Ux5Ms9Wc4Ld8Fe1Zq6Ht3Ka0Jv"
ALICE_KEY_NO_VIEW = "fakeAliceNoView0xS1p6Vy3Nd8Qf2Kg7Mb4Rt9Lw5C"
ALICE_KEY_NO_DOWNLOAD = "fakeAliceNoDownload0xT8q3Wz6Pe1Rh5Ln9Cv2Xm7"
ALICE_KEY_NO_READ = "fakeAliceOnlyUserRead0xU5r8Xa2Qg7Sj1Mp4Dw9"
ALICE_KEY_NO_UPDATE = "fakeAliceNoUpdate0xW6t1Zc4Nh8Vq3Jd7Rk2Bm5Fs"


@dataclass(frozen=True)
class ApiKey:
    key: str
    user: str  # "alice" | "bob"
    name: str
    permissions: tuple[str, ...]

    def grants(self, permission: str) -> bool:
        return "all" in self.permissions or permission in self.permissions


API_KEYS: dict[str, ApiKey] = {
    k.key: k
    for k in (
        ApiKey(ALICE_KEY, "alice", "atlas (all)", ("all",)),
        ApiKey(BOB_KEY, "bob", "atlas (all)", ("all",)),
        ApiKey(ALICE_KEY_NO_VIEW, "alice", "no asset.view", _without("asset.view")),
        ApiKey(ALICE_KEY_NO_DOWNLOAD, "alice", "no asset.download", _without("asset.download")),
        ApiKey(ALICE_KEY_NO_READ, "alice", "user.read only", ("user.read",)),
        ApiKey(ALICE_KEY_NO_UPDATE, "alice", "no asset.update", _without("asset.update")),
    )
}
