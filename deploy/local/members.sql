-- Demo member database for local runs and tests: the shape of the real
-- members table, with the messy data the sync has to cope with.
-- Idempotent: safe to load on every start (REPLACE resets edited demo rows).

CREATE TABLE IF NOT EXISTS members (
  membernumber VARCHAR(20)  NOT NULL PRIMARY KEY,
  firstname    VARCHAR(100),
  lastname     VARCHAR(100),
  email        VARCHAR(255),
  phone        VARCHAR(40),
  region       VARCHAR(20),
  facility     VARCHAR(20),
  status       VARCHAR(20),
  membertypeid INT
) DEFAULT CHARSET = utf8mb4;

REPLACE INTO members
  (membernumber, firstname, lastname, email, phone, region, facility, status, membertypeid)
VALUES
  -- phone formats the sync must normalise to E.164 (+17654657031)
  ('100001', 'Ada',     'Lovelace', 'ada.lovelace@example.com',  '(765) 465-7031',  'R1', 'F101', 'Active',   1),
  ('100002', 'Grace',   'Hopper',   'Grace.Hopper@Example.com',  '765.465.7032',    'R1', 'F102', 'Active',   1),
  ('100003', 'Alan',    'Turing',   'alan.turing@example.com',   '+1 765 465 7033', 'R2', 'F201', 'Retired',  2),
  ('100004', 'Edsger',  'Dijkstra', 'EDSGER@EXAMPLE.COM',        '7654657034',      'R2', 'F202', 'Active',   1),
  ('100005', 'Barbara', 'Liskov',   'barbara.liskov@example.com', '765-465-7035',   'R3', 'F301', 'Inactive', 3),
  -- a phone that cannot be parsed: sync without a phone, don't fail
  ('100006', 'Donald',  'Knuth',    'donald.knuth@example.com',  'call me maybe',   'R3', 'F302', 'Active',   2),
  -- one email on two members with different statuses (old inactive record + current active one)
  ('100007', 'Ken',     'Thompson', 'ken@example.com',           '(765) 465-7037',  'R1', 'F101', 'Inactive', 1),
  ('100008', 'Ken',     'Thompson', 'Ken@Example.com',           '765.465.7038',    'R1', 'F103', 'Active',   1),
  ('100009', 'Frances', 'Allen',    'frances.allen@example.com', NULL,              'R2', 'F201', 'Retired',  2),
  ('100010', 'Margaret', 'Hamilton', 'Margaret.Hamilton@example.com', '+1 (765) 465-7040', 'R4', 'F401', 'Active', 3);
