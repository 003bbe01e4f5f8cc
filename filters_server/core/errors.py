"""The domain's exceptions: what went wrong, in the domain's words, never as an HTTP status.

The API layer owns the one table that turns each of these into a status, title and headers
(:mod:`filters_server.api.errors`). Storage failures (:class:`backends.StorageUnavailable`,
:class:`backends.StorageError`) and the PNG validator's rejections
(:class:`filters_server.core.pngcheck.PngRejected`) are domain exceptions too and go through
the same table.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of the domain's exceptions; ``str(exc)`` is a sentence a client may read."""


class ResourceNotFound(DomainError, LookupError):
    """Unknown, expired, deleted or someone else's: all look the same, so ids cannot be probed."""

    def __init__(
        self, detail: str = "No image resource with this id exists (it may have expired or been deleted)."
    ) -> None:
        super().__init__(detail)


class MediaGone(DomainError):
    """The resource exists, but its media can no longer be read or decoded."""


class SessionEnded(DomainError):
    """The Modality session a resource was bound to has ended; the resource has been removed."""


class InvalidInput(DomainError):
    """A client's request is malformed or names something unusable."""


class InputTooLarge(DomainError):
    """A body, part or image is over a configured limit."""


class BodyStalled(DomainError):
    """The client stopped sending its body for longer than the configured wait."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"No request body bytes arrived for {seconds:g} seconds.")
        self.seconds = seconds


class UploadTooSlow(DomainError):
    """The client took longer than the configured total time to send its whole upload."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"The upload was not received completely within {seconds:g} seconds.")
        self.seconds = seconds


class LifetimeUsedUp(DomainError):
    """Creating the resource took so long that its lifetime has (nearly) run out: it is not created."""

    def __init__(self) -> None:
        super().__init__("The request took so long that the image resource would have expired; nothing was kept.")


class UnusableImageInfo(DomainError):
    """A resource's ImageInfo cannot drive a filter (no LUT, or a degenerate one)."""


class PoolFull(DomainError):
    """Every pixel worker is busy and the queue is full: come back shortly."""

    def __init__(self, detail: str = "All pixel workers are busy; retry shortly.") -> None:
        super().__init__(detail)


class PixelMemoryBusy(PoolFull):
    """The jobs running hold so much pixel memory that this one does not fit beside them: come back shortly."""

    def __init__(self) -> None:
        super().__init__("The server's memory for image processing is in use; retry shortly.")


class ImageTooLargeForMemory(DomainError):
    """The image needs more memory to process than this server's whole pixel memory budget."""


class NotConfigured(DomainError):
    """The feature needs configuration this server was not given."""


class UpstreamNotFound(DomainError):
    """Another service (the Modality API) does not know what the client named."""


class UpstreamFailed(DomainError):
    """Another service (the Modality API) is unreachable or answered unusably."""


class LoginThrottled(DomainError):
    """Too many failed logins for this user name or from this address: wait before trying again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed authentication attempts; retry in {retry_after} seconds.")
        self.retry_after = retry_after


class AuthenticationBusy(DomainError):
    """Every password-hashing slot is taken (a guessing flood, most likely): come back shortly."""

    def __init__(self) -> None:
        super().__init__("Too many authentication attempts are being checked; retry shortly.")
