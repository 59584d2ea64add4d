-- Up Migration
-- One order per cart state. A cart's state is its version (bumped by every change of its lines, in
-- DynamoDB) and a digest of the lines checkout priced (the version alone restarts at 1 when an idle
-- cart expires). Checkout inserts this row in the order's transaction: a second checkout of the same
-- state, whatever its Idempotency-Key, conflicts on the primary key, waits for the first transaction
-- and is refused with CART_ALREADY_ORDERED, instead of placing a second order before the OrderPlaced
-- consumer has emptied the cart.
create table cart_checkouts (
  user_id text not null,
  cart_version bigint not null,
  cart_digest text not null,
  order_id uuid not null,
  created_at timestamptz not null default now(),
  primary key (user_id, cart_version, cart_digest)
);

-- Down Migration
drop table cart_checkouts;
