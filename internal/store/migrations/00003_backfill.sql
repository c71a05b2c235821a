-- +goose Up
-- Entities a backfill could not sync (a 4xx from Intercom, for instance),
-- kept after the run so an operator can see and fix them: the workflow's
-- result holds only a sample. One row per entity per backfill (workflow id);
-- a later attempt at the same entity replaces the row.
CREATE TABLE backfill_failures (
    workflow_id text NOT NULL,
    entity_kind text NOT NULL,
    entity_id   text NOT NULL,
    error       text NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, entity_kind, entity_id)
);

-- What Intercom held of each company when a backfill listed them (GET
-- /companies, 60 per call), so that batches of organizations compare
-- against it without one read per organization. Deleted when the backfill
-- ends.
CREATE TABLE backfill_companies (
    workflow_id text  NOT NULL,
    company_id  text  NOT NULL,
    body        jsonb NOT NULL,
    PRIMARY KEY (workflow_id, company_id)
);

-- A backfill maps the companies attached to a contact back to
-- organizations, by Intercom id.
CREATE INDEX sync_state_intercom_id_idx ON sync_state (entity_kind, intercom_id);

-- updated_since filters.
CREATE INDEX memberships_row_updated_idx ON memberships (row_updated_at);

-- +goose Down
DROP INDEX memberships_row_updated_idx;
DROP INDEX sync_state_intercom_id_idx;
DROP TABLE backfill_companies;
DROP TABLE backfill_failures;
