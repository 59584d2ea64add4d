import type { Context } from 'aws-lambda';
import { publish, relayAfterCommit } from '../../platform/adapters/event-publisher.ts';
import type { CatalogPorts } from '../ports.ts';
import {
  createProduct,
  getProduct,
  listProducts,
  relayCatalogOutbox,
  updateProduct,
} from './catalog-table.ts';
import { requestRecords } from './idempotency.ts';

/**
 * The catalog's ports as the deployed function runs them, for one invocation (its Lambda `context`
 * bounds an Idempotency-Key's in-progress record): the catalog table, the shop bus and the
 * Idempotency table.
 */
export const catalogPorts = (context?: Context): CatalogPorts => ({
  getProduct,
  listProducts,
  createProduct,
  updateProduct,
  relayEvents: () => relayAfterCommit(() => relayCatalogOutbox()),
  publish,
  ...requestRecords(context),
});
