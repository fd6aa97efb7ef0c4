"""PostgreSQL: a batch of plain messages stored by one function call, one round trip.

The persister's store transaction was eight round trips (BEGIN, the membership and
client_id look-ups, the room lock, the seq update, the insert, the read markers,
COMMIT), most of a message's way from send to delivery. ``parley_append`` runs the
same steps inside the server; called in autocommit, the call is its own
transaction, committed before its answer comes back (``store/append.py``,
``append_plain``).

It takes the batch as one array per column, in batch order, each (room, sender,
client_id) at most once (the caller keeps the first of a batch's repeats), and
returns one row per draft it answers, ``draft`` its 1-based place in the arrays:

* a client_id already stored (a retried send): a row per such draft with
  ``message_id`` and ``message_seq`` NULL, and nothing written. The caller returns
  the originals in their current state, which only its general path reads.
* otherwise a row per stored message; a draft without a row was not stored
  because its sender is not a member of the room.

The rooms are locked in id order before anything is read, so batches sharing rooms
queue instead of deadlocking, and the look-ups after the lock see every batch that
committed before it. Each room's seqs are taken in one ``UPDATE`` and given to its
drafts in batch order, so they run on without gaps or repeats; a failing row (a
value the table refuses) fails the whole call, so no seq is taken for nothing.

SQLite has no stored functions: its batches take ``SqliteStatements``.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"

FUNCTION = """
CREATE OR REPLACE FUNCTION parley_append(
    p_rooms bigint[], p_senders bigint[], p_bodies text[], p_client_ids text[],
    p_created bigint[]
) RETURNS TABLE (draft integer, message_id bigint, message_seq bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM rooms WHERE rooms.id = ANY (p_rooms) ORDER BY rooms.id FOR UPDATE;

    RETURN QUERY
    SELECT d.ord::integer, NULL::bigint, NULL::bigint
    FROM unnest(p_rooms, p_senders, p_client_ids) WITH ORDINALITY AS d (room_id, sender_id,
        client_id, ord)
    WHERE d.client_id IS NOT NULL
        AND (EXISTS (SELECT 1 FROM messages m WHERE m.room_id = d.room_id
                AND m.sender_id = d.sender_id AND m.client_id = d.client_id)
            OR EXISTS (SELECT 1 FROM room_events e WHERE e.room_id = d.room_id
                AND e.sender_id = d.sender_id AND e.client_id = d.client_id));
    IF FOUND THEN
        RETURN;
    END IF;

    RETURN QUERY
    WITH fresh AS (
        SELECT d.*, row_number() OVER (PARTITION BY d.room_id ORDER BY d.ord) AS nth
        FROM unnest(p_rooms, p_senders, p_bodies, p_client_ids, p_created) WITH ORDINALITY
            AS d (room_id, sender_id, body, client_id, created_at, ord)
        JOIN members mb ON mb.room_id = d.room_id AND mb.user_id = d.sender_id
    ), taken AS (
        UPDATE rooms SET last_seq = rooms.last_seq + k.n,
            last_activity_at = greatest(rooms.last_activity_at, k.latest)
        FROM (SELECT room_id, count(*) AS n, max(created_at) AS latest
              FROM fresh GROUP BY room_id) AS k
        WHERE rooms.id = k.room_id
        RETURNING rooms.id AS room_id, rooms.last_seq - k.n AS base
    ), numbered AS (
        SELECT f.*, t.base + f.nth AS seq FROM fresh f JOIN taken t USING (room_id)
    ), stored AS (
        INSERT INTO messages (room_id, seq, sender_id, body, client_id, created_at)
        SELECT room_id, seq, sender_id, body, client_id, created_at FROM numbered ORDER BY ord
        RETURNING messages.room_id, messages.seq, messages.id
    ), marked AS (
        UPDATE members SET last_read_seq = k.seq
        FROM (SELECT room_id, sender_id, max(seq) AS seq FROM numbered
              GROUP BY room_id, sender_id) AS k
        WHERE members.room_id = k.room_id AND members.user_id = k.sender_id
            AND members.last_read_seq < k.seq
    )
    SELECT n.ord::integer, s.id, s.seq
    FROM numbered n JOIN stored s ON s.room_id = n.room_id AND s.seq = n.seq
    ORDER BY n.ord;
END
$$
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION parley_append(bigint[], bigint[], text[], text[], bigint[])")
