"""Token signing: one RSA key per emulator start, published as JWKS; RS256 access and ID tokens."""

import base64
import hashlib
import secrets

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_RESOURCE = "https://outlook.office365.com"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"


def b64url_uint(number):
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def opaque(prefix=""):
    """An opaque credential value (authorization code, refresh token, device code)."""
    return prefix + secrets.token_urlsafe(48)


def digest(value):
    """What the store keeps instead of a credential value."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class Signer:
    """Signs tokens and publishes the matching JWKS."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_urlsafe(20)
        self.public_key = self.key.public_key()

    def jwks(self):
        numbers = self.public_key.public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.kid, "alg": "RS256",
                          "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}]}

    def sign(self, claims):
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid, "typ": "JWT"})

    def verify(self, token, audiences, now):
        """Decoded claims, or raise jwt.InvalidTokenError (bad signature, wrong audience, expired)."""
        claims = jwt.decode(token, self.public_key, algorithms=["RS256"], audience=list(audiences),
                            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False})
        if claims.get("exp", 0) < now:
            raise jwt.ExpiredSignatureError("Lifetime validation failed, the token is expired.")
        if claims.get("nbf", 0) > now + 300:
            raise jwt.ImmatureSignatureError("The token is not yet valid.")
        return claims


def client_info(oid, tid):
    """msal asks for client_info=1: base64url JSON of the user's object id and home tenant."""
    return b64url(('{"uid":"%s","utid":"%s"}' % (oid, tid)).encode("ascii"))
