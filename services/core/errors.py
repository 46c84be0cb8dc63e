"""Domain errors. Transports map them: gRPC status codes, HTTP status codes, GraphQL errors."""

from __future__ import annotations


class FootfallError(Exception):
    """Base of every error the domain raises on purpose; `str(err)` is safe to show to a caller."""


class NotFound(FootfallError):
    pass


class AlreadyExists(FootfallError):
    pass


class InvalidArgument(FootfallError):
    pass


class PermissionDenied(FootfallError):
    pass


class Unavailable(FootfallError):
    pass


class Unauthenticated(FootfallError):
    """No credential, or one that is expired, tampered with or revoked (HTTP 401, gRPC UNAUTHENTICATED)."""


class TooLarge(FootfallError):
    """A body, image or file over its configured limit (HTTP 413, gRPC RESOURCE_EXHAUSTED)."""
