"""The centre's PostgreSQL schema, as numbered migrations applied in one transaction each.

`migrate(conn)` brings a database up to the newest version and records each step in
`schema_migrations`; a centre and its database may be upgraded apart, so a step is applied
once and never edited after it shipped: a change is a new step.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

Migration = Callable[[psycopg.Connection], None]


def _m001_network(conn: psycopg.Connection) -> None:
    """Branches and their logs, the events as received, and the read models the console reads."""
    conn.execute(
        """
        CREATE TABLE regions (
            id   text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
            name text NOT NULL
        );

        -- A branch enrolled at the centre. Its shipping token is kept only as a SHA-256
        -- (a random 256-bit secret needs no slow hash). `profile` is what the branch last
        -- said of itself: name, timezone, businesses with names and targets, counters.
        CREATE TABLE branches (
            id               text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
            name             text NOT NULL,
            region_id        text NOT NULL REFERENCES regions (id),
            timezone         text NOT NULL DEFAULT 'Asia/Shanghai',
            token_sha256     bytea,
            enrolled_at      timestamptz NOT NULL DEFAULT now(),
            last_contact_at  timestamptz,      -- centre clock: any authenticated request
            software_version text,
            profile          jsonb NOT NULL DEFAULT '{}'::jsonb,
            backlog          integer NOT NULL DEFAULT 0   -- events the branch said it still holds
        );

        -- One log of one branch database: (branch, log id, seq) is an event's identity.
        -- A database restored from an older copy continues under a new log id whose events
        -- start after what the copy kept; the old log stays as it was received.
        CREATE TABLE branch_logs (
            branch_id     text NOT NULL REFERENCES branches (id),
            log_id        uuid NOT NULL,
            first_seq     bigint NOT NULL CHECK (first_seq >= 1),
            watermark     bigint NOT NULL,   -- every seq in [first_seq, watermark] is stored
            opened_at     timestamptz NOT NULL DEFAULT now(),
            restored_from uuid,              -- the log this one forked from, if any
            PRIMARY KEY (branch_id, log_id),
            CHECK (watermark >= first_seq - 1)
        );

        -- Every event as the branch shipped it, partitioned by the month of its branch time.
        -- A partitioned table's unique key must hold the partition key: `at` is part of the
        -- event, so a resent event has the same key and ON CONFLICT DO NOTHING drops it.
        CREATE TABLE events (
            branch_id   text NOT NULL,
            log_id      uuid NOT NULL,
            seq         bigint NOT NULL,
            at          timestamptz NOT NULL,
            kind        text NOT NULL,
            v           smallint NOT NULL,
            body        jsonb NOT NULL,
            sha256      bytea NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (branch_id, log_id, seq, at)
        ) PARTITION BY RANGE (at);
        CREATE INDEX events_branch_at ON events (branch_id, at);
        CREATE INDEX events_branch_kind_at ON events (branch_id, kind, at);

        -- An event whose (branch, log, seq) is stored with another digest: divergent
        -- history, kept and alarmed on, never silently dropped or overwritten.
        CREATE TABLE quarantine (
            id          bigserial PRIMARY KEY,
            branch_id   text NOT NULL,
            log_id      uuid NOT NULL,
            seq         bigint NOT NULL,
            reason      text NOT NULL,
            event       jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now()
        );

        -- ---------------------------------------------------------------- read models
        -- All kept up to date by ingest, in the same transaction as the events.

        CREATE TABLE live_branch (
            branch_id        text PRIMARY KEY REFERENCES branches (id),
            business_day     date,
            waiting          integer NOT NULL DEFAULT 0,
            windows_open     integer NOT NULL DEFAULT 0,
            alerts_open      integer NOT NULL DEFAULT 0,
            last_event_at    timestamptz,     -- branch clock of the newest event stored
            last_received_at timestamptz      -- centre clock when it was stored
        );

        -- Per branch and business: today's figures so far.
        CREATE TABLE live_business (
            branch_id      text NOT NULL REFERENCES branches (id),
            service        text NOT NULL,
            business_day   date NOT NULL,
            target_wait_s  integer,
            waiting        integer NOT NULL DEFAULT 0,
            windows_open   integer NOT NULL DEFAULT 0,
            issued         integer NOT NULL DEFAULT 0,
            called         integer NOT NULL DEFAULT 0,
            served         integer NOT NULL DEFAULT 0,
            within_target  integer NOT NULL DEFAULT 0,   -- of those called
            no_show        integer NOT NULL DEFAULT 0,
            rating_sum     integer NOT NULL DEFAULT 0,
            rating_count   integer NOT NULL DEFAULT 0,
            PRIMARY KEY (branch_id, service)
        );

        -- The open tickets of a branch's day (waiting, called, serving): the longest wait.
        CREATE TABLE live_tickets (
            branch_id  text NOT NULL REFERENCES branches (id),
            ticket_id  bigint NOT NULL,
            number     text NOT NULL,
            service    text NOT NULL,
            priority   text NOT NULL,
            state      text NOT NULL,
            arrived_at timestamptz NOT NULL,
            called_at  timestamptz,
            counter    integer,
            PRIMARY KEY (branch_id, ticket_id)
        );
        CREATE INDEX live_tickets_waiting ON live_tickets (branch_id, arrived_at)
            WHERE state = 'waiting';

        CREATE TABLE live_counters (
            branch_id  text NOT NULL REFERENCES branches (id),
            number     integer NOT NULL,
            name       text NOT NULL,
            state      text NOT NULL,                 -- open, paused, closed
            staffed    boolean NOT NULL DEFAULT false,
            skills     jsonb NOT NULL DEFAULT '[]'::jsonb,
            serving    text,                          -- ticket number called or in service
            since      timestamptz,
            PRIMARY KEY (branch_id, number)
        );

        CREATE TABLE live_alerts (
            branch_id text NOT NULL REFERENCES branches (id),
            alert_id  text NOT NULL,
            kind      text NOT NULL,
            severity  text NOT NULL,
            detail    text NOT NULL,
            raised_at timestamptz NOT NULL,
            PRIMARY KEY (branch_id, alert_id)
        );

        CREATE TABLE device_health (
            branch_id   text NOT NULL REFERENCES branches (id),
            device      text NOT NULL,               -- e.g. kiosk-1/printer
            kind        text NOT NULL,               -- printer, reader, scanner, board, pad …
            health      text NOT NULL,               -- ok, warning, fault, unknown
            detail      text NOT NULL DEFAULT '',
            counter     integer,
            reported_at timestamptz NOT NULL,
            since       timestamptz NOT NULL,        -- when it entered this health
            PRIMARY KEY (branch_id, device)
        );

        -- Per branch, business day and business: the reports' source (day, week, month).
        CREATE TABLE daily_business (
            branch_id      text NOT NULL REFERENCES branches (id),
            business_day   date NOT NULL,
            service        text NOT NULL,
            issued         integer NOT NULL DEFAULT 0,
            called         integer NOT NULL DEFAULT 0,
            served         integer NOT NULL DEFAULT 0,
            no_show        integer NOT NULL DEFAULT 0,
            cancelled      integer NOT NULL DEFAULT 0,
            wait_sum_s     double precision NOT NULL DEFAULT 0,  -- of those called
            wait_max_s     double precision NOT NULL DEFAULT 0,
            within_target  integer NOT NULL DEFAULT 0,
            service_sum_s  double precision NOT NULL DEFAULT 0,  -- of those served
            rating_sum     integer NOT NULL DEFAULT 0,
            rating_count   integer NOT NULL DEFAULT 0,
            PRIMARY KEY (branch_id, business_day, service)
        );

        -- Head-office and regional accounts for the console (argon2 hashes).
        CREATE TABLE accounts (
            username      text PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
            password_hash text NOT NULL,
            role          text NOT NULL CHECK (role IN ('head_office', 'regional')),
            region_id     text REFERENCES regions (id),
            created_at    timestamptz NOT NULL DEFAULT now(),
            CHECK ((role = 'regional') = (region_id IS NOT NULL))
        );
        """
    )


def _m002_ingest_state(conn: psycopg.Connection) -> None:
    """What ingest needs to keep the read models by difference, batch after batch."""
    conn.execute(
        """
        -- Each ticket leg as last counted into daily_business: the next event of the leg
        -- replaces this contribution by its own, so a day's figures never count a leg twice
        -- and need no re-reading of the day's events. `within` is decided at the first call,
        -- against the target of that moment.
        CREATE TABLE ticket_legs (
            branch_id    text NOT NULL REFERENCES branches (id),
            ticket_id    bigint NOT NULL,
            business_day date NOT NULL,
            service      text NOT NULL,
            leg          integer NOT NULL,
            state        text NOT NULL,
            wait_s       double precision,   -- from joining the queue to the FIRST call
            within       boolean NOT NULL DEFAULT false,
            service_s    double precision,   -- of a served leg
            rating       integer,
            PRIMARY KEY (branch_id, ticket_id)
        );
        CREATE INDEX ticket_legs_day ON ticket_legs (branch_id, business_day);

        -- A branch's businesses as it last described them (hello profile, service.updated):
        -- names for the console and the target a wait is judged against.
        CREATE TABLE branch_services (
            branch_id     text NOT NULL REFERENCES branches (id),
            service       text NOT NULL,
            names         jsonb NOT NULL DEFAULT '{}'::jsonb,
            target_wait_s integer NOT NULL,
            sort          integer NOT NULL DEFAULT 0,
            PRIMARY KEY (branch_id, service)
        );

        ALTER TABLE live_alerts ADD COLUMN acknowledged_at timestamptz;
        """
    )


def _m003_console_sessions(conn: psycopg.Connection) -> None:
    """Console sign-in sessions and the wrong-password throttle, shared by every centre process."""
    conn.execute(
        """
        -- A signed-in console: the cookie's random token is kept only as a SHA-256, so a
        -- copy of this table signs nobody in.
        CREATE TABLE console_sessions (
            token_sha256 bytea PRIMARY KEY,
            username     text NOT NULL REFERENCES accounts (username) ON DELETE CASCADE,
            created_at   timestamptz NOT NULL DEFAULT now(),
            expires_at   timestamptz NOT NULL
        );
        CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

        -- Wrong passwords in a row per name typed (known or not, so the answer does not
        -- tell which names exist); a correct one clears the row.
        CREATE TABLE console_sign_in_failures (
            username        text PRIMARY KEY,
            failures        integer NOT NULL,
            last_failed_at  timestamptz NOT NULL,
            locked_until    timestamptz
        );
        """
    )


def _m004_ticket_identity(conn: psycopg.Connection) -> None:
    """A ticket is its id AND the moment it was issued: a branch restored from an older copy
    hands its lost ticket ids out again to new customers, who must not replace the lost
    customers' figures (those were real visits the centre was told of)."""
    conn.execute(
        """
        ALTER TABLE ticket_legs ADD COLUMN issued_at timestamptz NOT NULL DEFAULT '-infinity';
        ALTER TABLE ticket_legs DROP CONSTRAINT ticket_legs_pkey;
        ALTER TABLE ticket_legs ADD PRIMARY KEY (branch_id, ticket_id, issued_at);
        ALTER TABLE live_tickets ADD COLUMN issued_at timestamptz NOT NULL DEFAULT '-infinity';
        ALTER TABLE live_tickets DROP CONSTRAINT live_tickets_pkey;
        ALTER TABLE live_tickets ADD PRIMARY KEY (branch_id, ticket_id, issued_at);
        """
    )


def _m005_downlink(conn: psycopg.Connection) -> None:
    """What the centre sends each branch (`wire.downlink`): every signed version kept, and
    what each branch last reported doing with each kind."""
    conn.execute(
        """
        CREATE TABLE downlink_documents (
            branch_id  text NOT NULL REFERENCES branches (id),
            kind       text NOT NULL,
            version    integer NOT NULL CHECK (version > 0),
            issued_at  timestamptz NOT NULL,
            document   jsonb NOT NULL,  -- the signed document, exactly as sent
            PRIMARY KEY (branch_id, kind, version)
        );

        CREATE TABLE downlink_reports (
            branch_id    text NOT NULL REFERENCES branches (id),
            kind         text NOT NULL,
            version      integer NOT NULL,
            outcome      text NOT NULL CHECK (outcome IN ('applied', 'refused')),
            reason       text,
            effective    jsonb,
            reported_at  timestamptz NOT NULL DEFAULT now(),
            -- the last version applied (what is in force) and the last refused, per kind
            PRIMARY KEY (branch_id, kind, outcome)
        );
        """
    )


def _m006_config_templates(conn: psycopg.Connection) -> None:
    """The network's configuration template (every save a new version, history kept), the
    overrides of regions and branches, and what each branch was last sent."""
    conn.execute(
        """
        -- The catalogue in the branch TOML's shapes (services, bundles, appointments …) plus
        -- the sections the centre manages; `branch_editable` the dotted paths a branch
        -- manager may still change locally. A version is never updated: a save adds one.
        CREATE TABLE config_template_versions (
            version         integer PRIMARY KEY CHECK (version >= 1),
            catalogue       jsonb NOT NULL CHECK (jsonb_typeof(catalogue) = 'object'),
            branch_editable jsonb NOT NULL
                DEFAULT '["counters.skills", "notice"]'::jsonb
                CHECK (jsonb_typeof(branch_editable) = 'array'),
            note            text NOT NULL DEFAULT '',
            saved_by        text NOT NULL,
            saved_at        timestamptz NOT NULL DEFAULT now()
        );

        -- Dotted path (businesses by code: services.A.target_wait_min) → value. A region's
        -- apply to every branch in it; a branch's win over its region's.
        CREATE TABLE config_region_overrides (
            region_id text NOT NULL REFERENCES regions (id) ON DELETE CASCADE,
            path      text NOT NULL CHECK (path ~ '^[A-Za-z0-9_-]+([.][A-Za-z0-9_-]+)*$'),
            value     jsonb NOT NULL,
            set_by    text NOT NULL,
            set_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (region_id, path)
        );
        CREATE TABLE config_branch_overrides (
            branch_id text NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
            path      text NOT NULL CHECK (path ~ '^[A-Za-z0-9_-]+([.][A-Za-z0-9_-]+)*$'),
            value     jsonb NOT NULL,
            set_by    text NOT NULL,
            set_at    timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (branch_id, path)
        );

        -- The effective configuration last published to each branch, as a digest of the
        -- body without its template reference: a publication that changes nothing for a
        -- branch issues it no new version.
        CREATE TABLE config_published (
            branch_id        text PRIMARY KEY REFERENCES branches (id) ON DELETE CASCADE,
            version          integer NOT NULL,
            template_version integer NOT NULL REFERENCES config_template_versions (version),
            digest           bytea NOT NULL,
            published_by     text NOT NULL,
            published_at     timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def _m007_knowledge(conn: psycopg.Connection) -> None:
    """The tellers' knowledge base: the pages being edited, and every published version
    (its pages whole, and what it changed) kept for history."""
    conn.execute(
        """
        -- The working copy head office edits; a publication freezes it into a version.
        CREATE TABLE knowledge_pages (
            service     text PRIMARY KEY CHECK (service ~ '^[A-Za-z0-9_-]{1,16}$'),
            page        jsonb NOT NULL,  -- wire.knowledge.Page
            updated_at  timestamptz NOT NULL DEFAULT now(),
            updated_by  text NOT NULL
        );

        CREATE TABLE knowledge_versions (
            version       integer PRIMARY KEY CHECK (version > 0),
            published_at  timestamptz NOT NULL DEFAULT now(),
            published_by  text NOT NULL,
            pages         jsonb NOT NULL,  -- every page as published
            changes       jsonb NOT NULL   -- since the version before, in the tellers' words
        );
        """
    )


def _m008_vip_list(conn: psycopg.Connection) -> None:
    """The bank's VIP list without its ID numbers (`central.vip`), and the keys issued to
    branches by generation (the keys themselves are derived from a file, never stored)."""
    conn.execute(
        """
        -- The import in force: the hash parameters its S values were made with.
        CREATE TABLE vip_imports (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            imported_at  timestamptz NOT NULL DEFAULT now(),
            customers    integer NOT NULL,
            hash_n       integer NOT NULL,
            hash_r       integer NOT NULL,
            hash_p       integer NOT NULL
        );

        -- S = scrypt(ID number, pepper) per VIP: no ID number, nothing reversible without
        -- the pepper, which is derived from the centre's key file.
        CREATE TABLE vip_customers (
            s     bytea PRIMARY KEY CHECK (length(s) = 32),
            tier  smallint NOT NULL CHECK (tier BETWEEN 1 AND 3)
        );

        -- Which key generations a branch holds: 'current', a 'next' while a rotation is
        -- under way (the branch gets entries under both), 'retired' once dropped.
        CREATE TABLE vip_branch_keys (
            branch_id   text NOT NULL REFERENCES branches (id),
            generation  integer NOT NULL CHECK (generation > 0),
            state       text NOT NULL CHECK (state IN ('current', 'next', 'retired')),
            issued_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (branch_id, generation)
        );
        CREATE UNIQUE INDEX vip_branch_keys_one_current ON vip_branch_keys (branch_id)
            WHERE state = 'current';
        CREATE UNIQUE INDEX vip_branch_keys_one_next ON vip_branch_keys (branch_id)
            WHERE state = 'next';
        """
    )


def _m009_booking_reach(conn: psycopg.Connection) -> None:
    """What network booking ranks by, as each branch's last hello said it: a new walk-in's
    wait per business (as its kiosk shows it), where the branch stands and its booking
    address, and when the centre heard it (a branch silent for a minute is not offered).
    """
    conn.execute(
        """
        CREATE TABLE booking_reach (
            branch_id   text PRIMARY KEY REFERENCES branches (id) ON DELETE CASCADE,
            waits       jsonb NOT NULL DEFAULT '{}'::jsonb,
            lat         double precision CHECK (lat BETWEEN -90 AND 90),
            lon         double precision CHECK (lon BETWEEN -180 AND 180),
            booking_url text CHECK (booking_url ~ '^https://'),
            heard_at    timestamptz NOT NULL,   -- centre clock
            CHECK ((lat IS NULL) = (lon IS NULL))
        );
        """
    )


def _m010_branch_vip_keys(conn: psycopg.Connection) -> None:
    """Each branch's X25519 public key, as its last hello announced it: the centre seals the
    branch's VIP keys and the pepper to it (`wire.vip.Sealed`), so the documents it stores
    hold them only as ciphertext. NULL: not announced yet, and no VIP list is sent."""
    conn.execute(
        """
        ALTER TABLE branches
            ADD COLUMN vip_public_key bytea CHECK (length(vip_public_key) = 32),
            ADD COLUMN vip_key_announced_at timestamptz;
        """
    )


MIGRATIONS: list[Migration] = [
    _m001_network,
    _m002_ingest_state,
    _m003_console_sessions,
    _m004_ticket_identity,
    _m005_downlink,
    _m006_config_templates,
    _m007_knowledge,
    _m008_vip_list,
    _m009_booking_reach,
    _m010_branch_vip_keys,
]


def migrate(conn: psycopg.Connection) -> int:
    """Apply every migration the database has not had; the version it is at now."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    conn.commit()
    # One centre migrating at a time: a second waits for the first's lock, then sees its work.
    conn.execute("SELECT pg_advisory_lock(20261206)")
    try:
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for version, step in enumerate(MIGRATIONS, start=1):
            if version in done:
                continue
            with conn.transaction():
                step(conn)
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
        conn.commit()
    finally:
        conn.execute("SELECT pg_advisory_unlock(20261206)")
        conn.commit()
    return len(MIGRATIONS)
