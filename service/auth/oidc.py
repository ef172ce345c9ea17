"""Sign-in with OpenID Connect: the provider's discovery document and keys, the authorization
request (code flow with PKCE, state and nonce), the code exchange and the ID token's checks.
This is the only code that speaks HTTP to the identity provider. Knows nothing of Flask."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from service.errors import AppError

log = logging.getLogger(__name__)

# Asymmetric algorithms only: an HS256 token would be signed with our own client secret.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
METADATA_SECONDS = 3600
CLOCK_LEEWAY_SECONDS = 60


class SignInFailed(AppError):
    """Signing in through the provider or the proxy failed; `code` names the page's message."""

    status = 400
    code = "sign_in_failed"
    message = "Signing in failed. Please try again."


class ProviderUnavailable(SignInFailed):
    status = 502
    code = "provider_unavailable"
    message = "The sign-in provider could not be reached. Please try again later."


class ProviderRefused(SignInFailed):
    code = "provider_refused"
    message = "The sign-in provider did not sign you in."


class InvalidFlow(SignInFailed):
    code = "invalid_state"
    message = "That sign-in link is not valid or has expired. Please start again."


class InvalidIdToken(SignInFailed):
    code = "invalid_token"
    message = "The sign-in provider's answer could not be verified."


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str
    timeout: float


@dataclass(frozen=True)
class Flow:
    """What the browser's sign-in must bring back: kept in a signed, short-lived cookie."""

    state: str
    nonce: str
    code_verifier: str

    @staticmethod
    def new() -> Flow:
        return Flow(state=generate_token(32), nonce=generate_token(32), code_verifier=generate_token(64))

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @staticmethod
    def from_dict(value: object) -> Flow:
        if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("state", "nonce",
                                                                                         "code_verifier")):
            raise InvalidFlow()
        return Flow(state=value["state"], nonce=value["nonce"], code_verifier=value["code_verifier"])


def verify_id_token(id_token: str, *, keys: KeySet, issuer: str, client_id: str, nonce: str,
                    now: int | None = None) -> dict[str, Any]:
    """The ID token's claims once its signature, issuer, audience, expiry and nonce hold."""
    try:
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
        JWTClaimsRegistry(
            now=now, leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError) as exc:
        log.warning("ID token refused: %s", type(exc).__name__)
        raise InvalidIdToken() from None
    claims = dict(token.claims)
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        log.warning("ID token refused: several audiences and another azp")
        raise InvalidIdToken()
    return claims


class OidcProvider:
    """One identity provider: its discovery document and keys are fetched once an hour."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    def close(self) -> None:
        self._session.close()

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._session.get(url, timeout=self.settings.timeout, allow_redirects=False)
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("identity provider unavailable: %s", type(exc).__name__)
            raise ProviderUnavailable() from None
        if not isinstance(body, dict):
            raise ProviderUnavailable()
        return body

    def metadata(self, *, refresh: bool = False) -> dict[str, Any]:
        with self._lock:
            if refresh or self._metadata is None or time.monotonic() - self._fetched_at > METADATA_SECONDS:
                url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
                metadata = self._get_json(url)
                if str(metadata.get("issuer", "")).rstrip("/") != self.settings.issuer.rstrip("/"):
                    log.warning("identity provider's discovery names another issuer")
                    raise ProviderUnavailable()
                for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(metadata.get(field), str):
                        raise ProviderUnavailable()
                self._metadata, self._keys, self._fetched_at = metadata, None, time.monotonic()
            return self._metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        metadata = self.metadata(refresh=refresh)
        with self._lock:
            if self._keys is None or refresh:
                try:
                    self._keys = KeySet.import_key_set(self._get_json(metadata["jwks_uri"]))  # type: ignore[arg-type]
                except (JoseError, ValueError, KeyError, TypeError):
                    raise ProviderUnavailable() from None
            return self._keys

    def _client(self, redirect_uri: str) -> OAuth2Session:
        secret = self.settings.client_secret
        client = OAuth2Session(
            self.settings.client_id, secret, scope=self.settings.scopes, redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
        )
        client.trust_env = self._session.trust_env
        return client

    def authorization_url(self, *, redirect_uri: str) -> tuple[str, Flow]:
        """Where to send the browser, and the flow its answer must match."""
        flow = Flow.new()
        with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(
                self.metadata()["authorization_endpoint"], state=flow.state, nonce=flow.nonce,
                code_verifier=flow.code_verifier,
            )
        return url, flow

    def claims_for(self, *, flow: Flow, redirect_uri: str, answer: dict[str, str]) -> dict[str, Any]:
        """The signed-in identity's claims from the provider's answer to our redirect."""
        if answer.get("error"):
            # Signs nobody in, so it is safe to say even when the state is missing (some providers omit it).
            log.info("identity provider refused the sign-in: %s", answer["error"][:64])
            raise ProviderRefused()
        if not answer.get("state") or answer.get("state") != flow.state:
            raise InvalidFlow()
        if not answer.get("code"):
            raise InvalidFlow()
        metadata = self.metadata()
        with self._client(redirect_uri) as client:
            try:
                token = client.fetch_token(
                    metadata["token_endpoint"], grant_type="authorization_code", code=answer["code"],
                    code_verifier=flow.code_verifier, timeout=self.settings.timeout,
                )
            except OAuthError as exc:
                log.warning("identity provider refused the code: %s", exc.error)
                raise ProviderRefused() from None
            except (requests.RequestException, ValueError) as exc:
                log.warning("identity provider unavailable: %s", type(exc).__name__)
                raise ProviderUnavailable() from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise InvalidIdToken()
        claims = self._verified(id_token, flow.nonce, metadata["issuer"])
        if "email" not in claims and isinstance(metadata.get("userinfo_endpoint"), str):
            claims = {**self._userinfo(metadata["userinfo_endpoint"], token["access_token"], claims["sub"]),
                      **claims}
        return claims

    def _verified(self, id_token: str, nonce: str, issuer: str) -> dict[str, Any]:
        client_id = self.settings.client_id
        try:
            return verify_id_token(id_token, keys=self.keys(), issuer=issuer, client_id=client_id, nonce=nonce)
        except InvalidIdToken:
            # The provider may have rotated its keys since we fetched them: look once more.
            return verify_id_token(id_token, keys=self.keys(refresh=True), issuer=issuer, client_id=client_id,
                                   nonce=nonce)

    def _userinfo(self, url: str, access_token: str, subject: str) -> dict[str, Any]:
        try:
            response = self._session.get(url, headers={"Authorization": f"Bearer {access_token}"},
                                         timeout=self.settings.timeout, allow_redirects=False)
            response.raise_for_status()
            info = response.json()
        except (requests.RequestException, ValueError):
            raise ProviderUnavailable() from None
        # The user info must be about the same person as the ID token (OIDC Core 5.3.2).
        if not isinstance(info, dict) or info.get("sub") != subject:
            raise InvalidIdToken()
        return {k: v for k, v in info.items() if k in ("email", "email_verified", "name", "preferred_username")}
