"""The storage interface the API, the gateway and the workers depend on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Literal, Protocol

from parley.models import (
    Account,
    Attachment,
    AuditEntry,
    DirectoryRoom,
    Draft,
    Entry,
    Identity,
    Message,
    ReadMarker,
    Room,
    RoomEvent,
    RoomRole,
    RoomStats,
    SearchFilter,
    SearchHit,
    Settings,
    SiteRole,
    User,
)
from parley.store.push import PushSubscription

if TYPE_CHECKING:
    from parley.store.files import NewFile, StoredFile


@dataclass(frozen=True, slots=True)
class RoomChange:
    """What a room update sets; None leaves a field as it is (``topic`` "" clears it)."""

    name: str | None = None
    topic: str | None = None
    public: bool | None = None


class UsernameTaken(Exception):
    pass


class IdentityTaken(Exception):
    """The provider account is already linked to a Parley user (``user_id``)."""

    def __init__(self, user_id: int | None) -> None:
        super().__init__(user_id)
        self.user_id = user_id


class LastSignInMethod(Exception):
    """Removing this identity would leave the user no way to sign in."""


class NotMember(Exception):
    """The room does not exist or the user is not in it; callers answer ``not_found``."""


class NoTarget(Exception):
    """The seq is not a message of the room, or that message is deleted: ``not_found``."""


class NoFile(Exception):
    """An attachment that is not an unattached upload of the sender in the room."""


class NotAllowed(Exception):
    """Not for the user's role: editing someone else's message, deleting it without running
    the room, changing a group as a plain member: ``forbidden``."""


class Refusal(Enum):
    """Why ``append_many`` stored nothing for a draft."""

    NOT_MEMBER = "not_member"
    NO_TARGET = "no_target"
    NOT_ALLOWED = "not_allowed"
    UNCHANGED = "unchanged"
    """A react already there, or an unreact that is not: acked with no event, no seq taken."""
    NO_FILE = "no_file"
    """An attachment that is not the sender's unattached upload in the room."""


Outcome = Message | RoomEvent | Refusal
"""What storing one draft did: the entry (the original one for a retried client_id) or why not."""


def refusal_error(refusal: Refusal) -> Exception | None:
    """The exception a single append raises for a refusal; None for ``UNCHANGED``."""
    if refusal is Refusal.NOT_MEMBER:
        return NotMember()
    if refusal is Refusal.NO_TARGET:
        return NoTarget()
    if refusal is Refusal.NOT_ALLOWED:
        return NotAllowed()
    if refusal is Refusal.NO_FILE:
        return NoFile()
    return None


class StoreFailed(Exception):
    """The database could not be reached or lost a write of messages; nothing of it was stored.

    An outage: the same write may work later, so callers retry it (the
    persister) or answer ``unavailable`` (the direct log). The store's own
    error type, so that its callers depend on the ``Store`` interface and not
    on the database library behind it.
    """


class StoreRefused(Exception):
    """The database refused the data itself (an integrity or data error); nothing was stored.

    Not an outage: the same write will be refused again, so retrying it only
    blocks whatever waits behind it. A batch refused this way holds at least
    one draft that can never be stored; the persister finds it by splitting
    the batch (``log/kafka/bisect.py``).
    """


@dataclass(frozen=True, slots=True)
class RefreshUse:
    """What presenting a refresh token did.

    - ``rotated``: it was current; it is now used up and its successor is stored.
    - ``replayed``: it was rotated less than the grace window ago and that
      successor is still unused: the caller hands out the same successor again.
    - ``reused``: it was rotated before that: a copy is in other hands, so its
      whole family (the session) is now revoked.
    - ``invalid``: unknown, expired, or its family is revoked.
    """

    outcome: Literal["rotated", "replayed", "reused", "invalid"]
    user_id: int | None = None
    family: str | None = None


class Store(Protocol):
    async def close(self) -> None: ...
    async def ping(self) -> None: ...

    # users
    async def create_user(
        self, username: str, display_name: str, password_hash: str | None
    ) -> User: ...
    async def credentials(self, username: str) -> tuple[User, str | None] | None:
        """The user and their password hash (None: they sign in through providers only)."""

    async def set_password(self, user_id: int, password_hash: str) -> None: ...
    async def user(self, user_id: int) -> User | None: ...
    async def users_named(self, usernames: Sequence[str]) -> list[User]: ...
    async def search_users(self, prefix: str, limit: int) -> list[User]: ...

    # profiles and settings
    async def set_display_name(self, user_id: int, name: str) -> User | None:
        """The user as renamed; None when there is no such user."""

    async def record_last_seen(self, user_id: int, at: int) -> None:
        """The user's last connection everywhere closed at ``at`` (once per going offline)."""

    async def visible_user(self, viewer_id: int, user_id: int) -> tuple[User, int | None] | None:
        """The user and when they were last seen, if the viewer is them or shares a room
        with them; None otherwise, the same as for no such user."""

    async def settings(self, user_id: int) -> Settings:
        """The user's settings; the defaults when they never saved any."""

    async def put_settings(self, user_id: int, wanted: Settings) -> None: ...

    # accounts: the site-wide role and the disabled mark
    async def account(self, user_id: int) -> Account | None: ...
    async def accounts(self, query: str, *, offset: int, limit: int) -> list[Account]:
        """Users whose username or display name contains ``query`` (any case), by username."""

    async def set_role(self, username: str, role: SiteRole) -> bool:
        """False when there is no such user."""

    async def set_disabled(self, user_id: int, disabled_at: int | None) -> Account | None:
        """Disable (a time) or enable (None) the user; None when there is no such user."""

    async def record_audit(self, actor_id: int, action: str, target: str, client: str) -> None: ...
    async def audit(self, *, before: int | None, limit: int) -> list[AuditEntry]:
        """Admin actions, newest first; ``before``: an entry id, for the next page."""

    async def room_stats(self, *, offset: int, limit: int) -> list[RoomStats]:
        """Every room with its member and (undeleted) message counts, latest activity first."""

    # identities: provider accounts that sign a user in, found by (issuer, subject) only
    async def identity_user(self, issuer: str, subject: str) -> User | None: ...
    async def create_user_with_identity(
        self, username: str, display_name: str, issuer: str, subject: str, label: str
    ) -> User:
        """A new user without a password, and their first identity, in one transaction.

        Raises ``UsernameTaken`` or ``IdentityTaken`` (someone signed in with the
        same provider account at the same moment); nothing is stored then.
        """

    async def link_identity(self, user_id: int, issuer: str, subject: str, label: str) -> bool:
        """Link a provider account to the user; False if it already was linked to them.

        Raises ``IdentityTaken`` when it is linked to another user.
        """

    async def identities(self, user_id: int) -> list[Identity]: ...
    async def unlink_identity(self, user_id: int, identity_id: int) -> bool:
        """Remove one of the user's identities; False if they have no such identity.

        Raises ``LastSignInMethod`` when it is their only way to sign in (no
        password, no other identity). Unlinks of one user are serialised, so two
        at once cannot remove the last two ways together.
        """

    # refresh tokens: a family is one session, its tokens rotate one after the other
    async def start_refresh_family(
        self, token_hash: str, family: str, user_id: int, expires_at: int
    ) -> None: ...
    async def rotate_refresh_token(
        self, token_hash: str, successor_hash: str, *, now: int, expires_at: int, grace: int
    ) -> RefreshUse:
        """Use up ``token_hash`` and store ``successor_hash`` in one transaction.

        Atomic per family: a rotation, a replay check and a revocation of one
        family never interleave, so once a reuse is detected no token of the
        family works, not even one issued by a concurrent rotation. ``grace``
        (microseconds) is how long after its rotation a token still answers
        ``replayed`` while its successor is unused (0: never).
        """

    async def revoke_refresh_family(self, token_hash: str, now: int) -> tuple[int, str] | None:
        """Revoke the session that ``token_hash`` belongs to (logout).

        Returns its user and family, or None when no live session had that token.
        """

    async def revoke_user_families(self, user_id: int, now: int, keep: str | None) -> None:
        """Revoke every live session of the user but ``keep`` (sign out everywhere else)."""

    async def refresh_family_live(self, family: str) -> bool:
        """Whether the session exists and is not revoked (an access token's ``sid``)."""

    # rooms and members
    async def create_group(
        self,
        name: str,
        member_ids: Sequence[int],
        *,
        public: bool = False,
        topic: str | None = None,
    ) -> int: ...
    async def direct_room(self, a: int, b: int) -> tuple[int, bool]: ...
    async def add_member(self, room_id: int, actor_id: int, user_id: int) -> bool:
        """An owner or admin adds someone (``NotAllowed`` for anyone else); False when they
        were in already."""

    async def remove_member(self, room_id: int, user_id: int) -> None:
        """The user leaves; a leaving owner's group passes to the longest-standing admin,
        else member."""

    async def expel_member(self, room_id: int, actor_id: int, user_id: int) -> None:
        """The owner removes an admin or member, an admin a member (else ``NotAllowed``)."""

    async def update_room(self, room_id: int, actor_id: int, change: RoomChange) -> None:
        """Rename, set the topic or the visibility: owners and admins only."""

    async def set_member_role(
        self, room_id: int, actor_id: int, user_id: int, role: RoomRole
    ) -> None:
        """The owner makes a member an admin or an admin a member."""

    async def transfer_ownership(self, room_id: int, actor_id: int, user_id: int) -> None:
        """The owner hands the group to a member and becomes an admin; one owner at a time
        even when two hand-overs race."""

    async def join_room(self, room_id: int, user_id: int) -> bool:
        """Join a public group (``NotAllowed``: invite-only); False when already in."""

    async def hide_room(self, room_id: int, user_id: int) -> None:
        """Out of ``rooms(user_id)`` until the room's next message."""

    async def directory(
        self, text: str, *, after: int | None, limit: int
    ) -> tuple[list[DirectoryRoom], bool]:
        """Public groups whose name or topic contains ``text``, by id after ``after``."""

    async def room(self, room_id: int, viewer_id: int) -> Room | None: ...
    async def rooms(self, viewer_id: int) -> list[Room]: ...
    async def is_member(self, room_id: int, user_id: int) -> bool: ...
    async def room_ids(self, user_id: int) -> list[int]: ...
    async def members_of(self, room_ids: Sequence[int]) -> dict[int, list[int]]: ...
    async def last_seqs(self, room_ids: Sequence[int]) -> dict[int, int]: ...
    async def direct_rooms(self, room_ids: Sequence[int]) -> set[int]:
        """Which of the rooms are direct: their read markers also go to the other member."""

    # the room stream: messages and room events
    async def append(self, draft: Draft) -> Entry | None:
        """Store one draft; concurrent calls are stored in the order they were made.

        The order holds because the draft is queued before the first await
        (``DirectLog`` builds its in-order pipelining on that). None: a react or
        unreact that changed nothing. Raises ``NotMember``, ``NoTarget`` or
        ``NotAllowed`` for a refused draft.
        """

    async def append_many(self, drafts: Sequence[Draft]) -> list[Outcome]: ...
    async def page(
        self, room_id: int, *, before: int | None, after: int | None, limit: int
    ) -> tuple[list[Message], bool]: ...
    async def around(self, room_id: int, seq: int, limit: int) -> tuple[list[Message], bool]:
        """Up to ``limit`` messages centred on ``seq``, and whether older ones exist."""

    async def between(self, room_id: int, after: int, until: int) -> list[Entry]:
        """Stream entries with after < seq <= until, in seq order (messages in current state)."""

    async def mark_read(self, room_id: int, user_id: int, seq: int) -> int | None: ...
    async def read_markers(self, room_id: int, viewer_id: int, at_least: int) -> list[ReadMarker]:
        """Members whose read marker is at ``at_least`` or beyond, highest first ("seen by");
        raises ``NotMember`` when the viewer is not in the room."""

    # uploads and avatars (the bytes are in the file store, under the keys stored here)
    async def add_file(self, new: NewFile) -> Attachment: ...
    async def readable_file(self, file_id: int, viewer_id: int) -> StoredFile | None:
        """The file, if the viewer is a member of its room now and it is their own upload
        or carried by a message that is not deleted."""

    async def sweep_files(self, older_than: int) -> list[str]:
        """Delete the uploads never attached and created before ``older_than``; their keys."""

    async def set_avatar(self, user_id: int, key: str | None, now: int) -> str | None:
        """Set (or with None remove) the user's avatar; the key it replaces."""

    async def avatar_key(self, user_id: int) -> str | None: ...

    async def add_push_subscription(
        self, user_id: int, family: str | None, endpoint: str, p256dh: str, auth: str
    ) -> None:
        """Register a browser (replacing whatever held its endpoint before)."""
        ...

    async def remove_push_subscription(self, user_id: int, endpoint: str) -> bool:
        """False: the user has no subscription at that endpoint."""
        ...

    async def drop_push_subscription(self, subscription_id: int) -> None: ...
    async def push_subscriptions(self, user_id: int) -> list[PushSubscription]:
        """The user's live subscriptions (those of signed-out sessions are dropped)."""
        ...

    async def users_push_subscriptions(
        self, user_ids: Sequence[int]
    ) -> dict[int, list[PushSubscription]]:
        """As ``push_subscriptions`` for many users in one read, by user (those with any)."""
        ...

    async def search(self, wanted: SearchFilter) -> tuple[list[SearchHit], bool]:
        """Live messages matching the text in rooms the viewer is in now, newest first,
        and whether more follow the page."""
