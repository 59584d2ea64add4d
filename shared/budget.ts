import { optionalEnv } from './config.ts';

/**
 * The one time budget every request lives within, and every timeout derived from it.
 *
 * API Gateway gives up on an integration after 29 s; a Lambda function after its own timeout. A
 * request must answer before both, even when a dependency hangs, so each function has a **request
 * budget** (`REQUEST_BUDGET_MS`, set by the infrastructure from the function's timeout; 8 s when
 * unset) and every dependency timeout is a share of it:
 *
 * | what                                      | share of the budget `B`  | B = 8 s |
 * | ----------------------------------------- | ------------------------ | ------- |
 * | Postgres connect (`connectionTimeoutMillis`, also waiting for a pooled connection) | B / 4 | 2 s |
 * | Postgres `lock_timeout`                   | B / 4                    | 2 s     |
 * | Postgres `statement_timeout`              | B / 2                    | 4 s     |
 * | Postgres client read timeout (`query_timeout`, a frozen server) | B / 2 + 0.5 s | 4.5 s |
 * | Postgres `idle_in_transaction_session_timeout` | B                   | 8 s     |
 * | AWS SDK connect                           | min(1 s, B / 8)          | 1 s     |
 * | AWS SDK request (socket idle)             | B / 3                    | 2.7 s   |
 * | AWS SDK attempts                          | 2                        |         |
 *
 * The HTTP middleware stops a request at min(B, remaining function time − {@link DEADLINE_MARGIN_MS})
 * whatever it is waiting for (503 `DEADLINE_EXCEEDED`).
 */

/** What API Gateway waits for an integration before answering 504. */
export const API_GATEWAY_TIMEOUT_MS = 29_000;
/** The default budget of a request. */
export const DEFAULT_REQUEST_BUDGET_MS = 8_000;
/** Time kept between the budget and the function's timeout, to answer and log (at most 20 % of what is left). */
export const DEADLINE_MARGIN_MS = 1_000;
const MIN_BUDGET_MS = 1_000;

/**
 * The configured budget: `REQUEST_BUDGET_MS`, at least 1 s, {@link DEFAULT_REQUEST_BUDGET_MS} when
 * unset or not a number.
 *
 * @example
 * configuredBudgetMs({ REQUEST_BUDGET_MS: '25000' }); // 25000
 */
export function configuredBudgetMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(optionalEnv('REQUEST_BUDGET_MS', String(DEFAULT_REQUEST_BUDGET_MS), env));
  return Number.isFinite(value) ? Math.max(MIN_BUDGET_MS, Math.floor(value)) : DEFAULT_REQUEST_BUDGET_MS;
}

/**
 * The budget of one invocation: the configured budget, or less when the function has less time left.
 *
 * @example
 * const budget = requestBudgetMs(context.getRemainingTimeInMillis()); // ≤ 8000
 */
export function requestBudgetMs(remainingMs?: number, env: NodeJS.ProcessEnv = process.env): number {
  const configured = configuredBudgetMs(env);
  if (remainingMs === undefined || !Number.isFinite(remainingMs)) return configured;
  const margin = Math.min(DEADLINE_MARGIN_MS, remainingMs * 0.2);
  return Math.max(0, Math.floor(Math.min(configured, remainingMs - margin)));
}

/**
 * The budget a function with this timeout gets (what the infrastructure sets as `REQUEST_BUDGET_MS`):
 * the timeout less a margin, and for API functions also below API Gateway's 29 s.
 *
 * @example
 * budgetForTimeout(10_000, { api: true }); // 8000
 * budgetForTimeout(29_000, { api: true }); // 25000
 */
export function budgetForTimeout(timeoutMs: number, options: { api: boolean }): number {
  const belowTimeout = timeoutMs - Math.max(2_000, Math.round(timeoutMs * 0.1));
  const cap = options.api ? API_GATEWAY_TIMEOUT_MS - 4_000 : Number.POSITIVE_INFINITY;
  return Math.max(MIN_BUDGET_MS, Math.min(belowTimeout, cap));
}

export interface PostgresTimeouts {
  connectMs: number;
  lockMs: number;
  statementMs: number;
  queryMs: number;
  idleInTransactionMs: number;
}

export interface AwsTimeouts {
  connectMs: number;
  requestMs: number;
  maxAttempts: number;
}

/**
 * Postgres timeouts for a budget (see the table above).
 *
 * @example
 * postgresTimeouts(8000).lockMs; // 2000
 */
export function postgresTimeouts(budgetMs = configuredBudgetMs()): PostgresTimeouts {
  return {
    connectMs: Math.round(budgetMs / 4),
    lockMs: Math.round(budgetMs / 4),
    statementMs: Math.round(budgetMs / 2),
    queryMs: Math.round(budgetMs / 2) + 500,
    idleInTransactionMs: budgetMs,
  };
}

/**
 * AWS SDK timeouts for a budget: two attempts of at most a third of it each, with room for the backoff.
 *
 * @example
 * awsTimeouts(8000); // { connectMs: 1000, requestMs: 2667, maxAttempts: 2 }
 */
export function awsTimeouts(budgetMs = configuredBudgetMs()): AwsTimeouts {
  return {
    connectMs: Math.min(1_000, Math.round(budgetMs / 8)),
    requestMs: Math.round(budgetMs / 3),
    maxAttempts: 2,
  };
}
