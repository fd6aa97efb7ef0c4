"""``Store`` on SQLAlchemy Core: one set of queries for SQLite and PostgreSQL.

Storing messages, the hot path, is in ``append.py``: the same algorithm, and on
PostgreSQL a batch of plain messages in one call of a server-side function.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Generic, TypeVar

import asyncpg
from sqlalchemy import and_, event, func, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import InterfaceError as SqlInterfaceError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

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
    RoomKind,
    RoomRole,
    RoomStats,
    SearchFilter,
    SearchHit,
    Settings,
    SiteRole,
    User,
    now_micros,
)
from parley.notify.base import Notification
from parley.store import files as stored_files
from parley.store import notifications as inbox
from parley.store import profiles, push
from parley.store import rooms as room_rules
from parley.store.append import (
    CoreStatements,
    Fallback,
    SqliteStatements,
    append_many,
    append_plain,
    run_to_end,
)
from parley.store.base import (
    IdentityTaken,
    LastSignInMethod,
    NotMember,
    Outcome,
    RefreshUse,
    Refusal,
    RoomChange,
    StoreFailed,
    StoreRefused,
    UsernameTaken,
    refusal_error,
)
from parley.store.files import NewFile, StoredFile
from parley.store.notifications import InboxItem, UserSettings
from parley.store.push import PushSubscription
from parley.store.reads import direct_rooms, read_markers
from parley.store.rows import event_from_row, event_query, message_query, read_messages
from parley.store.schema import (
    MEMBER,
    OWNER,
    admin_audit,
    identities,
    members,
    mentions,
    messages,
    refresh_families,
    refresh_tokens,
    room_events,
    rooms,
    users,
)
from parley.store.search import search

_REFUSALS = (
    IntegrityError,
    DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.DataError,
    asyncpg.exceptions._base.DataError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
    OverflowError,
)
"""Errors about the data, not the database: an integrity or data exception (SQLSTATE
classes 23 and 22, say a NUL in text), a value asyncpg cannot encode (a room id past
bigint) or SQLite cannot hold (``OverflowError``)."""


def _duplicate(exc: BaseException) -> bool:
    """A unique violation (SQLSTATE 23505), from asyncpg itself or wrapped by SQLAlchemy
    (replies and room events are stored through SQLAlchemy Core, plain messages not)."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    orig = getattr(exc, "orig", None)
    return getattr(orig, "pgcode", None) == "23505" or isinstance(
        getattr(orig, "__cause__", None), asyncpg.UniqueViolationError
    )


_OUTAGES = (
    OSError,
    TimeoutError,
    OperationalError,
    SqlInterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError,
)
"""The database is not there (refused, restarting, connection lost), whatever the query."""


@contextmanager
def _outage_is_store_failed() -> Iterator[None]:
    """Raise ``StoreFailed`` for an outage, so the API answers 503 ``unavailable``, not a 500."""
    try:
        yield
    except _OUTAGES as exc:
        raise StoreFailed(f"the database is unavailable: {exc!r}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreFailed(f"the database is unavailable: {exc!r}") from exc
        raise


T = TypeVar("T")
R = TypeVar("R")


def _user(row: Row[*tuple[Any, ...]], prefix: str = "") -> User:
    mapping = row._mapping
    return User(
        id=mapping[f"{prefix}id"],
        username=mapping[f"{prefix}username"],
        display_name=mapping[f"{prefix}display_name"],
    )


def _account(row: Row[Any]) -> Account:
    return Account(
        user=_user(row),
        role="admin" if row.role == "admin" else "member",
        disabled_at=row.disabled_at,
        created_at=row.created_at,
    )


class GroupCommit(Generic[T, R]):
    """Writes that arrive while a transaction is committing share the next one.

    A commit costs an fsync whatever its size, so under load many senders pay
    for one; with no load a batch is a single message and nothing waits.
    Items keep their submission order inside a batch, so seq follows it.
    Used for appends (``Draft`` -> ``Outcome``) and, on SQLite, read markers.
    """

    MAX_BATCH = 500

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self._write = write
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._drainer is None:
            self._drainer = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self.MAX_BATCH]
                del self._pending[: self.MAX_BATCH]
                await self._commit(batch)
        finally:
            self._drainer = None
            for _, future in self._pending:
                if not future.done():
                    future.set_exception(StoreFailed("the store is shutting down"))

    async def _commit(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                # One bad item (say a concurrent duplicate draft) must not fail its neighbours.
                for single in batch:
                    await self._commit([single])
                return
            batch[0][1].set_exception(exc)
            return
        except BaseException:
            for _, future in batch:
                future.cancel()
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


ReadMark = tuple[int, int, int]
"""A read marker to move: room id, user id, seq."""
NOT_MEMBER = -1
"""``SqliteAppender.mark_read``'s answer for a user not in the room (a seq is never < 0)."""


def _move_read_markers(conn: sqlite3.Connection, marks: Sequence[ReadMark]) -> list[int | None]:
    """``SqliteAppender.mark_read``'s statements, in the caller's transaction."""
    out: list[int | None] = []
    for room_id, user_id, seq in marks:
        row = conn.execute(
            "UPDATE members SET last_read_seq = min(?1, rooms.last_seq) FROM rooms"
            " WHERE members.room_id = ?2 AND members.user_id = ?3"
            " AND rooms.id = members.room_id"
            " AND members.last_read_seq < min(?1, rooms.last_seq)"
            " RETURNING members.last_read_seq",
            (seq, room_id, user_id),
        ).fetchone()
        if row is not None:
            out.append(row[0])
        elif conn.execute(
            "SELECT 1 FROM members WHERE room_id = ? AND user_id = ?", (room_id, user_id)
        ).fetchone():
            out.append(None)
        else:
            out.append(NOT_MEMBER)
    return out


class SqliteAppender:
    """Plain messages and read markers into SQLite, a batch per call into a thread of its own.

    Its own ``sqlite3`` connection (same file, same pragmas as the engine's) lives
    in a one-thread executor: ``BEGIN IMMEDIATE``, ``append_many`` over
    ``SqliteStatements`` and ``COMMIT`` run there in one go, so a batch costs the
    event loop one hand-off and one wake-up, not one per statement. The caller
    holds the store's write lock, so the engine's writers never wait on it.

    The in-process notifier's per-batch look-ups and its inbox insert run here too
    (``read``, ``write``), as plain statements: through SQLAlchemy and aiosqlite they
    were most of the notifier's cost, and the notifier runs for every message.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-append")
        self._conn: sqlite3.Connection | None = None

    async def append(self, drafts: Sequence[Draft]) -> list[Outcome]:
        return await self.write(
            lambda conn: run_to_end(append_many(SqliteStatements(conn), drafts))
        )

    async def mark_read(self, marks: Sequence[ReadMark]) -> list[int | None]:
        """Each mark's new marker, None where it did not move, ``NOT_MEMBER`` where
        the user is not in the room: the whole batch in one transaction and one hop."""
        return await self.write(lambda conn: _move_read_markers(conn, marks))

    async def write(self, work: Callable[[sqlite3.Connection], R]) -> R:
        """``work`` on the appender's thread, in one ``BEGIN IMMEDIATE`` … ``COMMIT``
        (rolled back if it raises): one hand-off from the event loop per batch. The
        caller holds the store's write lock."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._transaction, work)

    async def read(self, work: Callable[[sqlite3.Connection], R]) -> R:
        """``work`` on the appender's thread outside a transaction: each statement reads
        one snapshot (WAL), no lock taken."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, lambda: work(self._connection()))

    def _transaction(self, work: Callable[[sqlite3.Connection], R]) -> R:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _connection(self) -> sqlite3.Connection:
        conn = self._conn
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None)
            _sqlite_pragmas(conn, None)
            self._conn = conn
        return conn

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class SqlStore:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        first_user_admin: bool = False,
        pre_ping: bool = True,
    ) -> None:
        """``first_user_admin``: the first user of an empty database becomes an admin (the
        embedded install, where nobody else could run ``parley admin grant`` first).

        ``pre_ping``: test each PostgreSQL connection with a round trip before
        lending it, so a connection the server dropped is replaced instead of
        failing a request. A caller that retries a failed transaction anyway (the
        persister) turns it off and saves that round trip on every batch: the
        first use of a dead connection fails and the connection is discarded
        (``invalidate``), so a retry gets a fresh one.
        """
        self.sqlite = url.startswith("sqlite")
        self._first_user_admin = first_user_admin
        self.engine: AsyncEngine = (
            create_async_engine(url)
            if self.sqlite
            else create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=pre_ping
            )
        )
        # SQLite allows one writer; queueing here beats spinning on SQLITE_BUSY.
        self._write_lock = asyncio.Lock() if self.sqlite else None
        self._autocommit = (
            None if self.sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._appender: SqliteAppender | None = None
        if self.sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            assert self.engine.url.database is not None
            self._appender = SqliteAppender(self.engine.url.database)
        self._group_commit = GroupCommit(self.append_many)
        self._read_commit = GroupCommit(self._mark_read_many)

    async def close(self) -> None:
        if self._appender is not None:
            await self._appender.close()
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self._connect() as conn:
            await conn.execute(select(1))

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; losing the database on the way is ``StoreFailed``."""
        with _outage_is_store_failed():
            async with self.engine.connect() as conn:
                yield conn

    @asynccontextmanager
    async def _single_read(self) -> AsyncIterator[AsyncConnection]:
        """For a read that is one statement: on PostgreSQL no BEGIN and ROLLBACK round trips
        around it (the notifications worker's look-ups, several per batch)."""
        if self._autocommit is None:
            async with self._connect() as conn:
                yield conn
            return
        with _outage_is_store_failed():
            async with self._autocommit.connect() as conn:
                yield conn

    @asynccontextmanager
    async def _single_write(self) -> AsyncIterator[AsyncConnection]:
        """For a write that is one statement: no BEGIN/COMMIT round trips on PostgreSQL."""
        if self._autocommit is None:
            async with self._write() as conn:
                yield conn
            return
        with _outage_is_store_failed():
            async with self._autocommit.connect() as conn:
                yield conn

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        with _outage_is_store_failed():
            if self._write_lock is None:
                async with self.engine.begin() as conn:
                    yield conn
                return
            async with self._write_lock, self.engine.begin() as conn:
                yield conn

    # users

    async def create_user(
        self, username: str, display_name: str, password_hash: str | None
    ) -> User:
        try:
            async with self._write() as conn:
                return await _insert_user(
                    conn, username, display_name, password_hash, self._first_user_admin
                )
        except IntegrityError:
            raise UsernameTaken(username) from None

    async def credentials(self, username: str) -> tuple[User, str | None] | None:
        async with self._connect() as conn:
            row = (await conn.execute(select(users).where(users.c.username == username))).first()
        return None if row is None else (_user(row), row.password_hash)

    async def set_password(self, user_id: int, password_hash: str) -> None:
        async with self._single_write() as conn:
            await conn.execute(
                users.update().where(users.c.id == user_id).values(password_hash=password_hash)
            )

    async def user(self, user_id: int) -> User | None:
        async with self._connect() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
        return None if row is None else _user(row)

    async def users_named(self, usernames: Sequence[str]) -> list[User]:
        async with self._connect() as conn:
            rows = await conn.execute(select(users).where(users.c.username.in_(list(usernames))))
            return [_user(r) for r in rows]

    async def search_users(self, prefix: str, limit: int) -> list[User]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        async with self._connect() as conn:
            rows = await conn.execute(
                select(users)
                .where(users.c.username.like(escaped + "%", escape="\\"))
                .order_by(users.c.username)
                .limit(limit)
            )
            return [_user(r) for r in rows]

    # profiles and settings (``store/profiles.py``)

    async def set_display_name(self, user_id: int, name: str) -> User | None:
        async with self._single_write() as conn:
            row = await profiles.set_display_name(conn, user_id, name)
        return None if row is None else _user(row)

    async def record_last_seen(self, user_id: int, at: int) -> None:
        async with self._single_write() as conn:
            await profiles.record_last_seen(conn, user_id, at)

    async def visible_user(self, viewer_id: int, user_id: int) -> tuple[User, int | None] | None:
        async with self._connect() as conn:
            row = await profiles.visible_user(conn, viewer_id, user_id)
        return None if row is None else (_user(row), row.last_seen_at)

    async def settings(self, user_id: int) -> Settings:
        async with self._connect() as conn:
            return await profiles.settings(conn, user_id)

    async def put_settings(self, user_id: int, wanted: Settings) -> None:
        async with self._single_write() as conn:
            await profiles.put_settings(conn, user_id, wanted, now_micros(), sqlite=self.sqlite)

    # accounts: roles and the disabled mark, for the admin pages and the token checks

    async def account(self, user_id: int) -> Account | None:
        async with self._connect() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
        return None if row is None else _account(row)

    async def accounts(self, query: str, *, offset: int, limit: int) -> list[Account]:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped.lower()}%"
        async with self._connect() as conn:
            rows = await conn.execute(
                select(users)
                .where(
                    func.lower(users.c.username).like(pattern, escape="\\")
                    | func.lower(users.c.display_name).like(pattern, escape="\\")
                )
                .order_by(users.c.username)
                .offset(offset)
                .limit(limit)
            )
            return [_account(r) for r in rows]

    async def set_role(self, username: str, role: SiteRole) -> bool:
        async with self._single_write() as conn:
            result = await conn.execute(
                users.update().where(users.c.username == username).values(role=role)
            )
        return bool(result.rowcount)

    async def set_disabled(self, user_id: int, disabled_at: int | None) -> Account | None:
        async with self._single_write() as conn:
            row = (
                await conn.execute(
                    users.update()
                    .where(users.c.id == user_id)
                    .values(disabled_at=disabled_at)
                    .returning(*users.c)
                )
            ).first()
        return None if row is None else _account(row)

    async def record_audit(self, actor_id: int, action: str, target: str, client: str) -> None:
        async with self._single_write() as conn:
            await conn.execute(
                admin_audit.insert().values(
                    actor_id=actor_id,
                    action=action,
                    target=target,
                    client=client,
                    created_at=now_micros(),
                )
            )

    async def audit(self, *, before: int | None, limit: int) -> list[AuditEntry]:
        a = admin_audit.c
        query = (
            select(
                a.id.label("entry_id"),
                a.action,
                a.target,
                a.client,
                a.created_at.label("at"),
                users.c.id,
                users.c.username,
                users.c.display_name,
            )
            .join(users, users.c.id == a.actor_id)
            .order_by(a.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(a.id < before)
        async with self._connect() as conn:
            rows = await conn.execute(query)
            return [
                AuditEntry(
                    r.entry_id,
                    User(r.id, r.username, r.display_name),
                    r.action,
                    r.target,
                    r.client,
                    r.at,
                )
                for r in rows
            ]

    async def room_stats(self, *, offset: int, limit: int) -> list[RoomStats]:
        m = messages.c
        counted = (
            select(func.count())
            .where(m.room_id == rooms.c.id, m.deleted_at.is_(None))
            .scalar_subquery()
        )
        joined = select(func.count()).where(members.c.room_id == rooms.c.id).scalar_subquery()
        async with self._connect() as conn:
            rows = await conn.execute(
                select(
                    rooms.c.id,
                    rooms.c.kind,
                    rooms.c.name,
                    joined.label("members"),
                    counted.label("messages"),
                    rooms.c.last_seq,
                    rooms.c.last_activity_at,
                )
                .order_by(rooms.c.last_activity_at.desc(), rooms.c.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return [
                RoomStats(
                    r.id,
                    _kind(r.kind),
                    r.name,
                    r.members,
                    r.messages,
                    r.last_seq,
                    r.last_activity_at,
                )
                for r in rows
            ]

    # identities

    async def identity_user(self, issuer: str, subject: str) -> User | None:
        i = identities.c
        async with self._connect() as conn:
            row = (
                await conn.execute(
                    select(users)
                    .join(identities, i.user_id == users.c.id)
                    .where(i.issuer == issuer, i.subject == subject)
                )
            ).first()
        return None if row is None else _user(row)

    async def create_user_with_identity(
        self, username: str, display_name: str, issuer: str, subject: str, label: str
    ) -> User:
        # No savepoints: SQLite's driver would commit the user at the first RELEASE.
        try:
            async with self._write() as conn:
                user = await _insert_user(
                    conn, username, display_name, None, self._first_user_admin
                )
                await _insert_identity(conn, user.id, issuer, subject, label)
        except IntegrityError:
            owner = await self._identity_owner(issuer, subject)
            if owner is not None:
                raise IdentityTaken(owner) from None
            raise UsernameTaken(username) from None
        return user

    async def link_identity(self, user_id: int, issuer: str, subject: str, label: str) -> bool:
        try:
            async with self._write() as conn:
                await _insert_identity(conn, user_id, issuer, subject, label)
        except IntegrityError:
            owner = await self._identity_owner(issuer, subject)
            if owner != user_id:
                raise IdentityTaken(owner) from None
            return False
        return True

    async def _identity_owner(self, issuer: str, subject: str) -> int | None:
        i = identities.c
        async with self._connect() as conn:
            owner: int | None = await conn.scalar(
                select(i.user_id).where(i.issuer == issuer, i.subject == subject)
            )
        return owner

    async def identities(self, user_id: int) -> list[Identity]:
        i = identities.c
        async with self._connect() as conn:
            rows = await conn.execute(
                select(identities).where(i.user_id == user_id).order_by(i.created_at, i.id)
            )
            return [
                Identity(r.id, r.user_id, r.issuer, r.subject, r.label, r.created_at) for r in rows
            ]

    async def unlink_identity(self, user_id: int, identity_id: int) -> bool:
        i = identities.c
        async with self._write() as conn:
            # The user's row lock orders this user's unlinks (SQLite: the write lock does).
            owner = (
                await conn.execute(
                    select(users.c.password_hash).where(users.c.id == user_id).with_for_update()
                )
            ).first()
            mine = await conn.scalar(
                select(func.count()).where(i.id == identity_id, i.user_id == user_id)
            )
            if owner is None or not mine:
                return False
            count = await conn.scalar(select(func.count()).where(i.user_id == user_id))
            if owner.password_hash is None and (count or 0) <= 1:
                raise LastSignInMethod()
            await conn.execute(identities.delete().where(i.id == identity_id))
        return True

    # refresh tokens

    async def start_refresh_family(
        self, token_hash: str, family: str, user_id: int, expires_at: int
    ) -> None:
        now = now_micros()
        async with self._write() as conn:
            await conn.execute(
                refresh_families.insert().values(id=family, user_id=user_id, created_at=now)
            )
            await conn.execute(
                refresh_tokens.insert().values(
                    token_hash=token_hash,
                    family=family,
                    user_id=user_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )

    async def rotate_refresh_token(
        self, token_hash: str, successor_hash: str, *, now: int, expires_at: int, grace: int
    ) -> RefreshUse:
        t, f = refresh_tokens.c, refresh_families.c
        async with self._write() as conn:
            found = await conn.scalar(select(t.family).where(t.token_hash == token_hash))
            if found is None:
                return RefreshUse("invalid")
            # Everything that changes a family's tokens first takes its row lock
            # (on SQLite the database write lock), so this rotation, a concurrent
            # one and a revocation happen one after the other, never interleaved.
            family = (
                await conn.execute(
                    select(f.user_id, f.revoked_at).where(f.id == found).with_for_update()
                )
            ).one()
            token = (
                await conn.execute(
                    select(t.used_at, t.expires_at).where(t.token_hash == token_hash)
                )
            ).one()
            if family.revoked_at is not None or token.expires_at <= now:
                return RefreshUse("invalid")
            if token.used_at is None:
                await conn.execute(
                    refresh_tokens.update().where(t.token_hash == token_hash).values(used_at=now)
                )
                await conn.execute(
                    refresh_tokens.insert().values(
                        token_hash=successor_hash,
                        family=found,
                        user_id=family.user_id,
                        created_at=now,
                        expires_at=expires_at,
                    )
                )
                return RefreshUse("rotated", family.user_id, found)
            # ``now`` was read before the lock: a concurrent request can be "earlier"
            # than the rotation it lost to, which is within any grace but none at all.
            if grace > 0 and now < token.used_at + grace:
                successor = (
                    await conn.execute(
                        select(t.used_at).where(t.token_hash == successor_hash, t.family == found)
                    )
                ).first()
                if successor is not None and successor.used_at is None:
                    return RefreshUse("replayed", family.user_id, found)
            # A rotated token came back: someone holds a stolen copy.
            await conn.execute(
                refresh_families.update().where(f.id == found).values(revoked_at=now)
            )
            return RefreshUse("reused", family.user_id, found)

    async def revoke_refresh_family(self, token_hash: str, now: int) -> tuple[int, str] | None:
        t, f = refresh_tokens.c, refresh_families.c
        family = select(t.family).where(t.token_hash == token_hash).scalar_subquery()
        async with self._single_write() as conn:
            row = (
                await conn.execute(
                    refresh_families.update()
                    .where(f.id == family, f.revoked_at.is_(None))
                    .values(revoked_at=now)
                    .returning(f.user_id, f.id)
                )
            ).first()
        return None if row is None else (row.user_id, row.id)

    async def revoke_user_families(self, user_id: int, now: int, keep: str | None) -> None:
        f = refresh_families.c
        where = [f.user_id == user_id, f.revoked_at.is_(None)]
        if keep is not None:
            where.append(f.id != keep)
        async with self._single_write() as conn:
            await conn.execute(refresh_families.update().where(*where).values(revoked_at=now))

    async def refresh_family_live(self, family: str) -> bool:
        f = refresh_families.c
        async with self._connect() as conn:
            found = await conn.scalar(
                select(func.count()).where(f.id == family, f.revoked_at.is_(None))
            )
        return bool(found)

    # rooms and members

    async def create_group(
        self,
        name: str,
        member_ids: Sequence[int],
        *,
        public: bool = False,
        topic: str | None = None,
    ) -> int:
        """The first of ``member_ids`` is the creator, who owns the group."""
        return await self._create_room(
            member_ids, kind="group", name=name, public=public, topic=topic
        )

    async def direct_room(self, a: int, b: int) -> tuple[int, bool]:
        key = f"{min(a, b)}:{max(a, b)}"
        existing = await self._direct_room_id(key)
        if existing is not None:
            return existing, False
        try:
            return await self._create_room((a, b), kind="direct", direct_key=key), True
        except IntegrityError:
            # Both users opened the conversation at once; the other insert won.
            found = await self._direct_room_id(key)
            assert found is not None
            return found, False

    async def _create_room(self, member_ids: Sequence[int], **columns: object) -> int:
        now = now_micros()
        async with self._write() as conn:
            room_id: int = (
                await conn.execute(
                    rooms.insert()
                    .values(**columns, last_activity_at=now, created_at=now)
                    .returning(rooms.c.id)
                )
            ).scalar_one()
            await conn.execute(
                members.insert(),
                [
                    {
                        "room_id": room_id,
                        "user_id": uid,
                        "joined_at": now,
                        "role": OWNER if n == 0 and columns["kind"] == "group" else MEMBER,
                    }
                    for n, uid in enumerate(dict.fromkeys(member_ids))
                ],
            )
        return room_id

    async def _direct_room_id(self, key: str) -> int | None:
        async with self._connect() as conn:
            found: int | None = (
                await conn.execute(select(rooms.c.id).where(rooms.c.direct_key == key))
            ).scalar()
        return found

    async def add_member(self, room_id: int, actor_id: int, user_id: int) -> bool:
        async with self._write() as conn:
            return await room_rules.add(conn, room_id, actor_id, user_id)

    async def remove_member(self, room_id: int, user_id: int) -> None:
        async with self._write() as conn:
            await room_rules.leave(conn, room_id, user_id)

    async def expel_member(self, room_id: int, actor_id: int, user_id: int) -> None:
        async with self._write() as conn:
            await room_rules.expel(conn, room_id, actor_id, user_id)

    async def update_room(self, room_id: int, actor_id: int, change: RoomChange) -> None:
        async with self._write() as conn:
            await room_rules.update(conn, room_id, actor_id, change)

    async def set_member_role(
        self, room_id: int, actor_id: int, user_id: int, role: RoomRole
    ) -> None:
        async with self._write() as conn:
            await room_rules.promote(conn, room_id, actor_id, user_id, role)

    async def transfer_ownership(self, room_id: int, actor_id: int, user_id: int) -> None:
        async with self._write() as conn:
            await room_rules.transfer(conn, room_id, actor_id, user_id)

    async def join_room(self, room_id: int, user_id: int) -> bool:
        async with self._write() as conn:
            return await room_rules.join(conn, room_id, user_id)

    async def hide_room(self, room_id: int, user_id: int) -> None:
        async with self._write() as conn:
            await room_rules.hide(conn, room_id, user_id)

    async def directory(
        self, text: str, *, after: int | None, limit: int
    ) -> tuple[list[DirectoryRoom], bool]:
        async with self._connect() as conn:
            return await room_rules.directory(conn, text, after=after, limit=limit)

    async def room(self, room_id: int, viewer_id: int) -> Room | None:
        found = await self._rooms(viewer_id, room_id)
        return found[0] if found else None

    async def rooms(self, viewer_id: int) -> list[Room]:
        return await self._rooms(viewer_id, None)

    async def _rooms(self, viewer_id: int, only: int | None) -> list[Room]:
        query = (
            select(rooms, members.c.last_read_seq, members.c.hidden_seq)
            .join(members, members.c.room_id == rooms.c.id)
            .where(members.c.user_id == viewer_id)
            .order_by(rooms.c.last_activity_at.desc(), rooms.c.id.desc())
        )
        if only is not None:
            query = query.where(rooms.c.id == only)
        async with self._connect() as conn:
            heads = (await conn.execute(query)).all()
            if not heads:
                return []
            ids = [h.id for h in heads]
            roster: dict[int, list[User]] = defaultdict(list)
            roles: dict[int, list[tuple[int, str]]] = defaultdict(list)
            for row in await conn.execute(
                select(
                    members.c.room_id,
                    members.c.role,
                    users.c.id,
                    users.c.username,
                    users.c.display_name,
                )
                .join(users, users.c.id == members.c.user_id)
                .where(members.c.room_id.in_(ids))
                .order_by(members.c.room_id, users.c.username)
            ):
                roster[row.room_id].append(_user(row))
                if row.role != MEMBER:
                    roles[row.room_id].append((row.id, row.role))
            newest = (
                select(messages.c.room_id, func.max(messages.c.seq).label("seq"))
                .where(messages.c.room_id.in_(ids))
                .group_by(messages.c.room_id)
                .subquery()
            )
            latest = {
                msg.room_id: msg
                for msg in await read_messages(
                    conn,
                    message_query().join(
                        newest,
                        and_(
                            newest.c.room_id == messages.c.room_id, newest.c.seq == messages.c.seq
                        ),
                    ),
                )
            }
            unread, mentioned = await _unread(conn, viewer_id, ids)
        return [
            Room(
                id=h.id,
                kind=_kind(h.kind),
                name=h.name,
                members=tuple(roster[h.id]),
                last_seq=h.last_seq,
                unread=unread.get(h.id, 0),
                last_message=latest.get(h.id),
                mentions=mentioned.get(h.id, 0),
                roles=tuple(roles[h.id]),
                topic=h.topic,
                public=bool(h.public),
            )
            for h in heads
            if only is not None or not _hidden(h.hidden_seq, latest.get(h.id))
        ]

    async def is_member(self, room_id: int, user_id: int) -> bool:
        async with self._connect() as conn:
            return await _is_member(conn, room_id, user_id)

    async def room_ids(self, user_id: int) -> list[int]:
        async with self._connect() as conn:
            return list(
                (
                    await conn.execute(
                        select(members.c.room_id).where(members.c.user_id == user_id)
                    )
                ).scalars()
            )

    async def members_of(self, room_ids: Sequence[int]) -> dict[int, list[int]]:
        found: dict[int, list[int]] = defaultdict(list)
        if not room_ids:
            return found
        async with self._connect() as conn:
            for row in await conn.execute(
                select(members.c.room_id, members.c.user_id).where(
                    members.c.room_id.in_(list(room_ids))
                )
            ):
                found[row.room_id].append(row.user_id)
        return found

    async def last_seqs(self, room_ids: Sequence[int]) -> dict[int, int]:
        if not room_ids:
            return {}
        async with self._connect() as conn:
            rows = await conn.execute(
                select(rooms.c.id, rooms.c.last_seq).where(rooms.c.id.in_(list(room_ids)))
            )
            return {r.id: r.last_seq for r in rows}

    async def direct_rooms(self, room_ids: Sequence[int]) -> set[int]:
        async with self._connect() as conn:
            return await direct_rooms(conn, room_ids)

    # messages

    async def append(self, draft: Draft) -> Entry | None:
        stored = await self._group_commit.submit(draft)
        if isinstance(stored, Refusal):
            refused = refusal_error(stored)
            if refused is not None:
                raise refused
            return None
        return stored

    async def append_many(self, drafts: Sequence[Draft]) -> list[Outcome]:
        """Store drafts in order; a retried client_id returns the original entry.

        Returns the reason (``Refusal``) in place of a draft the store did not
        take (its sender is not a member, its target is missing, not allowed,
        or a reaction that changes nothing). Raises ``StoreRefused`` when the
        database refused a draft's data (a NUL in a text column, a number out of
        range: the same batch would be refused again) and ``StoreFailed`` when it
        could not be reached or lost the transaction, so callers never meet
        SQLAlchemy's or asyncpg's exceptions and can tell "retry later" from "never".
        """
        if not drafts:
            return []
        try:
            try:
                return await self._append_many(drafts)
            except _REFUSALS as exc:
                if not _duplicate(exc):
                    raise
                # A concurrent transaction stored one of these client_ids between the
                # look-up and the insert (the same retried send on two gateways): now
                # that it has committed, the same batch finds the original. Only a
                # second refusal is the data's fault.
                return await self._append_many(drafts)
        except _REFUSALS as exc:
            raise StoreRefused(f"the database refused the messages: {exc!r}") from exc
        except (
            SQLAlchemyError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            sqlite3.Error,
            OSError,
        ) as exc:
            raise StoreFailed(f"storing messages failed: {exc!r}") from exc

    async def _append_many(self, drafts: Sequence[Draft]) -> list[Outcome]:
        if self._appender is not None and all(d.plain for d in drafts):
            assert self._write_lock is not None
            try:
                async with self._write_lock:
                    return await self._appender.append(drafts)
            except Fallback:
                pass  # rolled back; the general path below stores the batch
        elif not self.sqlite and all(d.plain for d in drafts):
            try:
                async with self._connect() as conn:
                    # SQLAlchemy has not begun a transaction on this connection, and
                    # will not: the call goes straight to asyncpg, in autocommit.
                    raw: asyncpg.Connection = (await conn.get_raw_connection()).driver_connection
                    try:
                        return await append_plain(raw, drafts)
                    except (*_OUTAGES, asyncpg.InterfaceError):
                        # "connection is closed": SQLAlchemy never saw the error, so
                        # it would pool the dead connection again; without pre-ping
                        # (the persister) every retry would meet it.
                        await conn.invalidate()
                        raise
            except Fallback:
                pass  # rolled back; the general path below stores the batch
        async with self._write() as conn:
            statements = CoreStatements(conn)
            return await append_many(statements, drafts, statements)

    async def page(
        self, room_id: int, *, before: int | None, after: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        query = message_query().where(messages.c.room_id == room_id).limit(limit + 1)
        if after is not None:
            query = query.where(messages.c.seq > after).order_by(messages.c.seq)
        else:
            if before is not None:
                query = query.where(messages.c.seq < before)
            query = query.order_by(messages.c.seq.desc())
        async with self._connect() as conn:
            found = await read_messages(conn, query)
        has_more = len(found) > limit
        found = found[:limit]
        if after is None:
            found.reverse()
        return found, has_more

    async def around(self, room_id: int, seq: int, limit: int) -> tuple[list[Message], bool]:
        older = limit // 2
        base = message_query().where(messages.c.room_id == room_id)
        async with self._connect() as conn:
            before = await read_messages(
                conn,
                base.where(messages.c.seq < seq).order_by(messages.c.seq.desc()).limit(older + 1),
            )
            rest = await read_messages(
                conn,
                base.where(messages.c.seq >= seq)
                .order_by(messages.c.seq)
                .limit(limit - min(older, len(before))),
            )
        has_more = len(before) > older
        before = before[:older]
        before.reverse()
        return before + rest, has_more

    async def between(self, room_id: int, after: int, until: int) -> list[Entry]:
        async with self._connect() as conn:
            found: list[Entry] = list(
                await read_messages(
                    conn,
                    message_query().where(
                        messages.c.room_id == room_id,
                        messages.c.seq > after,
                        messages.c.seq <= until,
                    ),
                )
            )
            e = room_events.c
            rows = await conn.execute(
                event_query().where(e.room_id == room_id, e.seq > after, e.seq <= until)
            )
            found.extend(event_from_row(r) for r in rows)
        found.sort(key=lambda entry: entry.seq)
        return found

    # notifications (queries in store/notifications.py)

    async def add_notifications(self, batch: Sequence[Notification]) -> list[tuple[int, InboxItem]]:
        if not batch:
            return []
        wanted = [
            inbox.NewItem(
                user_id=n.user_id,
                room_id=n.room_id,
                seq=n.seq,
                reason=n.reason,
                sender=n.sender,
                room_name=n.room_name,
                excerpt=n.excerpt,
                created_at=int(n.created_at.timestamp() * 1_000_000),
            )
            for n in batch
        ]
        if self._appender is not None:
            return await self._on_appender(
                lambda conn: inbox.add_many_sqlite(conn, wanted), write=True
            )
        async with self._single_write() as conn:
            return await inbox.add_many(conn, self.sqlite, wanted)

    async def notifications(
        self, user_id: int, before: int | None, limit: int
    ) -> tuple[list[InboxItem], bool, int]:
        async with self._connect() as conn:
            return await inbox.page(conn, user_id, before, limit)

    async def read_notifications(self, user_id: int, notification_id: int | None) -> int:
        async with self._write() as conn:
            return await inbox.mark_read(conn, user_id, notification_id)

    async def has_notification(self, user_id: int, notification_id: int) -> bool:
        async with self._connect() as conn:
            return await inbox.exists(conn, user_id, notification_id)

    async def ledger_add(self, rows: Sequence[tuple[str, str, int]]) -> None:
        async with self._single_write() as conn:
            await inbox.ledger_add(conn, self.sqlite, rows)

    async def ledger_claim(
        self, owner: str, now: int, until: int, limit: int, *, reclaim: bool
    ) -> list[inbox.Outgoing]:
        # Autocommit: one UPDATE … RETURNING is the claim, atomic on its own.
        async with self._single_write() as conn:
            return await inbox.ledger_claim(
                conn, self.sqlite, owner, now, until, limit, reclaim=reclaim
            )

    async def ledger_release(self, owner: str, keys: Sequence[str]) -> None:
        async with self._single_write() as conn:
            await inbox.ledger_release(conn, owner, keys)

    async def ledger_settle(self, key: str, state: str) -> None:
        async with self._single_write() as conn:
            await inbox.ledger_settle(conn, key, state)

    async def ledger_states(self, keys: Sequence[str]) -> dict[str, str]:
        async with self._single_read() as conn:
            return await inbox.ledger_states(conn, keys)

    async def notification_settings(self, user_ids: Sequence[int]) -> dict[int, UserSettings]:
        async with self._single_read() as conn:
            return await inbox.user_settings(conn, user_ids)

    async def put_notification_settings(self, user_id: int, settings: UserSettings) -> None:
        async with self._write() as conn:
            await inbox.put_user_settings(conn, self.sqlite, user_id, settings)

    async def room_levels(
        self, room_ids: Sequence[int], user_ids: Sequence[int]
    ) -> dict[tuple[int, int], str]:
        if self._appender is not None:
            return await self._on_appender(
                lambda conn: inbox.room_levels_sqlite(conn, room_ids, user_ids)
            )
        async with self._single_read() as conn:
            return await inbox.room_levels(conn, room_ids, user_ids)

    async def room_members(self, room_ids: Sequence[int]) -> dict[int, inbox.RoomMembers]:
        if self._appender is not None:
            return await self._on_appender(lambda conn: inbox.room_members_sqlite(conn, room_ids))
        async with self._single_read() as conn:
            return await inbox.room_members(conn, room_ids)

    async def user_room_levels(self, user_id: int) -> dict[int, str]:
        async with self._connect() as conn:
            return await inbox.user_room_levels(conn, user_id)

    async def put_room_level(self, room_id: int, user_id: int, level: str) -> None:
        async with self._write() as conn:
            await inbox.put_room_level(conn, self.sqlite, room_id, user_id, level)

    async def digests_due(self, now: int) -> list[tuple[int, str]]:
        async with self._connect() as conn:
            return await inbox.digests_due(conn, now)

    async def digest_items(self, user_id: int) -> list[InboxItem]:
        async with self._connect() as conn:
            return await inbox.digest_items(conn, user_id)

    async def stored_messages(
        self, keys: Sequence[tuple[int, int, str]]
    ) -> dict[tuple[int, int, str], Message]:
        async with self._single_read() as conn:
            return await inbox.stored_messages(conn, keys)

    async def digest_sent(self, user_id: int, ids: Sequence[int], now: int) -> None:
        async with self._write() as conn:
            await inbox.digest_sent(conn, user_id, ids, now)

    async def search(self, wanted: SearchFilter) -> tuple[list[SearchHit], bool]:
        async with self.engine.connect() as conn:
            return await search(conn, wanted, sqlite=self.sqlite)

    async def read_markers(self, room_id: int, viewer_id: int, at_least: int) -> list[ReadMarker]:
        async with self._connect() as conn:
            found = await read_markers(conn, room_id, viewer_id, at_least)
        if found is None:
            raise NotMember
        return found

    # uploads and avatars

    async def add_file(self, new: NewFile) -> Attachment:
        async with self._single_write() as conn:
            return await stored_files.insert(conn, new)

    async def readable_file(self, file_id: int, viewer_id: int) -> StoredFile | None:
        async with self._connect() as conn:
            return await stored_files.readable(conn, file_id, viewer_id)

    async def sweep_files(self, older_than: int) -> list[str]:
        async with self._single_write() as conn:
            return await stored_files.sweep(conn, older_than)

    async def set_avatar(self, user_id: int, key: str | None, now: int) -> str | None:
        async with self._write() as conn:
            return await stored_files.set_avatar(conn, user_id, key, now)

    async def avatar_key(self, user_id: int) -> str | None:
        async with self._connect() as conn:
            return await stored_files.avatar_key(conn, user_id)

    # Web Push subscriptions (store/push.py)

    async def add_push_subscription(
        self, user_id: int, family: str | None, endpoint: str, p256dh: str, auth: str
    ) -> None:
        async with self._write() as conn:
            await push.add(conn, user_id, family, endpoint, p256dh, auth, sqlite=self.sqlite)

    async def remove_push_subscription(self, user_id: int, endpoint: str) -> bool:
        async with self._single_write() as conn:
            return await push.remove(conn, user_id, endpoint)

    async def drop_push_subscription(self, subscription_id: int) -> None:
        async with self._single_write() as conn:
            await push.drop(conn, [subscription_id])

    async def push_subscriptions(self, user_id: int) -> list[PushSubscription]:
        """The user's subscriptions, dropping first those whose session was signed out."""
        return (await self.users_push_subscriptions([user_id])).get(user_id, [])

    async def users_push_subscriptions(
        self, user_ids: Sequence[int]
    ) -> dict[int, list[PushSubscription]]:
        """Each of ``user_ids``' subscriptions (those with any), in one read, dropping
        first those whose session was signed out."""
        if self._appender is not None:
            live, gone = await self._on_appender(lambda conn: push.of_users_sqlite(conn, user_ids))
        else:
            async with self._single_read() as conn:
                live, gone = await push.of_users(conn, user_ids)
        if gone:
            async with self._single_write() as conn:
                await push.drop(conn, gone)
        return live

    async def mark_read(self, room_id: int, user_id: int, seq: int) -> int | None:
        if self._appender is not None:
            # Read markers are about as frequent as messages in a chat: on SQLite
            # those that arrive while one batch commits share the next transaction,
            # run in one hop by the appender's thread (like plain messages), instead
            # of each taking SQLAlchemy's path and the write lock on its own.
            marked = await self._read_commit.submit((room_id, user_id, seq))
            if marked == NOT_MEMBER:
                raise NotMember
            return marked
        # One statement in the common case (the marker moves): reads are as
        # frequent as messages in a busy room, and each was four round trips.
        least = func.min if self.sqlite else func.least
        target = least(seq, rooms.c.last_seq)
        move = (
            members.update()
            .where(
                members.c.room_id == room_id,
                members.c.user_id == user_id,
                rooms.c.id == members.c.room_id,
                members.c.last_read_seq < target,
            )
            .values(last_read_seq=target)
            .returning(members.c.last_read_seq)
        )
        async with self._single_write() as conn:
            moved: int | None = (await conn.execute(move)).scalar_one_or_none()
            if moved is None and not await _is_member(conn, room_id, user_id):
                raise NotMember
        return moved

    async def _on_appender(
        self, work: Callable[[sqlite3.Connection], R], *, write: bool = False
    ) -> R:
        """``work`` as plain statements on the ``SqliteAppender``'s thread: one hop, no
        SQLAlchemy (the in-process notifier's look-ups and inbox insert, per batch). A
        ``write`` holds the write lock in one transaction; SQLite's errors are
        ``StoreFailed``, as through the engine."""
        assert self._appender is not None and self._write_lock is not None
        try:
            if not write:
                return await self._appender.read(work)
            async with self._write_lock:
                return await self._appender.write(work)
        except (sqlite3.Error, OSError) as exc:
            raise StoreFailed(f"the database failed: {exc!r}") from exc

    async def _mark_read_many(self, marks: list[ReadMark]) -> list[int | None]:
        assert self._appender is not None and self._write_lock is not None
        try:
            async with self._write_lock:
                return await self._appender.mark_read(marks)
        except (sqlite3.Error, OSError) as exc:
            raise StoreFailed(f"storing read markers failed: {exc!r}") from exc


async def _insert_user(
    conn: AsyncConnection,
    username: str,
    display_name: str,
    password_hash: str | None,
    first_admin: bool = False,
) -> User:
    """``first_admin``: an admin if no user exists yet. Checked inside the write transaction,
    which on SQLite (the only store that asks) holds the single writer: two first
    registrations at once cannot both see an empty table."""
    role: SiteRole = "member"
    if first_admin and await conn.scalar(select(func.count()).select_from(users)) == 0:
        role = "admin"
    result = await conn.execute(
        users.insert()
        .values(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            created_at=now_micros(),
            role=role,
        )
        .returning(users.c.id)
    )
    return User(id=result.scalar_one(), username=username, display_name=display_name)


async def _insert_identity(
    conn: AsyncConnection, user_id: int, issuer: str, subject: str, label: str
) -> None:
    await conn.execute(
        identities.insert().values(
            user_id=user_id, issuer=issuer, subject=subject, label=label, created_at=now_micros()
        )
    )


async def _unread(
    conn: AsyncConnection, viewer_id: int, room_ids: list[int]
) -> tuple[dict[int, int], dict[int, int]]:
    """Per room, others' messages after the viewer's read marker that are not deleted, and
    how many of them mention the viewer."""
    m = messages.c
    after_marker = and_(
        members.c.room_id == m.room_id,
        members.c.user_id == viewer_id,
        m.seq > members.c.last_read_seq,
        m.sender_id != viewer_id,
        m.deleted_at.is_(None),
    )
    unread = {
        room_id: count
        for room_id, count in await conn.execute(
            select(m.room_id, func.count())
            .join(members, after_marker)
            .where(m.room_id.in_(room_ids))
            .group_by(m.room_id)
        )
    }
    mentioned = {
        room_id: count
        for room_id, count in await conn.execute(
            select(m.room_id, func.count())
            .join(members, after_marker)
            .join(
                mentions,
                and_(mentions.c.message_id == m.id, mentions.c.user_id == viewer_id),
            )
            .where(m.room_id.in_(room_ids))
            .group_by(m.room_id)
        )
    }
    return unread, mentioned


async def _is_member(conn: AsyncConnection, room_id: int, user_id: int) -> bool:
    found = (
        await conn.execute(
            select(members.c.user_id).where(
                members.c.room_id == room_id, members.c.user_id == user_id
            )
        )
    ).first()
    return found is not None


def _hidden(hidden_seq: int | None, last_message: Message | None) -> bool:
    """Hidden from the room list: no message came since the member hid the room."""
    return hidden_seq is not None and (last_message is None or last_message.seq <= hidden_seq)


def _kind(value: str) -> RoomKind:
    return "direct" if value == "direct" else "group"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
