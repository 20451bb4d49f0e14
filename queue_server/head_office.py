"""The head office a branch ships its event log to: where it is and how the branch proves
who it is (a per-branch bearer token issued at enrolment, checked against the centre's
certificate from a configured CA file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wire.shipping import TOKEN_PREFIX

HEARTBEAT_S = 15.0
DOWNLINK_POLL_S = 10.0


@dataclass(frozen=True)
class HeadOffice:
    """Where the centre is and how this branch proves who it is (`[head_office]`)."""

    url: str
    branch: str
    token: str
    ca_file: Path | None  # None: the system's trusted authorities
    heartbeat_s: float = HEARTBEAT_S
    connect_timeout_s: float = 5.0
    timeout_s: float = 15.0  # a read or write: a blackholed link is given up after this
    # The centre's public key(s) (PEM) its documents are checked by; None: nothing is taken
    # from the centre, the branch only ships.
    verify_key: Path | None = None
    poll_s: float = DOWNLINK_POLL_S  # how often the branch asks for new documents
    # What the centre's network booking needs (each optional: without them the branch is
    # simply not offered there): the branch's public HTTPS base, whose booking API the
    # centre forwards bookings to, and where it stands (latitude, longitude in degrees; a
    # `location` in the centre's configuration takes its place once applied).
    public_url: str | None = None
    location: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not self.url.startswith("https://"):
            raise ValueError(f"head office url must be https://…, not {self.url!r}")
        parts = self.token.split(".")
        if not self.poll_s > 0:
            raise ValueError(f"head office poll_s must be > 0, not {self.poll_s!r}")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX or parts[1] != self.branch:
            raise ValueError(f"head office token is not {TOKEN_PREFIX}.{self.branch}.<secret>")
        if self.public_url is not None and not self.public_url.startswith("https://"):
            raise ValueError(f"public_url must be https://…, not {self.public_url!r}")
        if self.location is not None:
            lat, lon = self.location
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                raise ValueError(f"[branch] location {lat}, {lon} is not on the globe")
