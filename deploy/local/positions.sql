-- Demo positions for the demo members of members.sql, loaded into the run
-- stack's app database (where member_positions lives unless
-- POSITIONS_DATABASE_URL points elsewhere). The table comes from the
-- service's migrations. Idempotent: rows already there are skipped.
INSERT INTO member_positions (membernumber, position) VALUES
  ('100001', 'Facility President'),
  ('100001', 'Area Representative'),
  ('100002', 'Regional Vice President'),
  ('100003', 'Retiree Liaison'),
  ('100008', 'Facility Representative'),
  ('100010', 'Safety Representative')
ON CONFLICT DO NOTHING;
