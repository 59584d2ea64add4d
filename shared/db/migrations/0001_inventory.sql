-- Up Migration
-- Authoritative stock. The CHECK is the last line of defence against overselling:
-- whatever the application does, Postgres refuses a negative stock.
create table inventory (
  product_id text primary key,
  stock integer not null check (stock >= 0),
  version bigint not null default 0,
  updated_at timestamptz not null default now()
);

-- Down Migration
drop table inventory;
