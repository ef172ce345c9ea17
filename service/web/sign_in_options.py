"""What the sign-in page offers (password, single sign-on, the proxy's header), and the words
for each way single sign-on can fail: the page shows only these, never text from the URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.auth.external_accounts import EmailNotVerified, LinkedElsewhere, NoAccount
from service.auth.oidc import InvalidFlow, InvalidIdToken, ProviderRefused, ProviderUnavailable, SignInFailed
from service.auth.trusted_header import NoHeader, UntrustedPeer

SIGN_IN_MESSAGES = {
    error.code or "": error.message
    for error in (SignInFailed, ProviderUnavailable, ProviderRefused, InvalidFlow, InvalidIdToken,
                  EmailNotVerified, NoAccount, LinkedElsewhere, UntrustedPeer, NoHeader)
}


def sign_in_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The page's settings, handed to login-page.js."""
    return {
        "passwordLogin": bool(config["PASSWORD_LOGIN"]),
        "sso": {"label": config["OIDC_BUTTON_LABEL"], "url": "/auth/oidc/login"} if config["OIDC_ISSUER"] else None,
        "headerLogin": "/auth/header/login" if config["TRUSTED_HEADER_AUTH"] else None,
    }
