"""Password hashing with pwdlib (Argon2id), and a constant-cost answer for unknown users."""

from __future__ import annotations

from footfall.services.core.errors import InvalidArgument
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_LENGTH = 8
MAX_LENGTH = 1024  # argon2 would hash a megabyte happily; a login form never needs one

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the user does not exist, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("footfall-dummy-password")


def check_new_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise InvalidArgument(f"password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidArgument(f"password must be at most {MAX_LENGTH} characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_new_password(password))


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when `password` matches; with no hash (unknown user) it spends the same time and says False."""
    if len(password) > MAX_LENGTH:
        return False
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # noqa: BLE001 - a malformed stored hash is a failed login, never a 500
        return False
