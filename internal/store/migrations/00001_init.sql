-- +goose Up
-- Clerk times are kept as Clerk sends them: Unix milliseconds.
-- Deleted entities stay as tombstones (deleted_at set): Clerk never reuses
-- ids, so a late upsert must not bring a deleted entity back.
CREATE TABLE organizations (
    id               text PRIMARY KEY,
    name             text   NOT NULL DEFAULT '',
    slug             text   NOT NULL DEFAULT '',
    clerk_created_at bigint NOT NULL DEFAULT 0,
    clerk_updated_at bigint NOT NULL DEFAULT 0,
    deleted_at       timestamptz,
    row_updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id               text PRIMARY KEY,
    email            text,
    first_name       text,
    last_name        text,
    clerk_created_at bigint NOT NULL DEFAULT 0,
    clerk_updated_at bigint NOT NULL DEFAULT 0,
    deleted_at       timestamptz,
    row_updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_email_idx ON users (lower(email));

CREATE TABLE memberships (
    id               text PRIMARY KEY,
    org_id           text   NOT NULL,
    user_id          text   NOT NULL,
    role             text   NOT NULL DEFAULT '',
    clerk_created_at bigint NOT NULL DEFAULT 0,
    clerk_updated_at bigint NOT NULL DEFAULT 0,
    deleted_at       timestamptz,
    row_updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX memberships_user_idx ON memberships (user_id);
CREATE INDEX memberships_org_idx ON memberships (org_id);

CREATE TABLE invitations (
    id               text PRIMARY KEY,
    org_id           text   NOT NULL DEFAULT '',
    email            text   NOT NULL DEFAULT '',
    status           text   NOT NULL DEFAULT 'pending',
    role             text   NOT NULL DEFAULT '',
    user_id          text,
    clerk_created_at bigint NOT NULL DEFAULT 0,
    clerk_updated_at bigint NOT NULL DEFAULT 0,
    row_updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitations_email_idx ON invitations (lower(email));

-- One row per Clerk delivery (svix-id): a redelivery is recognised and
-- changes nothing.
CREATE TABLE clerk_events (
    svix_id     text PRIMARY KEY,
    event_type  text NOT NULL,
    entity_id   text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- What was last pushed to Intercom for each entity: its Intercom id, a hash
-- of everything pushed (to skip unchanged pushes), a hash of the fields
-- last written (so a retried push resumes after the write) and, for
-- contacts, the Clerk organization ids the contact is attached to (to know
-- what is left to attach, and what to detach).
CREATE TABLE sync_state (
    entity_kind       text NOT NULL,
    entity_id         text NOT NULL,
    intercom_id       text NOT NULL DEFAULT '',
    pushed_hash       text NOT NULL DEFAULT '',
    fields_hash       text NOT NULL DEFAULT '',
    attached_org_ids  text[] NOT NULL DEFAULT '{}',
    pushed_at         timestamptz,
    deleted_at        timestamptz,
    PRIMARY KEY (entity_kind, entity_id)
);

-- +goose Down
DROP TABLE sync_state;
DROP TABLE clerk_events;
DROP TABLE invitations;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE organizations;
