"""API keys: random secrets handed out once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from callytics_ray.errors import ConfigError
from callytics_ray.storage.db import writing
from callytics_ray.storage.tables import ApiKey

SCOPES = ("submit", "read", "admin")
_PREFIX = "cr_"


class ApiKeyRecord(BaseModel):
    """What the gateway knows about a caller after the key checks out."""

    id: int
    prefix: str
    tenant: str
    scopes: tuple[str, ...]
    name: str | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(engine: Engine, *, tenant: str, scopes: tuple[str, ...], name: str | None = None) -> tuple[str, ApiKeyRecord]:
    """Create a key. Returns (secret, record); the secret is not stored and cannot be shown again."""
    unknown = set(scopes) - set(SCOPES)
    if unknown or not scopes:
        raise ConfigError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
    if not tenant.strip():
        raise ConfigError("tenant must not be empty")
    prefix = secrets.token_hex(4)
    secret = f"{_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(prefix=prefix, key_hash=_hash(secret), tenant=tenant, scopes=",".join(scopes), name=name)
    with Session(engine) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
        return secret, _record(row)


def verify_api_key(engine: Engine, secret: str) -> ApiKeyRecord | None:
    """The key's record, or None when the secret is unknown, malformed or revoked."""
    parts = secret.split("_")
    if len(parts) < 3 or not secret.startswith(_PREFIX):
        return None
    prefix = parts[1]
    with Session(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        if row is None or row.revoked or not hmac.compare_digest(row.key_hash, _hash(secret)):
            return None
        return _record(row)


def revoke_api_key(engine: Engine, prefix: str) -> bool:
    with writing(), Session(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        if row is None:
            return False
        row.revoked = True
        session.add(row)
        session.commit()
        return True


def has_active_key(engine: Engine) -> bool:
    """Whether any tenant has a key that is not revoked."""
    with Session(engine) as session:
        return session.exec(select(ApiKey.id).where(ApiKey.revoked == False).limit(1)).first() is not None  # noqa: E712


def _record(row: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(id=row.id, prefix=row.prefix, tenant=row.tenant, scopes=tuple(row.scopes.split(",")), name=row.name)
