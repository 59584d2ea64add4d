-- Up Migration
-- The failover scenario's numbered writes: every acknowledged row must still be here after the
-- primary was lost and the standby promoted (RPO = acknowledged rows missing). Deleted with the run.
create table lab_writes (
  experiment_id uuid not null,
  mode text not null,
  trial integer not null,
  seq integer not null,
  writer integer not null,
  written_at timestamptz not null default clock_timestamp(),
  primary key (experiment_id, mode, trial, seq)
);

-- Down Migration
drop table lab_writes;
