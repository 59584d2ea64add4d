-- Up Migration
-- When a running experiment's function will have been stopped (its start + the function's remaining
-- time). A run still `running` after this died without a report: it is marked failed and its rows are
-- deleted, and it no longer counts against the lab's connection cap.
alter table consistency_experiments add column deadline_at timestamptz;
create index consistency_experiments_running on consistency_experiments (deadline_at) where status = 'running';

-- Down Migration
drop index consistency_experiments_running;
alter table consistency_experiments drop column deadline_at;
