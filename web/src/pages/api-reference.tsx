import { type Route, useApp, useLoad } from '../app.tsx';
import { DataTable, Loading, Page } from '../ui.tsx';

/** The parts of a JSON Schema (as zod's `toJSONSchema` writes them) the reference shows. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  description?: string;
  default?: unknown;
  anyOf?: Schema[];
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  security?: unknown[];
  'x-shop-auth'?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}

interface OpenApi {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** A schema in one line: `string (uuid)`, `"eu" | "us"`, `Item[]`, `Error` for a `$ref`. */
export function typeOf(schema: Schema | undefined): string {
  if (!schema) return '';
  if (schema.$ref) return schema.$ref.split('/').at(-1) ?? schema.$ref;
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? 'any');
  if (type === 'array') return `${typeOf(schema.items)}[]`;
  return schema.format ? `${type} (${schema.format})` : type;
}

const operations = (doc: OpenApi) =>
  Object.entries(doc.paths ?? {}).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ method, path, op, id: op.operationId ?? `${method}-${path}` })),
  );

const auth = (op: Operation) => op['x-shop-auth'] ?? (op.security?.length ? 'user' : 'public');

/** The API's OpenAPI 3.1 document (`GET /openapi.json`, generated from the route manifest). */
export function ApiReference({ route }: { route: Route }) {
  const { api } = useApp();
  const doc = useLoad(async () => {
    try {
      return (await api.get<OpenApi>('/openapi.json')).body;
    } catch {
      return undefined;
    }
  }, []);
  const selected = route.path[1];
  const found = doc.data && selected ? operations(doc.data).find((o) => o.id === selected) : undefined;
  return (
    <Page title={found ? `${found.method.toUpperCase()} ${found.path}` : 'API reference'}>
      {doc.loading && <Loading />}
      {!doc.loading && !doc.data?.paths && (
        <div class="notice" data-testid="openapi-unavailable">
          <p>
            <code>{api.baseUrl}/openapi.json</code> did not answer with an OpenAPI document. The same document
            is in the repository as <code>docs/openapi.json</code>.
          </p>
        </div>
      )}
      {doc.data?.paths && selected && !found && (
        <p class="notice">No operation {selected} in the document.</p>
      )}
      {found && <OperationView op={found.op} />}
      {doc.data?.paths && !selected && (
        <>
          <p>
            {doc.data.info?.title} {doc.data.info?.version} · paths are relative to <code>{api.baseUrl}</code>
          </p>
          <DataTable
            label="Routes"
            rows={operations(doc.data)}
            rowKey={(o) => o.id}
            columns={[
              { title: 'Method', cell: (o) => <code>{o.method.toUpperCase()}</code> },
              {
                title: 'Path',
                cell: (o) => (
                  <a href={`#/api/${encodeURIComponent(o.id)}`}>
                    <code>{o.path}</code>
                  </a>
                ),
              },
              { title: 'Auth', cell: (o) => auth(o.op) },
              { title: 'Summary', cell: (o) => o.op.summary ?? o.op.description ?? '' },
            ]}
          />
        </>
      )}
    </Page>
  );
}

/** One operation: what it asks for (parameters, body) and what it answers, each status with its schema. */
function OperationView({ op }: { op: Operation }) {
  const body = Object.entries(op.requestBody?.content ?? {})[0];
  return (
    <>
      <p>
        <a href="#/api">← All routes</a>
      </p>
      <p>{op.summary ?? op.description}</p>
      <p>
        Authorization: <strong data-testid="operation-auth">{auth(op)}</strong>
      </p>
      {!!op.parameters?.length && (
        <DataTable
          label="Parameters"
          rows={op.parameters}
          rowKey={(p) => `${p.in} ${p.name}`}
          columns={[
            { title: 'Name', cell: (p) => <code>{p.name}</code> },
            { title: 'In', cell: (p) => p.in },
            { title: 'Type', cell: (p) => <code>{typeOf(p.schema)}</code> },
            { title: 'Required', cell: (p) => (p.required ? 'yes' : 'no') },
            { title: 'Description', cell: (p) => p.description ?? p.schema?.description ?? '' },
          ]}
        />
      )}
      {body && <Fields label={`Request body (${body[0]})`} schema={body[1].schema} />}
      <DataTable
        label="Responses"
        rows={Object.entries(op.responses ?? {})}
        rowKey={([status]) => status}
        columns={[
          { title: 'Status', cell: ([status]) => <code>{status}</code> },
          { title: 'Description', cell: ([, r]) => r.description ?? '' },
          {
            title: 'Body',
            cell: ([, r]) => <code>{typeOf(Object.values(r.content ?? {})[0]?.schema)}</code>,
          },
        ]}
      />
    </>
  );
}

/** An object schema's fields, one level deep (the full schema is in docs/openapi.json). */
function Fields({ label, schema }: { label: string; schema: Schema | undefined }) {
  const properties = Object.entries(schema?.properties ?? {});
  if (!properties.length)
    return (
      <p>
        {label}: <code>{typeOf(schema)}</code>
      </p>
    );
  return (
    <DataTable
      label={label}
      rows={properties}
      rowKey={([name]) => name}
      columns={[
        { title: 'Field', cell: ([name]) => <code>{name}</code> },
        { title: 'Type', cell: ([, s]) => <code>{typeOf(s)}</code> },
        { title: 'Required', cell: ([name]) => (schema?.required?.includes(name) ? 'yes' : 'no') },
        {
          title: 'Default',
          cell: ([, s]) => (s.default === undefined ? '' : <code>{JSON.stringify(s.default)}</code>),
        },
      ]}
    />
  );
}
