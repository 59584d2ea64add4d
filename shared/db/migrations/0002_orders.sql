-- Up Migration
-- Orders are horizontally fragmented by region (LIST partitioning): each region's orders live in
-- their own table, so a region can be moved, archived or scaled on its own. Keys include the
-- partition key, as Postgres requires for unique constraints on partitioned tables.
create table orders (
  order_id uuid not null,
  region text not null,
  user_id text not null,
  status text not null check (status in ('PLACED', 'CANCELLED')),
  total_cents bigint not null check (total_cents >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (region, order_id)
) partition by list (region);
create table orders_eu partition of orders for values in ('eu');
create table orders_us partition of orders for values in ('us');
create table orders_ap partition of orders for values in ('ap');
create index orders_by_user on orders (user_id, created_at desc, order_id desc);
create index orders_by_id on orders (order_id);
create index orders_by_updated on orders (updated_at);

create table order_items (
  region text not null,
  order_id uuid not null,
  product_id text not null,
  quantity integer not null check (quantity > 0),
  unit_price_cents bigint not null check (unit_price_cents >= 0),
  primary key (region, order_id, product_id),
  foreign key (region, order_id) references orders (region, order_id)
) partition by list (region);
create table order_items_eu partition of order_items for values in ('eu');
create table order_items_us partition of order_items for values in ('us');
create table order_items_ap partition of order_items for values in ('ap');

-- One row per (user, Idempotency-Key): written in the order's transaction, so a replay finds the
-- order and two racing requests with the same key serialise on the primary key.
create table order_requests (
  user_id text not null,
  idempotency_key text not null,
  request_hash text not null,
  region text not null,
  order_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (user_id, idempotency_key)
);

-- Transactional outbox: events are written with the change that causes them and relayed to
-- EventBridge afterwards, so a crash after commit loses none.
create table outbox (
  id bigserial primary key,
  event_id uuid not null unique,
  source text not null,
  detail_type text not null,
  detail jsonb not null,
  created_at timestamptz not null default now(),
  published_at timestamptz
);
create index outbox_unpublished on outbox (id) where published_at is null;

-- Down Migration
drop table outbox;
drop table order_requests;
drop table order_items;
drop table orders;
