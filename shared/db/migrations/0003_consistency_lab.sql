-- Up Migration
-- The consistency lab's own tables: experiments never touch the shop's rows. Lab rows are keyed by
-- "<experimentId>:<strategy>:<trial>" and deleted when their run ends.
create table lab_counters (
  id text primary key,
  experiment_id uuid not null,
  n bigint not null default 0,
  created_at timestamptz not null default now()
);
create index lab_counters_by_experiment on lab_counters (experiment_id);

-- The CHECK does not stop a naive read-then-write from overselling: each such write stores a
-- non-negative value, computed from a stock that was already gone.
create table lab_stock (
  id text primary key,
  experiment_id uuid not null,
  stock integer not null check (stock >= 0),
  created_at timestamptz not null default now()
);
create index lab_stock_by_experiment on lab_stock (experiment_id);

-- Experiments and their reports, kept after the lab data is gone.
create table consistency_experiments (
  experiment_id uuid primary key,
  scenario text not null,
  status text not null check (status in ('queued', 'running', 'done', 'failed')),
  parameters jsonb not null,
  requested_by text not null,
  environment jsonb,
  results jsonb,
  error text,
  requested_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
create index consistency_experiments_recent on consistency_experiments (requested_at desc, experiment_id desc);

-- Down Migration
drop table consistency_experiments;
drop table lab_stock;
drop table lab_counters;
