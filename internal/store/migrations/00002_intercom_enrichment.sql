-- +goose Up
-- One row per Intercom notification that started an enrichment: a
-- redelivered notification (same id) finds its row and does nothing. run_id
-- is the workflow run that claimed it, so that run's own retries still
-- count as the first delivery.
CREATE TABLE intercom_notifications (
    notification_id text PRIMARY KEY,
    topic           text NOT NULL DEFAULT '',
    contact_id      text NOT NULL DEFAULT '',
    run_id          text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now()
);

-- Members' positions, read by the enrichment and the lookup API. The real
-- table may already exist (a Supabase project used as the app database),
-- hence IF NOT EXISTS; when POSITIONS_DATABASE_URL points elsewhere this
-- one simply stays empty.
CREATE TABLE IF NOT EXISTS member_positions (
    membernumber text NOT NULL,
    position     text NOT NULL,
    PRIMARY KEY (membernumber, position)
);

-- +goose Down
-- member_positions is left alone: it may hold data this service did not
-- write.
DROP TABLE intercom_notifications;
