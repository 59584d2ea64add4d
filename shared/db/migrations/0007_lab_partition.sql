-- Up Migration
-- The partition scenario's item on the single primary: the ids of the updates it took, in order.
-- Deleted with the run.
create table lab_partition (
  id text primary key,
  experiment_id uuid not null,
  updates text[] not null default '{}'
);

-- Down Migration
drop table lab_partition;
