import { createHash, createHmac } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SignatureV4 } from '@smithy/signature-v4';
import { ConfigError, optionalEnv } from '../../config.ts';

/**
 * The three AWS FIS calls the lab needs (`StartExperiment`, `GetExperiment`, `StopExperiment`),
 * signed with SigV4. `@aws-sdk/client-fis` is not installable at the SDK version the project pins,
 * so this is its REST protocol in a few lines: `POST /experiments`, `GET|DELETE /experiments/{id}`.
 * The endpoint comes from `AWS_ENDPOINT_URL_FIS` (the local cloud serves these calls on its own
 * faults) or is FIS' regional one.
 *
 * @example
 * const fis = new FisExperiments();
 * const started = await fis.start(templateId, 'failover-7f3a');
 * await fis.waitUntilEnded(started.id, Date.now() + 60_000);
 */

/** The part of a FIS experiment the lab reads. */
export interface FisExperiment {
  id: string;
  experimentTemplateId: string;
  state: { status: string; reason?: string };
  startTime?: string;
  endTime?: string;
}

/** Node's SHA-256 in the shape SigV4 expects (`@aws-crypto/sha256-js` is not a direct dependency). */
class Sha256 {
  readonly #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret ? createHmac('sha256', toBytes(secret)) : createHash('sha256');
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.#hash.update(toBytes(data));
  }
  async digest() {
    return new Uint8Array(this.#hash.digest());
  }
}

const toBytes = (data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

const ENDED = new Set(['completed', 'stopped', 'failed', 'cancelled']);

export class FisExperiments {
  readonly #region = optionalEnv('AWS_REGION', 'us-east-1') as string;
  readonly #endpoint = (
    optionalEnv('AWS_ENDPOINT_URL_FIS') ?? `https://fis.${this.#region}.amazonaws.com`
  ).replace(/\/$/, '');
  // Credentials through the SDK's own provider chain (a client's resolved configuration).
  readonly #credentials = new SFNClient({ region: this.#region }).config.credentials;
  readonly #signer = new SignatureV4({
    service: 'fis',
    region: this.#region,
    credentials: () => this.#credentials(),
    sha256: Sha256,
  });

  async #call(method: string, path: string, body?: unknown): Promise<FisExperiment> {
    const answer = (await this.#request(method, path, body)) as { experiment?: FisExperiment };
    if (!answer.experiment) throw new Error(`FIS ${method} ${path}: no experiment in the answer`);
    return answer.experiment;
  }

  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = new URL(`${this.#endpoint}${path}`);
    const text = body === undefined ? undefined : JSON.stringify(body);
    const signed = await this.#signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host, ...(text ? { 'content-type': 'application/json' } : {}) },
      body: text,
    });
    const response = await fetch(url, {
      method,
      headers: signed.headers,
      body: text,
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await response.json().catch(() => ({}))) as { message?: string };
    if (!response.ok)
      throw new Error(`FIS ${method} ${path}: HTTP ${response.status} ${answer.message ?? ''}`.trim());
    return answer;
  }

  /**
   * StartExperiment; `clientToken` makes a retried start start it once. `tag:<Name>` stands for the
   * template whose Name tag it is (ListExperimentTemplates).
   */
  async start(templateId: string, clientToken: string): Promise<FisExperiment> {
    const id = templateId.startsWith('tag:') ? await this.#byTag(templateId.slice(4)) : templateId;
    return this.#call('POST', '/experiments', {
      experimentTemplateId: id,
      clientToken: clientToken.slice(0, 64),
    });
  }

  async #byTag(name: string): Promise<string> {
    let next: string | undefined;
    do {
      const page = (await this.#request(
        'GET',
        `/experimentTemplates${next ? `?nextToken=${encodeURIComponent(next)}` : ''}`,
      )) as {
        experimentTemplates?: { id: string; tags?: Record<string, string> }[];
        nextToken?: string;
      };
      const found = page.experimentTemplates?.find((t) => t.tags?.Name === name);
      if (found) return found.id;
      next = page.nextToken;
    } while (next);
    throw new Error(`No FIS experiment template tagged Name=${name}: deploy with -c chaos=true`);
  }

  get(id: string): Promise<FisExperiment> {
    return this.#call('GET', `/experiments/${encodeURIComponent(id)}`);
  }

  stop(id: string): Promise<FisExperiment> {
    return this.#call('DELETE', `/experiments/${encodeURIComponent(id)}`);
  }

  /** Polls until the experiment has ended (completed, stopped, failed) or `until` (epoch ms) passes. */
  async waitUntilEnded(id: string, until: number, intervalMs = 250): Promise<FisExperiment> {
    for (;;) {
      const experiment = await this.get(id);
      if (ENDED.has(experiment.state.status) || Date.now() >= until) return experiment;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** The lab's fault templates by role. */
export type LabFaultTemplate = 'failover' | 'synchronous' | 'lag' | 'partition';

/**
 * The FIS experiment template ids the lab may start, from `LAB_FAULT_TEMPLATES` (JSON: role → id).
 * Throws a {@link ConfigError} naming the variable when the role has none.
 *
 * @example
 * labFaultTemplate('failover'); // 'EXT1a2b3c…' on AWS, 'local-failover' on the local cloud
 */
export function labFaultTemplate(role: LabFaultTemplate, env: NodeJS.ProcessEnv = process.env): string {
  const raw = optionalEnv('LAB_FAULT_TEMPLATES', undefined, env);
  const id = raw ? (JSON.parse(raw) as Partial<Record<LabFaultTemplate, string>>)[role] : undefined;
  if (!id)
    throw new ConfigError(
      `No FIS experiment template for "${role}" in LAB_FAULT_TEMPLATES: deploy the lab with its fault templates (-c chaos=true on AWS)`,
    );
  return id;
}

/** Whether the environment names a template for `role`. */
export const hasLabFaultTemplate = (role: LabFaultTemplate, env: NodeJS.ProcessEnv = process.env) => {
  try {
    labFaultTemplate(role, env);
    return true;
  } catch {
    return false;
  }
};
